package bench

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	oai "github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	goopenai "github.com/sashabaranov/go-openai"
	lchttp "github.com/tmc/langchaingo/httputil"
	"github.com/tmc/langchaingo/llms"
	lccloudflare "github.com/tmc/langchaingo/llms/cloudflare"
	lcopenai "github.com/tmc/langchaingo/llms/openai"
)

// transports gives every library the same connection pool: a clone of
// http.DefaultTransport that keeps enough idle connections for 256 concurrent calls (the
// default keeps 2 per host, and connection churn would swamp scenario 6). langchaingo's
// client keeps its own User-Agent wrapper, as its default client has.
func transports(tb testing.TB) (std, langchain *http.Client) {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	tb.Cleanup(t.CloseIdleConnections)
	return &http.Client{Transport: t}, &http.Client{Transport: &lchttp.Transport{Transport: t}}
}

// sink receives stream deltas. It counts them and, in tests, keeps the text; onFirst, when
// set, runs on the first delta.
type sink struct {
	deltas, bytes int
	text          *strings.Builder
	onFirst       func()
}

func (s *sink) add(t string) {
	if t == "" {
		return
	}
	s.deltas++
	if s.deltas == 1 && s.onFirst != nil {
		s.onFirst()
	}
	s.bytes += len(t)
	if s.text != nil {
		s.text.WriteString(t)
	}
}

// addBytes is add for libraries that hand over []byte; the bytes are only counted (and
// copied in tests), so no conversion is charged to them.
func (s *sink) addBytes(b []byte) {
	if len(b) == 0 {
		return
	}
	s.deltas++
	if s.deltas == 1 && s.onFirst != nil {
		s.onFirst()
	}
	s.bytes += len(b)
	if s.text != nil {
		s.text.Write(b)
	}
}

// contender is one library's idiomatic chat call, non-streamed and streamed, against a
// wireServer. rawEvents marks a stream that hands over each event's JSON rather than its
// text (langchaingo's cloudflare provider): its row is a lower bound, since a user still
// has to decode every event.
type contender struct {
	name      string
	floor     bool // plain net/http, no decoding: the transport's own cost
	rawEvents bool
	generate  func(ctx context.Context) (string, error)
	stream    func(ctx context.Context, s *sink) error
}

// contenders builds every library's client once, pointed at s.
func contenders(tb testing.TB, s *wireServer) []contender {
	hc, lhc := transports(tb)
	return []contender{
		gowai(tb, s, hc, false),
		gowai(tb, s, hc, true),
		goOpenAI(s, hc),
		openAIGo(s, hc),
		langchainCloudflare(tb, s, lhc),
		langchainOpenAI(tb, s, lhc),
		netHTTPFloor(s, hc),
	}
}

func gowaiClient(tb testing.TB, s *wireServer, hc *http.Client) *llm.Client {
	c, err := llm.NewClient(llm.WithBaseURL(s.nativeBase()), llm.WithAccount(account, apiToken), llm.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return c
}

func gowai(tb testing.TB, s *wireServer, hc *http.Client, openAI bool) contender {
	c := gowaiClient(tb, s, hc)
	m, name := c.Model(nativeID), "gowai-native"
	if openAI {
		m, name = c.OpenAIModel(openAIID), "gowai-openai"
	}
	request := func() llm.Request {
		return llm.Request{Messages: []llm.Message{llm.System(systemText), llm.User(userText)}, MaxTokens: maxTokens}
	}
	return contender{
		name: name,
		generate: func(ctx context.Context) (string, error) {
			r, err := m.Generate(ctx, request())
			if err != nil {
				return "", err
			}
			return r.Text, nil
		},
		stream: func(ctx context.Context, s *sink) error {
			for d, err := range m.Stream(ctx, request()) {
				if err != nil {
					return err
				}
				s.add(d.Text)
			}
			return nil
		},
	}
}

func goOpenAI(s *wireServer, hc *http.Client) contender {
	cfg := goopenai.DefaultConfig(apiToken)
	cfg.BaseURL = s.openAIBase()
	cfg.HTTPClient = hc
	c := goopenai.NewClientWithConfig(cfg)
	request := func() goopenai.ChatCompletionRequest {
		return goopenai.ChatCompletionRequest{
			Model: openAIID,
			Messages: []goopenai.ChatCompletionMessage{
				{Role: goopenai.ChatMessageRoleSystem, Content: systemText},
				{Role: goopenai.ChatMessageRoleUser, Content: userText},
			},
			MaxTokens: maxTokens,
		}
	}
	return contender{
		name: "go-openai",
		generate: func(ctx context.Context) (string, error) {
			r, err := c.CreateChatCompletion(ctx, request())
			if err != nil {
				return "", err
			}
			return r.Choices[0].Message.Content, nil
		},
		stream: func(ctx context.Context, s *sink) error {
			req := request()
			req.Stream = true
			req.StreamOptions = &goopenai.StreamOptions{IncludeUsage: true}
			st, err := c.CreateChatCompletionStream(ctx, req)
			if err != nil {
				return err
			}
			defer st.Close()
			for {
				r, err := st.Recv()
				if errors.Is(err, io.EOF) {
					return nil
				}
				if err != nil {
					return err
				}
				if len(r.Choices) > 0 {
					s.add(r.Choices[0].Delta.Content)
				}
			}
		},
	}
}

func openAIGo(s *wireServer, hc *http.Client) contender {
	c := oai.NewClient(option.WithBaseURL(s.openAIBase()+"/"), option.WithAPIKey(apiToken), option.WithHTTPClient(hc))
	params := func() oai.ChatCompletionNewParams {
		return oai.ChatCompletionNewParams{
			Model:     openAIID,
			Messages:  []oai.ChatCompletionMessageParamUnion{oai.SystemMessage(systemText), oai.UserMessage(userText)},
			MaxTokens: oai.Int(maxTokens),
		}
	}
	return contender{
		name: "openai-go",
		generate: func(ctx context.Context) (string, error) {
			r, err := c.Chat.Completions.New(ctx, params())
			if err != nil {
				return "", err
			}
			return r.Choices[0].Message.Content, nil
		},
		stream: func(ctx context.Context, s *sink) error {
			p := params()
			p.StreamOptions = oai.ChatCompletionStreamOptionsParam{IncludeUsage: oai.Bool(true)}
			st := c.Chat.Completions.NewStreaming(ctx, p)
			defer st.Close()
			for st.Next() {
				if ch := st.Current(); len(ch.Choices) > 0 {
					s.add(ch.Choices[0].Delta.Content)
				}
			}
			return st.Err()
		},
	}
}

func langchainMessages() []llms.MessageContent {
	return []llms.MessageContent{
		llms.TextParts(llms.ChatMessageTypeSystem, systemText),
		llms.TextParts(llms.ChatMessageTypeHuman, userText),
	}
}

// langchainCloudflare builds the URL {server}/{account}/ai/run/{model}
// (llms/cloudflare/internal/cloudflareclient), so its server URL ends in /accounts. It has
// no max-tokens option.
func langchainCloudflare(tb testing.TB, s *wireServer, hc *http.Client) contender {
	l, err := lccloudflare.New(lccloudflare.WithToken(apiToken), lccloudflare.WithAccountID(account),
		lccloudflare.WithModel(nativeID), lccloudflare.WithServerURL(s.nativeBase()+"/accounts"),
		lccloudflare.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return contender{
		name:      "langchaingo-cloudflare",
		rawEvents: true,
		generate: func(ctx context.Context) (string, error) {
			r, err := l.GenerateContent(ctx, langchainMessages())
			if err != nil {
				return "", err
			}
			return r.Choices[0].Content, nil
		},
		stream: func(ctx context.Context, s *sink) error {
			_, err := l.GenerateContent(ctx, langchainMessages(), llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
				s.addBytes(chunk)
				return nil
			}))
			return err
		},
	}
}

func langchainOpenAI(tb testing.TB, s *wireServer, hc *http.Client) contender {
	l, err := lcopenai.New(lcopenai.WithToken(apiToken), lcopenai.WithBaseURL(s.openAIBase()),
		lcopenai.WithModel(openAIID), lcopenai.WithHTTPClient(hc))
	if err != nil {
		tb.Fatal(err)
	}
	return contender{
		name: "langchaingo-openai",
		generate: func(ctx context.Context) (string, error) {
			r, err := l.GenerateContent(ctx, langchainMessages(), llms.WithMaxTokens(maxTokens))
			if err != nil {
				return "", err
			}
			return r.Choices[0].Content, nil
		},
		stream: func(ctx context.Context, s *sink) error {
			_, err := l.GenerateContent(ctx, langchainMessages(), llms.WithMaxTokens(maxTokens),
				llms.WithStreamingFunc(func(_ context.Context, chunk []byte) error {
					s.addBytes(chunk)
					return nil
				}))
			return err
		},
	}
}

// netHTTPFloor posts a precomputed body and reads the reply without decoding it: what any
// library pays for the transport alone. Its stream counts data: lines.
func netHTTPFloor(s *wireServer, hc *http.Client) contender {
	url := s.nativeBase() + "/accounts/" + account + "/ai/run/" + nativeID
	body := []byte(`{"messages":[{"role":"system","content":"` + systemText + `"},{"role":"user","content":"` +
		userText + `"}],"max_tokens":1024}`)
	streamBody := append(body[:len(body)-1:len(body)-1], `,"stream":true}`...)
	post := func(ctx context.Context, b []byte) (*http.Response, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(b))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+apiToken)
		resp, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return nil, fmt.Errorf("status %d", resp.StatusCode)
		}
		return resp, nil
	}
	return contender{
		name:  "nethttp-floor",
		floor: true,
		generate: func(ctx context.Context) (string, error) {
			resp, err := post(ctx, body)
			if err != nil {
				return "", err
			}
			defer resp.Body.Close()
			_, err = drain(resp.Body)
			return "", err
		},
		stream: func(ctx context.Context, s *sink) error {
			resp, err := post(ctx, streamBody)
			if err != nil {
				return err
			}
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if line := sc.Bytes(); bytes.HasPrefix(line, []byte("data: {")) {
					s.deltas++
				}
			}
			return sc.Err()
		},
	}
}
