package llmtest

// promptCache is the emulated prompt cache: what each session-affinity key sent last.
// (Filled in by the prompt-caching work.)
type promptCache struct{}

// admit runs the checks the service makes before a model sees a request, and notes what
// the prompt cache reused in ex.cachedTokens. refused reports that out is the answer.
// (Filled in by the context-window and prompt-caching work.)
func (s *Server) admit(ex *exchange) (out output, refused bool) { return output{}, false }
