// The official openai npm client and the Vercel AI SDK with workers-ai-provider, driven
// against the workers-ai-emulator command through chat, stream, tools, JSON schema,
// embeddings and an unknown model. Each test asserts what the client hands its user.
// Run with `npm ci && npm test` in this folder; it builds the command with the go tool.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import OpenAI from "openai";
import { embedMany, generateText, jsonSchema, Output, streamText, tool } from "ai";
import { createWorkersAI } from "workers-ai-provider";

const chatModel = "@cf/meta/llama-3.1-8b-instruct";
const embedModel = "@cf/baai/bge-small-en-v1.5";
const unknownModel = "@cf/nobody/no-such-model";
const weather = jsonSchema({ type: "object", properties: { city: { type: "string" } }, required: ["city"] });
const animal = {
  type: "object",
  properties: { animal: { type: "string" }, legs: { type: "integer" } },
  required: ["animal", "legs"],
  additionalProperties: false,
};

let emulator, exited, root;

before(async () => {
  const bin = join(mkdtempSync(join(tmpdir(), "gowai-compat-")), "workers-ai-emulator");
  execFileSync("go", ["build", "-o", bin, "../../cmd/workers-ai-emulator"], { stdio: "inherit" });
  emulator = spawn(bin, ["-addr", "127.0.0.1:0", "-quiet"], { stdio: ["ignore", "pipe", "inherit"] });
  exited = new Promise((resolve) => emulator.on("exit", (code, signal) => resolve({ code, signal })));
  const lines = createInterface({ input: emulator.stdout });
  for await (const line of lines) {
    const m = line.match(/listening on (http:\/\/\S+)/);
    if (m) {
      root = m[1];
      break;
    }
  }
  assert.ok(root, "the emulator printed no URL");
  emulator.stdout.resume(); // keep reading the rest of the banner
});

after(async () => {
  emulator.kill("SIGINT");
  assert.deepEqual(await exited, { code: 0, signal: null }, "the emulator did not exit cleanly on SIGINT");
});

describe("openai npm client", () => {
  const client = () => new OpenAI({ baseURL: `${root}/client/v4/accounts/local/ai/v1`, apiKey: "any", maxRetries: 0 });
  const user = [{ role: "user", content: "What is the weather in Paris?" }];

  test("chat", async () => {
    const r = await client().chat.completions.create({ model: chatModel, messages: user });
    assert.match(r.choices[0].message.content, /^test model:/);
    assert.equal(r.choices[0].finish_reason, "stop");
    assert.ok(r.usage.total_tokens > 0);
  });

  test("stream", async () => {
    const s = await client().chat.completions.create({ model: chatModel, messages: user, stream: true });
    let text = "", finish;
    for await (const chunk of s) {
      text += chunk.choices[0]?.delta?.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    assert.match(text, /^test model:/);
    assert.equal(finish, "stop");
  });

  test("tools", async () => {
    const r = await client().chat.completions.create({
      model: chatModel, messages: user,
      tools: [{ type: "function", function: { name: "get_weather", description: "Weather of a city", parameters: weather.jsonSchema } }],
    });
    const c = r.choices[0];
    assert.equal(c.finish_reason, "tool_calls");
    assert.equal(c.message.tool_calls[0].function.name, "get_weather");
    assert.equal(typeof JSON.parse(c.message.tool_calls[0].function.arguments).city, "string");
  });

  test("json schema", async () => {
    const r = await client().chat.completions.create({
      model: chatModel, messages: [{ role: "user", content: "Give one animal and its number of legs." }],
      response_format: { type: "json_schema", json_schema: { name: "animal", schema: animal, strict: true } },
    });
    const v = JSON.parse(r.choices[0].message.content);
    assert.deepEqual(Object.keys(v).sort(), ["animal", "legs"]);
    assert.ok(Number.isInteger(v.legs));
  });

  test("embeddings: the default base64 form decodes to the float form", async () => {
    // The client asks for base64 unless told otherwise and decodes it itself.
    const c = client();
    const b64 = await c.embeddings.create({ model: embedModel, input: ["a", "b"] });
    const flt = await c.embeddings.create({ model: embedModel, input: ["a", "b"], encoding_format: "float" });
    assert.equal(b64.data.length, 2);
    for (let i = 0; i < 2; i++) {
      assert.equal(b64.data[i].embedding.length, 384);
      assert.deepEqual(b64.data[i].embedding.map(Math.fround), flt.data[i].embedding.map(Math.fround));
    }
  });

  test("unknown model", async () => {
    await assert.rejects(client().chat.completions.create({ model: unknownModel, messages: user }), (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.status, 400);
      return true;
    });
  });
});

describe("AI SDK with workers-ai-provider", () => {
  // The provider calls https://api.cloudflare.com/client/v4/...; a fetch that swaps the
  // host is all it takes to point it at the emulator.
  const workersAI = () => createWorkersAI({
    accountId: "local", apiKey: "any",
    fetch: (url, init) => fetch(String(url).replace("https://api.cloudflare.com", root), init),
  });

  test("chat", async () => {
    for (const model of [chatModel, "@cf/meta/llama-3.3-70b-instruct-fp8-fast", "@cf/qwen/qwen3-30b-a3b-fp8"]) {
      const r = await generateText({ model: workersAI()(model), prompt: "Say hello" });
      assert.match(r.text, /^test model:/, model);
      assert.ok(r.usage.totalTokens > 0, model);
    }
  });

  test("stream", async () => {
    // The legacy, qwen3 and Gemma 4 streams differ on the wire; the user gets the same.
    for (const model of [chatModel, "@cf/qwen/qwen3-30b-a3b-fp8", "@cf/google/gemma-4-26b-a4b-it"]) {
      const s = streamText({ model: workersAI()(model), prompt: "Say hello" });
      let text = "";
      for await (const part of s.textStream) text += part;
      assert.match(text, /^test model:/, model);
      assert.ok((await s.usage).totalTokens > 0, model);
    }
  });

  test("tools", async () => {
    const r = await generateText({
      model: workersAI()("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), prompt: "What is the weather in Paris?",
      tools: { get_weather: tool({ description: "Weather of a city", inputSchema: weather }) },
    });
    assert.equal(r.toolCalls.length, 1);
    assert.equal(r.toolCalls[0].toolName, "get_weather");
    assert.equal(typeof r.toolCalls[0].input.city, "string");
  });

  test("json schema", async () => {
    const r = await generateText({
      model: workersAI()("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), prompt: "Give one animal and its number of legs.",
      output: Output.object({ schema: jsonSchema(animal) }),
    });
    assert.deepEqual(Object.keys(r.output).sort(), ["animal", "legs"]);
    assert.ok(Number.isInteger(r.output.legs));
  });

  test("embeddings", async () => {
    const r = await embedMany({ model: workersAI().textEmbedding(embedModel), values: ["a", "b"] });
    assert.equal(r.embeddings.length, 2);
    assert.equal(r.embeddings[0].length, 384);
    assert.notDeepEqual(r.embeddings[0], r.embeddings[1]);
  });

  test("unknown model", async () => {
    await assert.rejects(generateText({ model: workersAI()(unknownModel), prompt: "hi", maxRetries: 0 }), /400[\s\S]*7000/);
  });
});
