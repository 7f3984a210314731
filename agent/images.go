package agent

import (
	"fmt"
	"slices"

	"github.com/gowai/gowai/llm"
)

// seesImages reports whether the agent's model takes images: false only for a model the
// catalog knows (by its ID() method) and lists without vision. Other models get the images
// as given, and the service says if it cannot take them.
func (a *Agent) seesImages() bool {
	m, ok := a.model.(interface{ ID() string })
	if !ok {
		return true
	}
	info, known := llm.LookupModel(m.ID())
	return !known || info.Vision
}

// describeImages returns msgs with each image replaced by a line in its message's text
// naming it by its index among the run's images (the index tools.Attachments and the
// vision tool use), so that a model without vision knows the images are there and can ask a
// tool about them. The lines are the same at every step, so the prompt prefix stays
// byte-identical and cacheable. msgs is not changed; without images it is returned as is.
func describeImages(msgs []llm.Message) []llm.Message {
	var out []llm.Message
	n := 0
	for i, m := range msgs {
		if len(m.Images) == 0 {
			continue
		}
		if out == nil {
			out = slices.Clone(msgs)
		}
		text := m.Content
		for _, img := range m.Images {
			text += fmt.Sprintf("\n[attached image %d: %s, %d bytes. You cannot see it; a tool that looks at attached images can, by this index.]",
				n, img.MIME, len(img.Data))
			n++
		}
		m.Content, m.Images = text, nil
		out[i] = m
	}
	if out == nil {
		return msgs
	}
	return out
}
