package llmtest_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/gowai/gowai/llm/llmtest"
)

const secretToken = "cf-SECRET-token-0123456789abcdefghijklmn"

// noNetwork fails the test if a replaying Recorder tries to send anything.
type noNetwork struct{ t *testing.T }

func (n noNetwork) RoundTrip(r *http.Request) (*http.Response, error) {
	n.t.Errorf("replay reached the network: %s %s", r.Method, r.URL)
	return nil, errors.New("no network in replay")
}

type exchangeResult struct {
	status int
	ctype  string
	body   []byte
}

// roundTrip sends one request through rt with the secret token.
func roundTrip(t *testing.T, rt http.RoundTripper, method, url, body string) exchangeResult {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+secretToken)
	req.Header.Set("cf-aig-authorization", "Bearer gw-"+secretToken)
	resp, err := (&http.Client{Transport: rt}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return exchangeResult{resp.StatusCode, resp.Header.Get("Content-Type"), b}
}

func TestRecordThenReplay(t *testing.T) {
	srv := llmtest.NewServer(llmtest.Script(
		llmtest.Text("recorded answer"),
		llmtest.Text("streamed answer"),
		llmtest.Raw("image/png", []byte{0x89, 'P', 'N', 'G', 0xff, 0x00, 0xfe}),
		llmtest.Fail(429, 3040, "Capacity temporarily exceeded"),
	))
	path := filepath.Join(t.TempDir(), "cassettes", "roundtrip.json")
	base := srv.URL() + "/accounts/acc/ai/run/" + legacyModel
	calls := []struct{ url, body string }{
		{base, `{"prompt":"one"}`},
		{base, `{"prompt":"two","stream":true}`},
		{base, `{"prompt":"image"}`},
		{base + "?x=1", `{"prompt":"busy"}`},
	}

	rec := llmtest.NewRecorder(path, llmtest.ModeRecord, nil)
	var recorded []exchangeResult
	for _, c := range calls {
		recorded = append(recorded, roundTrip(t, rec, http.MethodPost, c.url, c.body))
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	srv.Close() // replay must not need it
	if recorded[1].ctype != "text/event-stream" || !bytes.HasSuffix(recorded[1].body, []byte("data: [DONE]\n\n")) || recorded[3].status != 429 {
		t.Fatalf("recording went wrong: %+v", recorded)
	}
	entries, _ := os.ReadDir(filepath.Dir(path))
	if len(entries) != 1 {
		t.Errorf("cassette directory holds %d files; the temporary file was left behind", len(entries))
	}

	replay := llmtest.NewRecorder(path, llmtest.ModeReplay, noNetwork{t})
	for i, c := range calls {
		got := roundTrip(t, replay, http.MethodPost, c.url, c.body)
		if got.status != recorded[i].status || got.ctype != recorded[i].ctype || !bytes.Equal(got.body, recorded[i].body) {
			t.Errorf("exchange %d replayed as %d %q %q, recorded %d %q %q",
				i, got.status, got.ctype, got.body, recorded[i].status, recorded[i].ctype, recorded[i].body)
		}
	}
	if err := replay.Close(); err != nil {
		t.Errorf("Close in replay mode: %v", err)
	}
}

func TestRecordingNeverHoldsTheToken(t *testing.T) {
	// An upstream that echoes credentials back, in a header and in the body, as a
	// misbehaving proxy might.
	echo := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Echo", r.Header.Get("Authorization"))
		fmt.Fprintf(w, `{"saw":%q,"gateway":%q}`, r.Header.Get("Authorization"), r.Header.Get("cf-aig-authorization"))
	}))
	defer echo.Close()
	path := filepath.Join(t.TempDir(), "secret.json")
	rec := llmtest.NewRecorder(path, llmtest.ModeRecord, nil)
	roundTrip(t, rec, http.MethodPost, echo.URL+"/accounts/acc/ai/run/m", `{"prompt":"x"}`)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(data, []byte(secretToken)) || bytes.Contains(data, []byte("SECRET")) {
		t.Fatalf("the token reached the cassette:\n%s", data)
	}
	if !bytes.Contains(data, []byte(`"Bearer [REDACTED]"`)) {
		t.Errorf("the Authorization header is not marked redacted:\n%s", data)
	}
}

func TestReplayMiss(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "miss.json")
	url := srv.URL() + "/accounts/acc/ai/run/" + legacyModel
	rec := llmtest.NewRecorder(path, llmtest.ModeRecord, nil)
	roundTrip(t, rec, http.MethodPost, url, `{"prompt":"a"}`)
	roundTrip(t, rec, http.MethodPost, url, `{"prompt":"b"}`)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	replay := llmtest.NewRecorder(path, llmtest.ModeReplay, noNetwork{t})
	long := `{"prompt":"` + strings.Repeat("z", 400) + `"}`
	req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(long))
	_, err := replay.RoundTrip(req)
	if err == nil {
		t.Fatal("a request that was never recorded was answered")
	}
	msg := err.Error()
	for _, want := range []string{"POST", url, `{\"prompt\":\"zzz`, "2 interactions"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not name %q", msg, want)
		}
	}
	if strings.Contains(msg, strings.Repeat("z", 201)) {
		t.Errorf("error quotes more than 200 bytes of the body: %d bytes", len(msg))
	}
}

func TestReplayUsesEachExchangeOnceInOrder(t *testing.T) {
	var n atomic.Int64
	counter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "answer %d", n.Add(1))
	}))
	defer counter.Close()
	path := filepath.Join(t.TempDir(), "order.json")
	rec := llmtest.NewRecorder(path, llmtest.ModeRecord, nil)
	for range 2 {
		roundTrip(t, rec, http.MethodPost, counter.URL+"/same", `{"same":true}`)
	}
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}

	replay := llmtest.NewRecorder(path, llmtest.ModeReplay, noNetwork{t})
	for _, want := range []string{"answer 1", "answer 2"} {
		if got := roundTrip(t, replay, http.MethodPost, counter.URL+"/same", `{"same":true}`); string(got.body) != want {
			t.Errorf("replayed %q, want %q", got.body, want)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, counter.URL+"/same", strings.NewReader(`{"same":true}`))
	if _, err := replay.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "0 unused") {
		t.Errorf("third replay of a twice-recorded request: %v", err)
	}
}

func TestModes(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	url := srv.URL() + "/accounts/acc/ai/run/" + legacyModel

	t.Run("replay without a cassette fails every request", func(t *testing.T) {
		rec := llmtest.NewRecorder(filepath.Join(t.TempDir(), "absent.json"), llmtest.ModeReplay, noNetwork{t})
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
		if _, err := rec.RoundTrip(req); err == nil || !strings.Contains(err.Error(), "does not exist") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("the zero Mode replays", func(t *testing.T) {
		var zero llmtest.Mode
		if zero != llmtest.ModeReplay {
			t.Error("the zero Mode is not ModeReplay")
		}
	})
	t.Run("auto records when the cassette is missing, then replays", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "auto.json")
		rec := llmtest.NewRecorder(path, llmtest.ModeAuto, nil)
		first := roundTrip(t, rec, http.MethodPost, url, `{"prompt":"auto"}`)
		if err := rec.Close(); err != nil {
			t.Fatal(err)
		}
		replay := llmtest.NewRecorder(path, llmtest.ModeAuto, noNetwork{t})
		if got := roundTrip(t, replay, http.MethodPost, url, `{"prompt":"auto"}`); !bytes.Equal(got.body, first.body) {
			t.Errorf("auto replay %q, recorded %q", got.body, first.body)
		}
	})
	t.Run("a corrupt cassette is reported", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "bad.json")
		if err := os.WriteFile(path, []byte("{not json"), 0o644); err != nil {
			t.Fatal(err)
		}
		rec := llmtest.NewRecorder(path, llmtest.ModeReplay, noNetwork{t})
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{}`))
		if _, err := rec.RoundTrip(req); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("err = %v", err)
		}
	})
}

func TestRecorderIsSafeForConcurrentUse(t *testing.T) {
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	url := srv.URL() + "/accounts/acc/ai/run/" + legacyModel
	path := filepath.Join(t.TempDir(), "concurrent.json")
	const n = 16
	run := func(rt http.RoundTripper) [][]byte {
		out := make([][]byte, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				out[i] = roundTrip(t, rt, http.MethodPost, url, fmt.Sprintf(`{"prompt":"p%d"}`, i)).body
			})
		}
		wg.Wait()
		return out
	}
	rec := llmtest.NewRecorder(path, llmtest.ModeRecord, nil)
	recorded := run(rec)
	if err := rec.Close(); err != nil {
		t.Fatal(err)
	}
	replayed := run(llmtest.NewRecorder(path, llmtest.ModeReplay, noNetwork{t}))
	for i := range n {
		if !bytes.Equal(recorded[i], replayed[i]) {
			t.Errorf("request %d: replayed %q, recorded %q", i, replayed[i], recorded[i])
		}
	}
}
