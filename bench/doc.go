// Package bench measures gowai against peer Go libraries (sashabaranov/go-openai,
// openai/openai-go, tmc/langchaingo) on the same Workers AI wire traffic. Everything lives
// in test files: the numbers come from `go test -bench`, and README.md explains them.
//
// It is a module of its own so that the peer libraries never enter gowai's go.mod.
package bench
