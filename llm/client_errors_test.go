package llm

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

func TestNewClientNamesTheMissingVariable(t *testing.T) {
	tests := []struct {
		name, account, token string
		opts                 []Option
		want, notWant        string // in the error; want "" for success
	}{
		{name: "token missing", account: testAccount, want: "CLOUDFLARE_API_TOKEN is not set", notWant: "CLOUDFLARE_ACCOUNT_ID is not set"},
		{name: "account missing", token: "tok", want: "CLOUDFLARE_ACCOUNT_ID is not set", notWant: "CLOUDFLARE_API_TOKEN is not set"},
		{name: "both missing", want: "set CLOUDFLARE_ACCOUNT_ID and CLOUDFLARE_API_TOKEN"},
		{name: "account missing says where to find it", token: "tok", want: "find-account-and-zone-ids"},
		{name: "a base URL needs no token", account: "anything", opts: []Option{WithBaseURL("http://127.0.0.1:1")}},
		{name: "a base URL needs nothing", opts: []Option{WithBaseURL("http://127.0.0.1:1")}},
		{name: "WithAccount with an empty token", opts: []Option{WithAccount(testAccount, "")}, want: "empty API token"},
		{name: "WithAccount with an empty account", opts: []Option{WithAccount("", "tok")}, want: "empty account id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("CLOUDFLARE_ACCOUNT_ID", tt.account)
			t.Setenv("CLOUDFLARE_API_TOKEN", tt.token)
			_, err := NewClient(tt.opts...)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewClient error = %v, want one containing %q", err, tt.want)
			case tt.notWant != "" && strings.Contains(err.Error(), tt.notWant):
				t.Errorf("NewClient error = %v, should not contain %q", err, tt.notWant)
			}
		})
	}
}

func TestNewClientRefusesWhatCannotBeAnAccountID(t *testing.T) {
	const token40 = "AbCdEfGhIjKlMnOpQrStUvWxYz0123456789_-Ab"
	base := WithBaseURL("http://127.0.0.1:1")
	tests := []struct {
		name    string
		opts    []Option
		want    string // in the error; "" for success
		notWant string
	}{
		{"32 hexadecimal characters", []Option{WithAccount(testAccount, "tok")}, "", ""},
		{"upper-case hexadecimal", []Option{WithAccount(strings.ToUpper(testAccount), "tok")}, "", ""},
		{"too short", []Option{WithAccount("acc123", "tok")}, `account id "acc123" is not a Cloudflare account id; a Cloudflare account id is 32 hexadecimal characters`, ""},
		{"says where to find it", []Option{WithAccount("acc123", "tok")}, "https://developers.cloudflare.com/fundamentals/account/find-account-and-zone-ids/", ""},
		{"not hexadecimal", []Option{WithAccount(strings.Repeat("g", 32), "tok")}, "not a Cloudflare account id", ""},
		{"the token in the account variable is not shown", []Option{WithAccount(token40, token40)}, `"AbCd"... (40 characters; is it the API token?)`, token40},
		{"an emulator takes any plain id", []Option{WithAccount("test-account", "t"), base}, "", ""},
		{"slash", []Option{WithAccount("a/b", "t"), base}, "cannot be in a URL path", ""},
		{"question mark", []Option{WithAccount("a?b", "t"), base}, "cannot be in a URL path", ""},
		{"hash", []Option{WithAccount("a#b", "t"), base}, "cannot be in a URL path", ""},
		{"inner space", []Option{WithAccount("a b", "t"), base}, "cannot be in a URL path", ""},
		{"unexpanded variable", []Option{WithAccount("${CLOUDFLARE_ACCOUNT_ID}", "t"), base}, `"${CLOUDFLARE_ACCOUNT_ID}" is an unexpanded variable`, ""},
		{"base URL that is not a URL", []Option{WithAccount(testAccount, "t"), WithBaseURL("localhost:8787")}, "not an absolute http or https URL", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewClient(tt.opts...)
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("NewClient: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("NewClient error = %v, want one containing %q", err, tt.want)
			case tt.notWant != "" && strings.Contains(err.Error(), tt.notWant):
				t.Errorf("NewClient error shows %q: %v", tt.notWant, err)
			}
		})
	}
}

// dnsFailure is what the HTTP client returns when the host name does not resolve.
func dnsFailure(r *http.Request) error {
	return &url.Error{Op: "Post", URL: r.URL.String(), Err: &net.OpError{Op: "dial", Net: "tcp",
		Err: &net.DNSError{Err: "no such host", Name: r.URL.Host, IsNotFound: true}}}
}

func TestExhaustedRetriesSayOnceWhatWasTried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		calls := 0
		rt := rtFunc(func(r *http.Request) (*http.Response, error) { calls++; return nil, dnsFailure(r) })
		c := newTestClient(t, rt)
		_, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
		if calls != 4 {
			t.Errorf("%d attempts, want 4", calls)
		}
		re, ok := errors.AsType[*RetryError](err)
		if !ok {
			t.Fatalf("err = %v (%T), want a *RetryError", err, err)
		}
		if re.Attempts != 4 || re.Method != "POST" || re.Elapsed <= 0 {
			t.Errorf("RetryError = %+v", re)
		}
		msg := err.Error()
		u := "https://api.cloudflare.com/client/v4/accounts/" + testAccount + "/ai/run/@cf/meta/llama-3.1-8b-instruct"
		if n := strings.Count(msg, u); n != 1 {
			t.Errorf("the URL appears %d times in %q, want once", n, msg)
		}
		for _, want := range []string{"llm: POST " + u + ": gave up after 4 attempts in ", "service unreachable", "no such host"} {
			if !strings.Contains(msg, want) {
				t.Errorf("error %q does not contain %q", msg, want)
			}
		}
		if !errors.Is(err, ErrUnreachable) {
			t.Error("a DNS failure does not match ErrUnreachable")
		}
		if _, ok := errors.AsType[*net.DNSError](err); !ok {
			t.Error("the *net.DNSError is not reachable")
		}
		if _, ok := errors.AsType[*url.Error](err); !ok {
			t.Error("the *url.Error is not reachable")
		}
	})
}

func TestTheLastServiceErrorStaysReachableAfterRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		busy := canned{429, nil, errBody(3040, "Capacity temporarily exceeded, please try again.")}
		rt := &scripted{replies: []canned{busy, busy, busy, busy}}
		c := newTestClient(t, rt)
		_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
		e, ok := errors.AsType[*Error](err)
		if !ok || e.Code != 3040 || !errors.Is(err, ErrCapacity) {
			t.Fatalf("err = %v, want the 3040 *Error and ErrCapacity", err)
		}
		if errors.Is(err, ErrUnreachable) {
			t.Error("a service error matches ErrUnreachable")
		}
		if !strings.Contains(err.Error(), "gave up after 4 attempts") || strings.Count(err.Error(), "/ai/run/m") != 1 {
			t.Errorf("error = %q", err)
		}
	})
}

func TestAnErrorOnTheOnlyAttemptIsTheServiceError(t *testing.T) {
	c := newTestClient(t, &scripted{replies: []canned{{400, nil, errBody(5006, "AiError: Bad input")}}})
	_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	if _, ok := err.(*Error); !ok {
		t.Fatalf("err = %v (%T), want the *Error itself", err, err)
	}
}

func TestRedactionReplacesOnlyWholeTokens(t *testing.T) {
	const token40 = "Zq3vN8kLw2Xy7Rt5Pm1Ha9Bc4De6Fg0Jk_Lm-Np2"
	tests := []struct{ token, in, want string }{
		{"t", "POST https://api.example/t/x: t", "POST https://api.example/[REDACTED]/x: [REDACTED]"},
		{"t", "attempt timed out", "attempt timed out"},
		{"a", "a bad account: a", "[REDACTED] bad account: [REDACTED]"},
		{"a", "Bearer a", "Bearer [REDACTED]"},
		{token40, "invalid header Authorization: Bearer " + token40, "invalid header Authorization: Bearer [REDACTED]"},
		{token40, `{"token":"` + token40 + `"}`, `{"token":"[REDACTED]"}`},
		{token40, token40 + token40, token40 + token40}, // not a whole word: no token stands alone there
		{token40, "x" + token40, "x" + token40},
	}
	for _, tt := range tests {
		if got := redactToken(tt.in, tt.token); got != tt.want {
			t.Errorf("redactToken(%q, %q) = %q, want %q", tt.in, tt.token, got, tt.want)
		}
	}
}

func TestShortTokensDoNotGarbleErrors(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tok := range []string{"t", "a"} {
			rt := rtFunc(func(r *http.Request) (*http.Response, error) { return nil, dnsFailure(r) })
			c := newTestClient(t, rt, WithAccount(testAccount, tok), WithRetry(RetryPolicy{MaxAttempts: 1}))
			_, err := c.Model("@cf/meta/llama-3.1-8b-instruct").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
			if err == nil || strings.Contains(err.Error(), "[REDACTED]") || !strings.Contains(err.Error(), "https://api.cloudflare.com/") {
				t.Errorf("token %q: error = %v", tok, err)
			}
		}
	})
}

func TestServerEchoesOfTheTokenAreRedacted(t *testing.T) {
	const token40 = "Zq3vN8kLw2Xy7Rt5Pm1Ha9Bc4De6Fg0Jk_Lm-Np2"
	echo := fmt.Sprintf(`{"errors":[{"code":10000,"message":"invalid header Authorization: Bearer %s"}],"success":false,"result":null,"messages":[]}`, token40)
	tests := []struct {
		name string
		rt   http.RoundTripper
		do   func(c *Client) error
	}{
		{"401 body", &scripted{replies: []canned{{401, map[string]string{"cf-ai-req-id": token40}, echo}}}, func(c *Client) error {
			_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
			return err
		}},
		{"success false on 200", &scripted{replies: []canned{{200, nil, echo}}}, func(c *Client) error {
			return c.Run(t.Context(), "m", map[string]any{}, nil)
		}},
		{"account route", &scripted{replies: []canned{{401, nil, echo}}}, func(c *Client) error {
			return c.AccountAPI(t.Context(), "GET", "vectorize/v2/indexes", "", nil, nil)
		}},
		{"gateway feedback", &scripted{replies: []canned{{401, nil, echo}}}, func(c *Client) error {
			return c.GatewayFeedback(t.Context(), "gw", "log", Feedback{Thumbs: 1})
		}},
		{"undecodable reply quoted in an error", &scripted{replies: []canned{{200, nil, `{"result":{"oops":"` + token40 + `"},"success":true}`}}}, func(c *Client) error {
			var out struct{ Oops int }
			return c.Run(t.Context(), "m", map[string]any{}, &out)
		}},
		{"transport error", rtFunc(func(r *http.Request) (*http.Response, error) {
			return nil, &url.Error{Op: "Post", URL: r.URL.String(), Err: errors.New("proxy refused Bearer " + token40)}
		}), func(c *Client) error {
			_, err := c.Model("m").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newTestClient(t, tt.rt, WithAccount(testAccount, token40), WithRetry(RetryPolicy{MaxAttempts: 1}))
			err := tt.do(c)
			if err == nil {
				t.Fatal("no error")
			}
			if strings.Contains(err.Error(), token40) {
				t.Errorf("the token is in the error: %v", err)
			}
			if e, ok := errors.AsType[*Error](err); ok && (strings.Contains(e.Message, token40) || strings.Contains(e.RequestID, token40)) {
				t.Errorf("the token is in the *Error: %+v", e)
			}
		})
	}
}

func TestUnknownModelHints(t *testing.T) {
	tests := []struct{ id, want string }{
		{"@cf/meta/llama-3.1-8b-instruc", `did you mean "@cf/meta/llama-3.1-8b-instruct"?`},
		{"llama-3.3-70b-instruct-fp8-fast", `did you mean "@cf/meta/llama-3.3-70b-instruct-fp8-fast"?`},
		{"@cf/openai/gpt-oss-120", `did you mean "@cf/openai/gpt-oss-120b"?`},
		{"@cf/acme/super-embedding-model", "catalogued text-embeddings models: @cf/baai/bge-base-en-v1.5, "},
		{"@cf/acme/tiny-instruct", "catalogued text-generation models include @cf/"},
		{"@cf/acme/whisper-xxl", "catalogued automatic-speech-recognition models: @cf/deepgram/nova-3, @cf/openai/whisper"},
		{"@cf/acme/zzz", "llm.Models() lists the catalogued model ids"},
		{"@cf/meta/llama-3.1-8b-instruct", "may have been retired"},
	}
	for _, tt := range tests {
		if got := modelHint(tt.id); !strings.Contains(got, tt.want) {
			t.Errorf("modelHint(%q) = %q, want it to contain %q", tt.id, got, tt.want)
		}
	}
}

func TestUnknownModelErrorCarriesTheHint(t *testing.T) {
	noRoute := `{"result":null,"success":false,"errors":[{"code":7000,"message":"No route for that URI"}],"messages":[]}`
	rt := &scripted{replies: []canned{{400, nil, noRoute}, {400, nil, noRoute}}}
	c := newTestClient(t, rt)
	_, err := c.Model("@cf/meta/llama-3.1-8b-instruc").Generate(t.Context(), Request{Messages: []Message{User("hi")}})
	if !errors.Is(err, ErrModelNotFound) {
		t.Fatalf("err = %v, want ErrModelNotFound", err)
	}
	want := `workers ai @cf/meta/llama-3.1-8b-instruc: HTTP 400 code 7000: No route for that URI; did you mean "@cf/meta/llama-3.1-8b-instruct"?`
	if err.Error() != want {
		t.Errorf("error = %q\nwant    %q", err, want)
	}
	// An account route is not a model: 7000 there is no such route, with no hint.
	err = c.AccountAPI(t.Context(), "GET", "nothing/here", "", nil, nil)
	if e, ok := errors.AsType[*Error](err); !ok || e.Hint != "" || errors.Is(err, ErrModelNotFound) {
		t.Errorf("account route error = %v", err)
	}
	if rt.count() != 2 {
		t.Errorf("%d requests, want 2: an uncatalogued id is still sent", rt.count())
	}
}

var _ = context.Background
var _ = time.Second

func TestRetryAfterValuesThatCannotBeWaitedAreBounded(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"5":                             5 * time.Second,
		"1e30":                          24 * time.Hour, // overflowed to a negative Duration before
		"NaN":                           0,
		"-3":                            0,
		"Thu, 01 Jan 2099 00:00:00 GMT": 24 * time.Hour,
	} {
		if got := parseRetryAfter(v, now); got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
