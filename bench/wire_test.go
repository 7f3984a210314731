package bench

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The traffic every library sees. Each reply is built once, before the timer starts, so the
// server's share of a measurement is a memcpy and the difference between rows is client cost.
const (
	account    = "acc"
	apiToken   = "tok"
	nativeID   = "@cf/meta/llama-3.1-8b-instruct" // a legacy model: {"response": ...} on /ai/run
	openAIID   = "@cf/meta/llama-3.3-70b-instruct-fp8-fast"
	embedID    = "@cf/baai/bge-small-en-v1.5"
	systemText = "Be brief."
	userText   = "What is Workers AI?"

	answerTokens = 200  // scenario 1: a whole 200-token answer
	streamEvents = 2000 // scenario 2: token events per stream
	embedDims    = 384  // bge-small
	embedMax     = 100  // texts per request the bge schemas allow ("text" maxItems 100)
	maxTokens    = 1024 // sent by every library, as gowai always sends one
)

// tokens returns n answer tokens: words with a leading space, and a paragraph break every
// 50 tokens so that the escaped-string path of each decoder is exercised as in real answers.
func tokens(n int) []string {
	words := []string{"Workers", " AI", " runs", " machine", " learning", " models", " on", " Cloudflare",
		"'s", " global", " network", ",", " close", " to", " users", "."}
	out := make([]string, n)
	for i := range out {
		if i%50 == 49 {
			out[i] = "\n\n"
			continue
		}
		out[i] = words[i%len(words)]
		if i%len(words) == 0 && i > 0 {
			out[i] = " " + out[i]
		}
	}
	return out
}

// padding is the random-length "p" filler the service adds to each native stream event (see
// llm/testdata/workers-ai/native-stream-text.sse in the main module).
func padding(rng *rand.Rand) string {
	const alnum = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 4+rng.IntN(44))
	for i := range b {
		b[i] = alnum[rng.IntN(len(alnum))]
	}
	return string(b)
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

type wireUsage struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func usage(completion int) wireUsage {
	return wireUsage{PromptTokens: 24, CompletionTokens: completion, TotalTokens: 24 + completion}
}

// nativeReply is a legacy /ai/run reply in the Cloudflare envelope
// (fixture native-text-usage.response.json).
func nativeReply(text string, completion int) []byte {
	type result struct {
		Response string    `json:"response"`
		Usage    wireUsage `json:"usage"`
	}
	return mustJSON(struct {
		Result   result `json:"result"`
		Success  bool   `json:"success"`
		Errors   []any  `json:"errors"`
		Messages []any  `json:"messages"`
	}{result{text, usage(completion)}, true, []any{}, []any{}})
}

// chatCompletion is a bare chat.completion as /ai/v1/chat/completions sends it
// (fixture openai-chat-completion.response.json).
func chatCompletion(text string, completion int) []byte {
	type message struct {
		Role    string `json:"role"`
		Content string `json:"content"`
	}
	type choice struct {
		Index        int     `json:"index"`
		Message      message `json:"message"`
		Logprobs     any     `json:"logprobs"`
		FinishReason string  `json:"finish_reason"`
	}
	return mustJSON(struct {
		ID      string    `json:"id"`
		Object  string    `json:"object"`
		Created int64     `json:"created"`
		Model   string    `json:"model"`
		Choices []choice  `json:"choices"`
		Usage   wireUsage `json:"usage"`
	}{"4bb245b612b04449b9efe83d17ce90e0", "chat.completion", 1791402397, openAIID,
		[]choice{{0, message{"assistant", text}, nil, "stop"}}, usage(completion)})
}

// nativeEvent is one legacy native stream event (fixture native-stream-text.sse).
func nativeEvent(tok string, rng *rand.Rand) []byte {
	return fmt.Appendf(nil, "data: {\"response\":%s,\"p\":%q}\n\n", mustJSON(tok), padding(rng))
}

// nativeTail ends a legacy native stream: the empty response, the usage event, [DONE].
func nativeTail(completion int) []byte {
	return fmt.Appendf(nil, "data: {\"response\":\"\"}\n\ndata: {\"response\":\"\",\"usage\":%s}\n\ndata: [DONE]\n\n",
		mustJSON(usage(completion)))
}

func nativeStream(toks []string) []byte {
	rng := rand.New(rand.NewPCG(7, 11))
	var b bytes.Buffer
	for _, t := range toks {
		b.Write(nativeEvent(t, rng))
	}
	b.Write(nativeTail(len(toks)))
	return b.Bytes()
}

// chunkEvent is one chat.completion.chunk event; the first one carries the role.
func chunkEvent(tok string, first bool) []byte {
	role := ""
	if first {
		role = `"role":"assistant",`
	}
	return fmt.Appendf(nil, `data: {"id":"2e6734ec658642b995b4f462c336cb04","object":"chat.completion.chunk",`+
		`"created":1790996567,"model":%q,"choices":[{"index":0,"delta":{%s"content":%s},"logprobs":null,`+
		`"finish_reason":null}]}`+"\n\n", openAIID, role, mustJSON(tok))
}

// chunkTail ends a chat-chunk stream: the finish chunk, the usage chunk that
// stream_options.include_usage asks for, and [DONE].
func chunkTail(completion int) []byte {
	return fmt.Appendf(nil, `data: {"id":"2e6734ec658642b995b4f462c336cb04","object":"chat.completion.chunk",`+
		`"created":1790996567,"model":%q,"choices":[{"index":0,"delta":{},"logprobs":null,"finish_reason":"stop"}]}`+
		"\n\n"+`data: {"id":"2e6734ec658642b995b4f462c336cb04","object":"chat.completion.chunk",`+
		`"created":1790996567,"model":%q,"choices":[],"usage":%s}`+"\n\ndata: [DONE]\n\n",
		openAIID, openAIID, mustJSON(usage(completion)))
}

func chunkStream(toks []string) []byte {
	var b bytes.Buffer
	for i, t := range toks {
		b.Write(chunkEvent(t, i == 0))
	}
	b.Write(chunkTail(len(toks)))
	return b.Bytes()
}

// replies are the fixed bodies a wireServer answers with.
type replies struct {
	native, nativeSSE []byte // /ai/run, without and with stream:true
	openAI, openAISSE []byte // /ai/v1/chat/completions
}

// chatReplies answers every chat route with the same text.
func chatReplies(toks []string) replies {
	text := strings.Join(toks, "")
	return replies{
		native:    nativeReply(text, len(toks)),
		nativeSSE: nativeStream(toks),
		openAI:    chatCompletion(text, len(toks)),
		openAISSE: chunkStream(toks),
	}
}

// wireServer is a Workers AI stand-in on loopback that answers from precomputed bytes:
// /accounts/acc/ai/run/{model}, /accounts/acc/ai/v1/chat/completions and
// /accounts/acc/ai/v1/embeddings.
type wireServer struct {
	*httptest.Server
	r       replies
	vectors [][]byte // rendered embedding vectors, used in turn
	bufs    sync.Pool
}

var (
	ctJSON = []string{"application/json"}
	ctSSE  = []string{"text/event-stream"}
)

func newWireServer(tb testing.TB, r replies) *wireServer {
	s := &wireServer{r: r, vectors: renderVectors(8)}
	s.bufs.New = func() any { return new(bytes.Buffer) }
	s.Server = httptest.NewServer(s)
	tb.Cleanup(s.Close)
	return s
}

// nativeBase and openAIBase are where clients are pointed.
func (s *wireServer) nativeBase() string { return s.URL }
func (s *wireServer) openAIBase() string { return s.URL + "/accounts/" + account + "/ai/v1" }

func (s *wireServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	buf := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(buf)
	buf.Reset()
	if _, err := buf.ReadFrom(r.Body); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	body := buf.Bytes()
	stream := bytes.Contains(body, []byte(`"stream":true`))
	const run, v1 = "/accounts/" + account + "/ai/run/", "/accounts/" + account + "/ai/v1/"
	p := r.URL.Path
	switch {
	case p == run+embedID:
		s.embeddings(w, body, "text", true)
	case p == v1+"embeddings":
		s.embeddings(w, body, "input", false)
	case strings.HasPrefix(p, run):
		s.reply(w, s.r.native, s.r.nativeSSE, stream)
	case p == v1+"chat/completions":
		s.reply(w, s.r.openAI, s.r.openAISSE, stream)
	default:
		fail(w, http.StatusNotFound, 7000, "No route for that URI")
	}
}

func (s *wireServer) reply(w http.ResponseWriter, whole, sse []byte, stream bool) {
	if stream {
		w.Header()["Content-Type"] = ctSSE
		w.Write(sse)
		return
	}
	w.Header()["Content-Type"] = ctJSON
	w.Write(whole)
}

// fail answers with a Cloudflare error envelope.
func fail(w http.ResponseWriter, status, code int, msg string) {
	w.Header()["Content-Type"] = ctJSON
	w.WriteHeader(status)
	fmt.Fprintf(w, `{"result":null,"success":false,"errors":[{"code":%d,"message":%q}],"messages":[]}`, code, msg)
}

// embeddings answers one vector per text: the native {shape, data, pooling} envelope, or
// the OpenAI list (which carries no usage on Workers AI: see
// llm/testdata/recorded/marmarko__brainz__ai-v1-embeddings-qwen3-no-usage.json). Like the service,
// it refuses more than 100 texts per request.
func (s *wireServer) embeddings(w http.ResponseWriter, body []byte, key string, native bool) {
	n := countStrings(body, key)
	switch {
	case n < 1:
		fail(w, http.StatusBadRequest, 5006, "Error: required properties at '/' are 'text'")
		return
	case n > embedMax:
		fail(w, http.StatusBadRequest, 5006, fmt.Sprintf("Error: '/text' must NOT have more than %d items", embedMax))
		return
	}
	out := s.bufs.Get().(*bytes.Buffer)
	defer s.bufs.Put(out)
	out.Reset()
	if native {
		fmt.Fprintf(out, `{"result":{"shape":[%d,%d],"data":[`, n, embedDims)
	} else {
		out.WriteString(`{"object":"list","data":[`)
	}
	for i := range n {
		if i > 0 {
			out.WriteByte(',')
		}
		v := s.vectors[i%len(s.vectors)]
		if native {
			out.Write(v)
			continue
		}
		out.WriteString(`{"object":"embedding","embedding":`)
		out.Write(v)
		out.WriteString(`,"index":`)
		out.Write(strconv.AppendInt(out.AvailableBuffer(), int64(i), 10))
		out.WriteByte('}')
	}
	if native {
		out.WriteString(`],"pooling":"mean"},"success":true,"errors":[],"messages":[]}`)
	} else {
		out.WriteString(`],"model":"` + embedID + `"}`)
	}
	w.Header()["Content-Type"] = ctJSON
	w.Write(out.Bytes())
}

// renderVectors renders n random 384-dimensional vectors as the service spells them
// (float64 text, as in llm/testdata/recorded/marmarko__brainz__ai-v1-embeddings-qwen3-no-usage.json).
func renderVectors(n int) [][]byte {
	rng := rand.New(rand.NewPCG(3, 5))
	out := make([][]byte, n)
	for i := range out {
		b := []byte{'['}
		for d := range embedDims {
			if d > 0 {
				b = append(b, ',')
			}
			b = strconv.AppendFloat(b, (rng.Float64()-0.5)/8, 'g', -1, 64)
		}
		out[i] = append(b, ']')
	}
	return out
}

// countStrings counts the strings in the array under "key" without decoding them; a lone
// string counts as one.
func countStrings(body []byte, key string) int {
	i := bytes.Index(body, []byte(`"`+key+`"`))
	if i < 0 {
		return 0
	}
	rest := bytes.TrimLeft(body[i+len(key)+2:], " \t\r\n:")
	if len(rest) > 0 && rest[0] == '"' {
		return 1
	}
	n, in, esc := 0, false, false
	for _, c := range rest {
		switch {
		case esc:
			esc = false
		case in && c == '\\':
			esc = true
		case c == '"':
			if !in {
				n++
			}
			in = !in
		case !in && c == ']':
			return n
		}
	}
	return 0
}

// drain reads a body to the end, for the net/http floor rows.
func drain(r io.Reader) (int64, error) { return io.Copy(io.Discard, r) }
