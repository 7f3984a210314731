// Package nlp runs Workers AI's text tasks other than chat and embeddings, each typed:
// Translate and TranslateAll (m2m100-1.2b, indictrans2-en-indic-1B), Summarize
// (bart-large-cnn), Classify (distilbert-sst-2-int8 sentiment) and Moderate (Llama Guard 3,
// a verdict naming the violated hazard categories).
//
// Inputs are checked before anything is sent: an empty text, a language the model does
// not translate, a negative length limit. Every result carries the neurons the service
// reported for it (llm.Usage.Neurons) or, when it reported none, an estimate from the
// catalog's per-token prices with its texts counted at llm.EstimateBytesPerToken bytes a
// token (llm.Usage.NeuronsEstimated). The same usage is reported to the function of
// llm.WithUsageFunc, so an agent's budget counts what these tasks spend as its tools.
//
// TranslateTool, SummarizeTool, ClassifyTool and ModerateTool give an agent the same tasks
// as typed tools.
package nlp
