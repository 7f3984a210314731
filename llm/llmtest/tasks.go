package llmtest

import "github.com/gowai/gowai/llm"

// task answers the Workers AI tasks beyond chat, embeddings, reranking and images.
// ok is false for a task the emulator does not answer.
// (Filled in by the task work.)
func (s *Server) task(ex *exchange, info llm.ModelInfo) (out output, ok bool) { return output{}, false }
