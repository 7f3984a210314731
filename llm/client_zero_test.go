package llm

import (
	"context"
	"errors"
	"math"
	"net/http"
	"strings"
	"testing"
)

// Every method of a Client that was not made by NewClient answers errNotCreated, without
// a panic, and so does a nil *Client.
func TestZeroClientSaysToUseNewClient(t *testing.T) {
	ctx := context.Background()
	req := Request{Messages: []Message{User("hi")}}
	for name, c := range map[string]*Client{"zero": {}, "nil": nil} {
		calls := map[string]func() error{
			"Model.Generate": func() error { _, err := c.Model("m").Generate(ctx, req); return err },
			"OpenAIModel.Generate": func() error {
				_, err := c.OpenAIModel("m").Generate(ctx, req)
				return err
			},
			"Model.Stream": func() error {
				var last error
				for _, err := range c.Model("m").Stream(ctx, req) {
					last = err
				}
				return last
			},
			"Run":      func() error { return c.Run(ctx, "m", map[string]any{}, nil) },
			"RunBytes": func() error { _, _, err := c.RunBytes(ctx, "m", map[string]any{}); return err },
			"RunOpenAI": func() error {
				return c.RunOpenAI(ctx, "m", "embeddings", map[string]any{}, nil)
			},
			"AccountAPI":      func() error { return c.AccountAPI(ctx, "GET", "vectorize/v2/indexes", "", nil, nil) },
			"SearchModels":    func() error { _, err := c.SearchModels(ctx, "llama"); return err },
			"GatewayFeedback": func() error { return c.GatewayFeedback(ctx, "gw", "log", Feedback{Thumbs: 1}) },
			"Queue": func() error {
				_, err := c.Queue(ctx, "@cf/baai/bge-m3", []any{map[string]any{"text": "a"}})
				return err
			},
			"QueueChat":  func() error { _, err := QueueChat(ctx, c, "@cf/openai/gpt-oss-120b", []Request{req}); return err },
			"Batch.Wait": func() error { _, err := (&Batch{c: c, n: 1}).Wait(ctx); return err },
		}
		for call, f := range calls {
			t.Run(name+"/"+call, func(t *testing.T) {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("panic: %v", p)
					}
				}()
				if err := f(); !errors.Is(err, errNotCreated) || !strings.Contains(err.Error(), "llm.NewClient") {
					t.Errorf("err = %v, want one saying to use llm.NewClient", err)
				}
			})
		}
		_ = c.String()
		_ = c.LogValue()
	}
}

func TestWithMetadataIsCopiedAndCheckedWhenBuilt(t *testing.T) {
	md := map[string]any{"user": "u1"}
	opt := WithMetadata(md)
	md["user"] = "changed later" // must not reach the client
	md["nested"] = map[string]any{"a": 1}
	rt := &scripted{replies: []canned{{200, nil, okText}}}
	c := newTestClient(t, rt, WithGateway("gw", opt))
	if _, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}}); err != nil {
		t.Fatal(err)
	}
	if got := rt.reqs[0].Header.Get("cf-aig-metadata"); got != `{"user":"u1"}` {
		t.Errorf("cf-aig-metadata = %q, want the map as it was when the option was built", got)
	}
	for name, bad := range map[string]map[string]any{
		"nested": {"a": map[string]any{"b": 1}},
		"NaN":    {"score": math.NaN()},
	} {
		if _, err := NewClient(WithAccount(testAccount, "t"), WithGateway("gw", WithMetadata(bad))); err == nil || !strings.Contains(err.Error(), "gateway metadata") {
			t.Errorf("%s: NewClient error = %v, want the metadata refused", name, err)
		}
	}
}

func TestOpenAICompatibleRefusesOptionsItCannotHonour(t *testing.T) {
	hc := WithHTTPClient(&http.Client{Transport: &scripted{}})
	tests := []struct {
		name    string
		base    string
		opts    []Option
		wantErr string
	}{
		{"WithBaseURL", "http://localhost:11434/v1", []Option{WithBaseURL("http://elsewhere")}, "WithBaseURL is not taken"},
		{"WithAccount", "http://localhost:11434/v1", []Option{WithAccount(testAccount, "t")}, "WithAccount is not taken"},
		{"WithGateway", "http://localhost:11434/v1", []Option{WithGateway("gw")}, "WithGateway is not taken"},
		{"a base that is not a URL", "localhost:11434", nil, "not an absolute http or https URL"},
		{"a negative timeout", "http://localhost:11434/v1", []Option{WithTimeout(-1)}, "negative duration"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewOpenAICompatible(tt.base, "", "llama3", append(tt.opts, hc)...)
			if _, err := m.Generate(t.Context(), Request{Messages: []Message{User("hi")}}); err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Generate: err = %v, want one containing %q", err, tt.wantErr)
			}
			for _, err := range m.Stream(t.Context(), Request{Messages: []Message{User("hi")}}) {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("Stream: err = %v, want one containing %q", err, tt.wantErr)
				}
			}
		})
	}
}
