package llmtest

import (
	"net/http"
	"net/http/httptest"
)

// InProcess returns an http.RoundTripper that hands each request to h (NewHandler's, say)
// in the calling goroutine, with no network in between; the reply is buffered whole, and a
// request whose context ended while h answered gets the context's error. A
// client using it, llm.WithHTTPClient(&http.Client{Transport: llmtest.InProcess(h)}), can
// run inside a testing/synctest bubble, where the emulator's reply latency then passes in
// fake time: real network I/O would keep the bubble's clock from moving.
func InProcess(h http.Handler) http.RoundTripper { return inProcess{h} }

type inProcess struct{ h http.Handler }

func (t inProcess) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err // as a network transport does when the request was cancelled
	}
	return rec.Result(), nil
}
