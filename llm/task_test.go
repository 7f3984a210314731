package llm_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
)

// TestRunTask checks what RunTask keeps of a reply: the envelope's result or the raw
// bytes, the media type, the request id and the neurons of the headers; and that it sends
// a raw Body with its content type and the query.
func TestRunTask(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.JSON(map[string]string{"text": "hi"}).WithHeader("cf-ai-neurons", "2.5"),
		llmtest.Raw("audio/mpeg", []byte{0xFF, 0xFB, 0x90, 0x64}).WithHeader("cf-ai-neurons", "1"),
		llmtest.Fail(400, 5006, "Bad input: no"),
	))
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	r, err := c.RunTask(ctx, "@cf/deepgram/nova-3", llm.Body{ContentType: "audio/wav", Data: []byte("RIFF")}, url.Values{"language": {"en"}})
	if err != nil {
		t.Fatal(err)
	}
	if string(r.Data) != `{"text":"hi"}` || !r.JSON() || r.Usage.Neurons != 2.5 || r.RequestID == "" {
		t.Errorf("JSON reply: %+v", r)
	}
	req := srv.Requests()[0]
	if req.Header.Get("Content-Type") != "audio/wav" || string(req.Body) != "RIFF" || !strings.HasSuffix(req.Path, "/ai/run/@cf/deepgram/nova-3") {
		t.Errorf("request %s %q %q", req.Path, req.Header.Get("Content-Type"), req.Body)
	}
	r, err = c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if r.JSON() || r.ContentType != "audio/mpeg" || len(r.Data) != 4 || r.Usage.Neurons != 1 {
		t.Errorf("audio reply: %+v", r)
	}
	_, err = c.RunTask(ctx, "@cf/deepgram/aura-1", map[string]string{"text": "hi"}, nil)
	var e *llm.Error
	if !errors.As(err, &e) || e.Code != 5006 || e.RequestID == "" {
		t.Errorf("err = %v, want the *llm.Error with its request id", err)
	}
	if _, err := c.RunTask(ctx, "", nil, nil); err == nil {
		t.Error("empty model: no error")
	}
}
