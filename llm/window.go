package llm

import "fmt"

// Token estimation. Workers AI refuses, with HTTP 413 (code 5021), a request whose
// estimated input plus max_tokens exceeds the model's context window. The client cannot run
// each model's tokenizer, so it counts bytes with a rule that overestimates on purpose: a
// request the client lets through should not be refused by the service.
const (
	// EstimateBytesPerToken is the number of bytes of text EstimateTokens counts as one
	// token. Tokenizers of the Workers AI models give about four bytes of English, code or
	// JSON per token and about three bytes (one character) of Chinese, Japanese or Korean,
	// so three bytes a token errs on the side of more tokens.
	EstimateBytesPerToken = 3
	// EstimateImageTokens is what EstimateTokens counts for each image, whatever its size:
	// more than the vision models in the catalog spend on a typical picture.
	EstimateImageTokens = 2048
	// MinAnswerTokens is the smallest max_tokens the client lowers a request to so that it
	// fits a context window; below it, the request is refused with a *ContextWindowError.
	MinAnswerTokens = 16

	estimateMessageOverhead = 4 // role and template markers around each message
	estimateToolOverhead    = 8 // the wrapper each tool definition is rendered in
	estimateReplyOverhead   = 3 // the markers that open the assistant's answer
)

// EstimateTokens returns a conservative estimate of the input tokens of req, the figure the
// client checks against a model's context window. The rule is fixed and public so that
// callers (an agent's history policy, for example) can make the same check:
//
//   - each message counts 4 tokens, plus its content, plus the id, name and arguments of
//     each of its tool calls and its ToolCallID, at EstimateBytesPerToken bytes a token
//     (rounded up), plus EstimateImageTokens for each image;
//   - each tool definition counts 8 tokens plus its name, description and parameter
//     schema at EstimateBytesPerToken bytes a token;
//   - a Format counts 4 tokens plus its schema, the same way;
//   - 3 tokens open the answer.
//
// For English text it comes out about a third above the count of a typical tokenizer (four
// bytes a token); a request it finds too large may still have fitted, and one it lets
// through is unlikely to be refused for its size.
func EstimateTokens(req Request) int {
	n := estimateReplyOverhead
	for _, m := range req.Messages {
		b := len(m.Content) + len(m.ToolCallID)
		for _, c := range m.ToolCalls {
			b += len(c.ID) + len(c.Name) + len(c.Arguments)
		}
		n += estimateMessageOverhead + bytesToTokens(b) + len(m.Images)*EstimateImageTokens
	}
	for _, t := range req.Tools {
		n += estimateToolOverhead + bytesToTokens(len(t.Name)+len(t.Description)+len(t.Parameters))
	}
	if req.Format != nil {
		n += estimateMessageOverhead + bytesToTokens(len(req.Format.Schema))
	}
	return n
}

func bytesToTokens(n int) int {
	return (n + EstimateBytesPerToken - 1) / EstimateBytesPerToken
}

// ContextWindowError reports a request that cannot fit the model's context window, found
// before anything was sent. It matches ErrContextWindow.
type ContextWindowError struct {
	Model     string // the model id
	Estimate  int    // the input tokens EstimateTokens counted
	Window    int    // the model's context window in tokens, from the catalog
	MaxTokens int    // the answer budget that did not fit: Request.MaxTokens, or MinAnswerTokens when it was unset
}

func (e *ContextWindowError) Error() string {
	advice := "shorten the messages"
	if e.MaxTokens > MinAnswerTokens {
		advice += " or lower MaxTokens"
	}
	return fmt.Sprintf("llm: %s: the input, estimated at %d tokens, plus max_tokens %d exceeds the model's context window of %d tokens (nothing was sent; %s)",
		e.Model, e.Estimate, e.MaxTokens, e.Window, advice)
}

// Is reports whether target is ErrContextWindow.
func (e *ContextWindowError) Is(target error) bool { return target == ErrContextWindow }

// fitWindow checks req against the model's context window before it is sent, for models
// whose window the catalog knows, on Workers AI (not on OpenAI-compatible third-party
// servers). When the caller left MaxTokens unset and the default budget does not fit, it
// lowers req.MaxTokens to what does, if that is at least MinAnswerTokens. A request that
// cannot fit (an explicit MaxTokens too large, or less than MinAnswerTokens of room) is a
// *ContextWindowError.
func (m *ChatModel) fitWindow(req *Request) error {
	if m.c == nil || m.c.compatBase != "" || req.MaxTokens < 0 {
		// A nil Client reports itself when sending; a negative MaxTokens is refused
		// when the body is encoded.
		return nil
	}
	info, ok := LookupModel(m.id)
	if !ok || info.ContextWindow <= 0 {
		return nil
	}
	est := EstimateTokens(*req)
	switch room := info.ContextWindow - est; {
	case req.MaxTokens > 0 && req.MaxTokens > room:
		return &ContextWindowError{Model: m.id, Estimate: est, Window: info.ContextWindow, MaxTokens: req.MaxTokens}
	case req.MaxTokens > 0 || room >= DefaultMaxTokens:
	case room >= MinAnswerTokens:
		req.MaxTokens = room
	default:
		return &ContextWindowError{Model: m.id, Estimate: est, Window: info.ContextWindow, MaxTokens: MinAnswerTokens}
	}
	return nil
}
