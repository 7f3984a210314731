// Package schema is the machinery shared by structured output and typed tools: it derives a JSON Schema from a
// Go type, caches it per reflect.Type with a compiled validator, and turns validation failures into sorted
// problem lines a model can act on.
//
// It works on reflect.Type rather than type parameters so that one cache serves every T; the generic APIs
// (structured.Generate[T], tools.New[In, Out]) call For(reflect.TypeFor[T]()).
//
// # From Go types
//
// Schemas come from github.com/invopop/jsonschema, inlined (no $ref) and without $schema or $id, with
// additionalProperties:false on every struct. Field tags:
//
//	type Recipe struct {
//		Title    string    `json:"title" jsonschema_description:"Name of the dish" jsonschema:"minLength=1,maxLength=80,example=Pea soup"`
//		Course   string    `json:"course" jsonschema:"enum=starter,enum=main,enum=dessert,default=main"`
//		Servings int       `json:"servings" jsonschema:"minimum=1,maximum=12,example=4"`
//		Rating   float64   `json:"rating,omitempty" jsonschema:"exclusiveMinimum=0,maximum=5"`
//		Code     string    `json:"code" jsonschema:"pattern=^[A-Z]{3}-[0-9]+$"`
//		Tags     []string  `json:"tags" jsonschema:"minItems=1,maxItems=5"`
//		Author   string    `json:"author,omitempty" jsonschema:"format=email,description=Who wrote it"`
//		Source   string    `json:"source,omitempty" jsonschema:"format=uri"`
//		ID       string    `json:"id" jsonschema:"format=uuid"`
//		Day      string    `json:"day" jsonschema:"format=date"`
//		Version  int       `json:"version" jsonschema:"const=2"`
//		Created  time.Time `json:"created"` // string, format date-time
//	}
//
// A field is required unless its json tag says omitempty (or omitzero). example= becomes the "examples" array and
// default= "default"; the offline test model answers with a property's examples, default, const or first enum
// value, so they also make tests read well. const= is applied by this package (invopop v0.14.0 ignores it) and
// takes the property's type: const=2 on an int is the number 2. Inside a tag value, `\,` is a literal comma.
// format is asserted when validating (email, date-time, date, uri, uuid, ...), so a malformed value is a problem
// line.
//
// A type is described by what encoding/json decodes into it. A type with its own MarshalText/UnmarshalText (value
// or pointer receiver) is {"type":"string"}; json.Number is a number; a type with a JSONSchema method (value or
// pointer receiver) says itself. A pointer field is nullable, anyOf:[T, {"type":"null"}], and still required
// without omitempty. int8 to int32 and the unsigned kinds carry their range as minimum/maximum. Validation refuses
// 3.0 or 1e2 where the schema wants an integer, since encoding/json will not decode those into an int. Refused,
// with the fix in the error: a type with MarshalJSON/UnmarshalJSON and no JSONSchema method, time.Duration (integer
// nanoseconds), url.URL (decodes from an object), and a MarshalText type without UnmarshalText. A number or boolean
// field with the json ",string" option is a string with a pattern (or enum) matching what encoding/json accepts
// there; the option on a string field is refused.
//
// Interface types (including any), funcs, chans, complex numbers and maps with non-string keys cannot be described
// and are rejected with the field path, e.g. "schema: Recipe.Steps[].Fn: func() is not representable in JSON
// Schema".
//
// A type that is not a struct (a slice, map, string, number, bool or a named string enum) is wrapped, because
// providers want an object at the top: on the wire it is {"value": <T>}, and Schema.Wrapped is set.
//
// A recursive type (a Tree with Children []Tree, a list through Next *Node) cannot be inlined; its schema keeps
// the root at the top, the other named types under "$defs", refers to itself as "#", and sets Schema.HasRefs.
//
// # Validation and provider forms
//
// Validate reports every failing leaf as "/json/pointer: message", sorted. Strict gives the form strict provider
// modes require (all properties required, optional ones nullable); Simplify drops keywords a provider rejects and
// says what it dropped, so the caller can still validate against the full schema.
package schema
