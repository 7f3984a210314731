package speech

import (
	"fmt"
	"slices"
	"strings"
)

// modelOptions records, by name, the options given that only some models take, so that
// one a model does not take is refused before anything is sent.
type modelOptions struct {
	used []string
}

func (o *modelOptions) use(name string) {
	if !slices.Contains(o.used, name) {
		o.used = append(o.used, name)
	}
}

// refuse returns the error of op for the first option given that model does not take.
func (o *modelOptions) refuse(op, model string, takes []string) error {
	for _, name := range o.used {
		if !slices.Contains(takes, name) {
			return fmt.Errorf("speech: %s: %s does not take %s (it takes %s)", op, model, name, strings.Join(takes, ", "))
		}
	}
	return nil
}
