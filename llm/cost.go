package llm

// USDPerNeuron is Workers AI's price of one neuron: $0.011 per 1,000 neurons
// (https://developers.cloudflare.com/workers-ai/platform/pricing/).
const USDPerNeuron = 0.011 / 1000

// Dollars is what the usage cost at Workers AI's price per neuron. It prices Neurons: what
// the service reported, or, when NeuronsEstimated is set, the catalog's estimate
// (EstimateNeurons), which the Client fills in for calls the service reported no neurons for.
func (u Usage) Dollars() float64 { return u.Neurons * USDPerNeuron }

// EstimateNeurons prices u with the catalog's rates for model: prompt tokens at
// NeuronsPerMInput, of which the cached ones at NeuronsPerMCachedInput where the catalog
// has a cached rate, and completion tokens at NeuronsPerMOutput. When u has only a total,
// the total is priced at the output rate, the dearer side. ok is false when the catalog does
// not price the model's tokens.
func EstimateNeurons(model string, u Usage) (neurons float64, ok bool) {
	info, found := LookupModel(model)
	if !found || info.NeuronsPerMInput == 0 && info.NeuronsPerMOutput == 0 {
		return 0, false
	}
	in, out := u.PromptTokens, u.CompletionTokens
	if in == 0 && out == 0 {
		out = u.TotalTokens
	}
	cached := 0
	if info.NeuronsPerMCachedInput > 0 {
		cached = min(u.CachedTokens, in)
	}
	n := float64(in-cached)*info.NeuronsPerMInput + float64(cached)*info.NeuronsPerMCachedInput +
		float64(out)*info.NeuronsPerMOutput
	return n / 1e6, true
}

// estimateNeurons fills in u's neurons from the catalog's prices for model when the service
// reported none, and marks them estimated. Usage without tokens, and models the catalog does
// not price, are left as they are.
func estimateNeurons(model string, u *Usage) {
	if u.Neurons != 0 || u.PromptTokens == 0 && u.CompletionTokens == 0 && u.TotalTokens == 0 {
		return
	}
	if n, ok := EstimateNeurons(model, *u); ok && n > 0 {
		u.Neurons, u.NeuronsEstimated = n, true
	}
}
