// Package vision brings images to and from Workers AI models: loading and checking
// images, describing them, extracting typed data from them, and generating them.
//
// # Images in
//
// Load, FromBytes and FetchImage return an llm.Image whose MIME type is sniffed from the
// bytes (PNG, JPEG, GIF or WebP; the file name and the server's Content-Type are not
// trusted) and whose size is at most DefaultMaxImageBytes unless told otherwise
// (LoadLimit, FromBytesLimit, WithMaxBytes). FetchImage refuses loopback, private and
// link-local addresses, checked when connecting, so a user-supplied URL cannot reach
// internal services; AllowPrivate lifts that for local use.
//
// An image reaches any vision model through llm.User(text, img): the llm package sends it
// in the form the model takes (content parts with a data: URL for llama-4-scout and
// gemma-3, a byte array beside the messages for llama-3.2-11b-vision, {image, prompt} for
// llava and uform). Describe and Extract do that for the two common questions, "what is
// in this picture" and "fill this struct from it".
//
// # Vision as a tool
//
// When an agent's model has no vision, Tool lets that model ask a vision model about an
// image: one given to the run (by its index among the images tools.Attachments finds in the
// call's context, which the agent sets from its input) or one on the web (by URL, through
// FetchImage and its refusal of non-public addresses). The model sends
// {"image": 0, "question": "..."} or {"url": "...", "question": "..."}; ExtractTool answers
// a typed value as JSON instead of text. A wrong index, both or neither of image and url,
// or a refused URL come back as an error the model reads, saying what to fix:
//
//	look := vision.Tool(client.Model("@cf/meta/llama-4-scout-17b-16e-instruct"), "look_at_image",
//		"Ask about an attached image (by index) or an image URL.")
//	a := agent.New(client.Model("@cf/meta/llama-3.3-70b-instruct-fp8-fast"), agent.WithTools(look, search))
//
// Like any tools, vision calls and searches asked for in one step run at the same time.
//
// # Licences
//
// Some models (llama-3.2-11b-vision) answer 403, code 5016, until the account has agreed
// to their licence; the error matches llm.ErrLicenseRequired. Nothing in this package
// agrees on its own: AgreeLicense does it when called.
//
// # Images out
//
// Generate draws an image with a text-to-image model, building each family's input
// (JSON for flux-1-schnell and Stable Diffusion, multipart/form-data for flux-2) and
// checking options the model would refuse before sending anything.
package vision
