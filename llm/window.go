package llm

// fitWindow checks req against the model's context window before it is sent.
// (Filled in by the context-window work; until then every request is sent as it is.)
func (m *ChatModel) fitWindow(req *Request) error { return nil }
