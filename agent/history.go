package agent

import (
	"context"

	"github.com/gowai/gowai/llm"
)

// History is how a run keeps its conversation inside the model's context window.
// (Filled in by the history work.)
type History struct{}

// Compaction reports what the history policy changed before a step's model call.
type Compaction struct{}

// fit returns the messages to send for the next model call.
func (h History) fit(ctx context.Context, m llm.Model, msgs []llm.Message, tools []llm.ToolDef) ([]llm.Message, Compaction, llm.Usage, error) {
	return msgs, Compaction{}, llm.Usage{}, nil
}
