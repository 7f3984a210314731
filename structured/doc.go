// Package structured turns a model's answer into a validated Go value.
//
//	type Recipe struct {
//		Title    string   `json:"title" jsonschema_description:"Name of the dish"`
//		Servings int      `json:"servings" jsonschema:"minimum=1,maximum=12"`
//		Steps    []string `json:"steps" jsonschema:"minItems=1"`
//	}
//	r, err := structured.Generate[Recipe](ctx, model, "a vegan lasagne")
//
// The JSON Schema comes from T (built once per type and cached with its compiled
// validator). Struct tags describe it:
//
//	json:"name,omitempty"                 optional field (fields without omitempty are required)
//	jsonschema_description:"..."          description shown to the model
//	jsonschema:"enum=a,enum=b"            allowed values
//	jsonschema:"minimum=1,maximum=9"      numeric bounds (also exclusiveMinimum, exclusiveMaximum)
//	jsonschema:"minLength=1,maxLength=80" string length; pattern=^[A-Z]{3}$ for a regular expression
//	jsonschema:"minItems=1,maxItems=5"    array length
//	jsonschema:"format=date-time"         also date, email, uri, uuid
//	jsonschema:"example=Lisbon"           example value (the offline test model answers with it)
//	jsonschema:"default=..." / "const=..."
//
// Field types are described by what encoding/json decodes into them, so an answer that
// validates also decodes: a type with UnmarshalText (a UUID, an enum by name) is a string;
// a pointer field takes null (decoded to nil) and, without omitempty, is still required;
// sized integers carry their range; an integer must be written as one (3, not 3.0).
// Types whose JSON a schema cannot know are refused before any request, with the field
// and the fix: a type with its own MarshalJSON/UnmarshalJSON and no
// JSONSchema() *jsonschema.Schema method, time.Duration (integer nanoseconds: use an int
// field such as TimeoutSeconds), url.URL (use a string tagged format=uri).
//
// Recursive types work: their schema uses $defs and $ref, so ModeAuto sends them in
// prompt mode. A T that is not a struct (a slice, map, string, number) travels as
// {"value": ...} and is unwrapped for you. If T or *T has a Validate() error method, it
// runs after schema validation and its error is fed back to the model like a schema
// violation.
//
// How the schema reaches the model depends on the Mode: JSON mode (response_format) where
// the model supports it, tool mode (one forced tool) where it supports tools, prompt mode
// (the schema in the system prompt) otherwise; ModeAuto decides from the llm catalog and
// falls back when the service refuses a mode. Whatever the mode, the answer is extracted
// (code fences and prose removed), validated against the full schema, decoded with unknown
// fields rejected, and, when invalid, sent back with a precise list of problems such as
// "/items/0/qty: must be >= 1 but found 0". The retry carries only the last invalid answer,
// so the context does not grow with attempts.
package structured
