package vision

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/gowai/gowai/agent"
	"github.com/gowai/gowai/embed"
	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/tools"
)

func TestToolAnswersAboutAnAttachedImage(t *testing.T) {
	srv, cl := newServer(t, nil)
	png, jpg := testPNG(t), llm.Image{Data: readTestdata(t, "square.jpg"), MIME: "image/jpeg"}
	ctx := tools.WithAttachments(t.Context(), []llm.Image{png, jpg})
	tool := Tool(cl.Model(scout), "look", "Ask a vision model about an image")
	if p := string(tool.Def().Parameters); !strings.Contains(p, `"image"`) || !strings.Contains(p, `"url"`) || !strings.Contains(p, `"required":["question"]`) {
		t.Fatalf("parameters %s", p)
	}
	out, err := tool.Call(ctx, json.RawMessage(`{"image":1,"question":"What shape is it?"}`))
	if err != nil {
		t.Fatal(err)
	}
	want, err := Describe(t.Context(), cl.Model(scout), jpg, "What shape is it?")
	if err != nil {
		t.Fatal(err)
	}
	if out != want {
		t.Errorf("answer %q, want Describe's %q", out, want)
	}
	body := string(srv.Requests()[0].Body)
	if !strings.Contains(body, "data:image/jpeg;base64,"+base64.StdEncoding.EncodeToString(jpg.Data)) || !strings.Contains(body, "What shape is it?") {
		t.Errorf("request %.300s does not carry image 1 and the question", body)
	}
}

func TestToolFetchesImagesByURL(t *testing.T) {
	srv, cl := newServer(t, nil)
	images, hits := imageServer(t, readTestdata(t, "square.png"))
	// A test server listens on loopback, which FetchImage refuses unless allowed.
	open := Tool(cl.Model(scout), "look", "Ask about an image", WithFetchOptions(AllowPrivate()))
	if _, err := open.Call(t.Context(), json.RawMessage(`{"url":"`+images.URL+`/a.png","question":"What colour?"}`)); err != nil {
		t.Fatal(err)
	}
	if hits.Load() != 1 || len(srv.Requests()) != 1 || !strings.Contains(string(srv.Requests()[0].Body), "data:image/png;base64,") {
		t.Errorf("%d fetches, requests %d", hits.Load(), len(srv.Requests()))
	}
	_, err := Tool(cl.Model(scout), "look", "Ask about an image").Call(t.Context(), json.RawMessage(`{"url":"`+images.URL+`/a.png","question":"What colour?"}`))
	if !errors.Is(err, ErrPrivateAddress) || !strings.Contains(err.Error(), "vision: look:") {
		t.Errorf("loopback URL: err = %v, want ErrPrivateAddress", err)
	}
	if hits.Load() != 1 || len(srv.Requests()) != 1 {
		t.Errorf("a refused URL was fetched or sent: %d fetches, %d requests", hits.Load(), len(srv.Requests()))
	}
}

func TestToolErrorsTheModelCanRead(t *testing.T) {
	srv, cl := newServer(t, nil)
	two := tools.WithAttachments(t.Context(), []llm.Image{testPNG(t), testPNG(t)})
	one := tools.WithAttachments(t.Context(), []llm.Image{testPNG(t)})
	tool := Tool(cl.Model(scout), "look", "Ask about an image")
	for _, tc := range []struct {
		name string
		ctx  context.Context
		args string
		want string
	}{
		{"index too large", two, `{"image":2,"question":"q"}`, "image 2 is out of range: 2 images are attached, indexes 0 to 1"},
		{"one image", one, `{"image":3,"question":"q"}`, "1 image is attached, indexes 0 to 0"},
		{"negative index", two, `{"image":-1,"question":"q"}`, "must be >= 0"},
		{"nothing attached", t.Context(), `{"image":0,"question":"q"}`, "no images are attached"},
		{"both", two, `{"image":0,"url":"https://example.com/a.png","question":"q"}`, "not both"},
		{"neither", two, `{"question":"q"}`, `give "image"`},
		{"no question", two, `{"image":0}`, "question"},
		{"bad scheme", two, `{"url":"file:///etc/passwd","question":"q"}`, "file"},
	} {
		_, err := tool.Call(tc.ctx, json.RawMessage(tc.args))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want it to say %q", tc.name, err, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for calls that cannot run, want 0", n)
	}
	if _, err := Tool(nil, "look", "d").Call(two, json.RawMessage(`{"image":0,"question":"q"}`)); err == nil || !strings.Contains(err.Error(), "no vision model") {
		t.Errorf("nil model: err = %v", err)
	}
}

func TestExtractToolAnswersJSON(t *testing.T) {
	srv, cl := newServer(t, llmtest.Script(
		llmtest.Text(`{"merchant":"Corner Cafe","total":9.5,"items":[{"name":"Latte","price":4.5}]}`),
	))
	ctx := tools.WithAttachments(t.Context(), []llm.Image{testPNG(t)})
	tool := ExtractTool[receipt](cl.Model(scout), "read_receipt", "Read a receipt")
	if p := string(tool.Def().Parameters); strings.Contains(p, `"required"`) {
		t.Errorf("question should be optional: %s", p)
	}
	out, err := tool.Call(ctx, json.RawMessage(`{"image":0}`))
	if err != nil {
		t.Fatal(err)
	}
	var got receipt
	if err := json.Unmarshal([]byte(out), &got); err != nil || got.Merchant != "Corner Cafe" || got.Total != 9.5 || len(got.Items) != 1 {
		t.Errorf("answer %s (%v)", out, err)
	}
	if body := string(srv.Requests()[0].Body); !strings.Contains(body, DefaultExtractPrompt) || !strings.Contains(body, `"merchant"`) {
		t.Errorf("request %.400s should ask the default prompt with the schema", body)
	}
	if _, err := tool.Call(ctx, json.RawMessage(`{"image":4}`)); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Errorf("err = %v", err)
	}
}

// An agent whose model has no vision searches twice and asks about the attached image in
// one step: with every embedding and vision reply taking a second, the run takes one second
// of fake time, so the three calls ran at the same time.
func TestTwoSearchesAndAVisionCallInOneStepRunConcurrently(t *testing.T) {
	const chat = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	const small = "@cf/baai/bge-small-en-v1.5"
	const latency = time.Second
	img := testPNG(t)
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		turn := 0
		var vision []string // the bodies sent to the vision model
		var chats []string  // the bodies sent to the agent's model
		h := llmtest.NewHandler(func(model string, body []byte) llmtest.Reply {
			mu.Lock()
			defer mu.Unlock()
			switch model {
			case small:
				return llmtest.Model().WithLatency(latency)
			case scout:
				vision = append(vision, string(body))
				return llmtest.Model().WithLatency(latency)
			}
			chats = append(chats, string(body))
			turn++
			if turn == 1 {
				return llmtest.Calls(
					llm.ToolCall{ID: "s1", Name: "search_docs", Arguments: json.RawMessage(`{"query":"square"}`)},
					llm.ToolCall{ID: "s2", Name: "search_docs", Arguments: json.RawMessage(`{"query":"colour"}`)},
					llm.ToolCall{ID: "v1", Name: "look", Arguments: json.RawMessage(`{"image":0,"question":"What colour is the square?"}`)},
				)
			}
			return llmtest.Text("A red square, as the notes say.")
		})
		c, err := llm.NewClient(llm.WithBaseURL("http://emulator.invalid"), llm.WithAccount("acc", "token"),
			llm.WithHTTPClient(&http.Client{Transport: llmtest.InProcess(h)}))
		if err != nil {
			t.Fatal(err)
		}
		// The pacing of one embeddings request per 20 ms is lifted so that only the
		// latency counts.
		ix := embed.NewIndex(embed.New(c, small, embed.WithRequestsPerMinute(60_000_000)))
		err = ix.Add(t.Context(),
			embed.Document{ID: "n1", Text: "The logo is a red square.", Meta: map[string]string{"source": "notes.md"}},
			embed.Document{ID: "n2", Text: "Our colour is red.", Meta: map[string]string{"source": "brand.md"}},
		)
		if err != nil {
			t.Fatal(err)
		}
		a := agent.New(c.Model(chat), agent.WithTools(
			ix.SearchTool("search_docs", "Search the notes", 1),
			Tool(c.Model(scout), "look", "Ask a vision model about an attached image"),
		))
		start := time.Now()
		res, err := a.RunMessages(t.Context(), []llm.Message{llm.User("What colour is our logo?", img)})
		if err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < latency || took >= latency+10*time.Millisecond {
			t.Fatalf("the run took %s of fake time, want one latency of %s", took, latency)
		}
		if len(res.Steps) < 1 || len(res.Steps[0].Results) != 3 {
			t.Fatalf("steps = %+v", res.Steps)
		}
		for _, r := range res.Steps[0].Results {
			if r.Err != nil || r.Output == "" {
				t.Errorf("result %+v", r)
			}
		}
		if len(vision) != 1 || !strings.Contains(vision[0], "What colour is the square?") || !strings.Contains(vision[0], "data:image/png;base64,") {
			t.Errorf("vision requests %.300q", vision)
		}
		// The agent keeps the image from its model, which has no vision, and tells it the
		// image is there, by the index the tool takes.
		for _, b := range chats {
			if strings.Contains(b, "data:image/") || !strings.Contains(b, "[attached image 0: image/png") {
				t.Errorf("the model without vision was sent the image, or not told of it: %.300s", b)
			}
		}
	})
}

func TestAttachedOnlyOffersNoURL(t *testing.T) {
	srv, cl := newServer(t, nil)
	images, hits := imageServer(t, readTestdata(t, "square.png"))
	tool := Tool(cl.Model(scout), "look", "Ask about an attached image", AttachedOnly(), WithFetchOptions(AllowPrivate()))
	if p := string(tool.Def().Parameters); strings.Contains(p, `"url"`) || !strings.Contains(p, `"required":["image","question"]`) {
		t.Fatalf("parameters %s, want image and question required and no url", p)
	}
	_, err := tool.Call(t.Context(), json.RawMessage(`{"url":"`+images.URL+`/a.png","question":"What colour?"}`))
	if err == nil || !strings.Contains(err.Error(), "'url' not allowed") {
		t.Fatalf("error = %v, want the URL refused", err)
	}
	if hits.Load() != 0 || len(srv.Requests()) != 0 {
		t.Fatalf("%d fetches and %d requests after a refused URL, want none", hits.Load(), len(srv.Requests()))
	}
	ctx := tools.WithAttachments(t.Context(), []llm.Image{testPNG(t)})
	if _, err := tool.Call(ctx, json.RawMessage(`{"image":0,"question":"What colour?"}`)); err != nil || len(srv.Requests()) != 1 {
		t.Fatalf("attached image: %v, %d requests", err, len(srv.Requests()))
	}
}
