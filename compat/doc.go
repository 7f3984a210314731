// Package compat holds tests only: they drive gowai's Workers AI emulator
// (github.com/gowai/gowai/llm/llmtest) with other people's clients — go-openai, openai-go,
// langchaingo's openai and cloudflare providers and cloudflare-go — to show that programs
// written against those clients can be tested offline, and that the emulator fails them
// where the live service does. It is a module of its own so that these clients stay out of
// gowai's go.mod.
//
// The folder js holds the same proof for JavaScript: the official openai npm client and the
// Vercel AI SDK with workers-ai-provider, driven against the workers-ai-emulator command
// (cd js && npm ci && npm test).
package compat
