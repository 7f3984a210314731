package schema

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"unicode"

	"github.com/gowai/gowai/internal/jsonorder"
	"github.com/invopop/jsonschema"
	validator "github.com/santhosh-tekuri/jsonschema/v5"
	"golang.org/x/sync/singleflight"
)

// Schema is the JSON Schema of a Go type, with its compiled validator. Safe for concurrent use; treat it as
// read-only.
type Schema struct {
	Type reflect.Type
	// JSON is the schema to send and validate against: inlined, no $schema/$id, additionalProperties:false on
	// every struct object; with $defs only for recursive types. It is shared by every user of the cached
	// Schema: never hand it out or change it; Document returns a copy for that.
	JSON json.RawMessage
	// Wrapped reports that Type is not a struct: on the wire it is {"value": <Type>} (required,
	// additionalProperties:false), and Validate expects that wrapped document.
	Wrapped bool
	// HasRefs reports that JSON uses $ref/$defs (recursive types), which some provider modes do not accept.
	HasRefs bool

	compiled *validator.Schema
	doc      any // JSON parsed by parseOrdered, to quote allowed values in problem lines
	strict   json.RawMessage
}

// entry is a cached outcome of building a type's schema: a type that cannot be described stays an error.
type entry struct {
	s   *Schema
	err error
}

var (
	cache  sync.Map // reflect.Type -> *entry
	flight singleflight.Group
	builds atomic.Int64 // how many times build ran; tests use it to prove concurrent first calls build once
)

// For returns the cached schema of t, building and compiling it once. Pointer types are dereferenced. Interface
// types, funcs, chans, complex numbers, and maps with non-string keys are rejected with an error naming the Go
// type and the field path.
func For(t reflect.Type) (*Schema, error) {
	if t == nil {
		return nil, errors.New("schema: nil type")
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if e, ok := cache.Load(t); ok {
		e := e.(*entry)
		return e.s, e.err
	}
	// singleflight wants a string key; a type's String() is not unique across packages, its address is.
	v, _, _ := flight.Do(fmt.Sprintf("%p", t), func() (any, error) {
		// A call that finished between our Load and Do has already stored the result.
		if e, ok := cache.Load(t); ok {
			return e, nil
		}
		s, err := build(t)
		e := &entry{s, err}
		cache.Store(t, e)
		return e, nil
	})
	e := v.(*entry)
	return e.s, e.err
}

// Document returns a copy of s.JSON, for callers that pass the schema on: a caller that edits the bytes it was
// given must not change the cached schema every later call sends.
func (s *Schema) Document() json.RawMessage {
	return bytes.Clone(s.JSON)
}

// Compile compiles an arbitrary JSON Schema (e.g. hand-written tool parameters) into a Schema with Type nil.
// The schema must be self-contained: references to other documents are not loaded.
func Compile(raw json.RawMessage) (*Schema, error) {
	tree, err := jsonorder.Decode(raw)
	if err != nil {
		return nil, fmt.Errorf("schema: invalid JSON: %w", err)
	}
	hasRefs := false
	eachSchema(tree, "", func(o *jsonorder.Object, _ string) {
		for _, kw := range []string{"$ref", "$dynamicRef", "$defs", "definitions"} {
			if _, ok := o.Get(kw); ok {
				hasRefs = true
			}
		}
	})
	s, err := newSchema(tree)
	if err != nil {
		return nil, fmt.Errorf("schema: %w", err)
	}
	s.HasRefs = hasRefs
	return s, nil
}

// Describe returns the Go type's name for messages ("main.Recipe", "[]string").
func Describe(t reflect.Type) string {
	if t == nil {
		return "<nil>"
	}
	return t.String()
}

func build(t reflect.Type) (s *Schema, err error) {
	builds.Add(1)
	defer func() {
		// invopop and the type's own JSONSchema/JSONSchemaAlias methods may panic; that makes a bad type, not a
		// reason to bring the program down.
		if p := recover(); p != nil {
			s, err = nil, fmt.Errorf("schema: %s: %v", Describe(t), p)
		}
	}()
	recursive, err := inspect(t)
	if err != nil {
		return nil, err
	}
	root, wrapped, self, err := reflectType(t, recursive)
	if err != nil {
		return nil, err
	}
	data, err := json.Marshal(root)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: encode: %w", Describe(t), err)
	}
	tree, err := jsonorder.Decode(data)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: encode: %w", Describe(t), err)
	}
	if self != "" {
		// The root definition now sits at the top of the document, so references to it point at "#".
		eachSchema(tree, "", func(o *jsonorder.Object, _ string) {
			if ref, _ := o.Get("$ref"); ref == self {
				o.Set("$ref", "#")
			}
		})
	}
	s, err = newSchema(tree)
	if err != nil {
		return nil, fmt.Errorf("schema: %s: %w", Describe(t), err)
	}
	s.Type, s.Wrapped, s.HasRefs = t, wrapped, recursive
	return s, nil
}

// DocumentURL is the name NewCompiler gives the schema document; compile DocumentURL, or
// DocumentURL + "#/json/pointer" for a subschema.
const DocumentURL = "mem://schema.json"

// NewCompiler returns a compiler holding the schema document doc, set up the way every
// schema in gowai is validated: draft 2020-12, formats asserted (v5.3.1 asserts them anyway,
// measured; said explicitly because a bad email or date-time must be a problem line), and no
// loading of other documents (the default loader reads files, and a schema handed to us
// must not make us do that), and an integer written 3.0 or 3e0 refused wherever the schema
// wants an integer and not just any number (JSON Schema counts it as an integer, but
// encoding/json refuses it for an int field, so an answer that validated would not decode).
func NewCompiler(doc []byte) (*validator.Compiler, error) {
	c := validator.NewCompiler()
	c.Draft = validator.Draft2020
	c.AssertFormat = true
	c.RegisterExtension("gowai-integer-literal", nil, integerLiteral{})
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("%s: references to other documents are not loaded", u)
	}
	if err := c.AddResource(DocumentURL, bytes.NewReader(doc)); err != nil {
		return nil, err
	}
	return c, nil
}

// newSchema compiles a parsed schema tree and derives its strict form. It rewrites tree.
func newSchema(tree any) (*Schema, error) {
	data, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	c, err := NewCompiler(data)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	compiled, err := c.Compile(DocumentURL)
	if err != nil {
		return nil, fmt.Errorf("compile: %w", err)
	}
	doc, err := jsonorder.Decode(data) // kept unchanged, while tree becomes the strict form
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	strictForm(tree)
	strict, err := json.Marshal(tree)
	if err != nil {
		return nil, fmt.Errorf("encode: %w", err)
	}
	return &Schema{JSON: data, compiled: compiled, doc: doc, strict: strict}, nil
}

// reflectType turns t into a schema document. For a recursive struct it returns the "$ref" that pointed at the
// root's own definition before that definition was moved to the top.
func reflectType(t reflect.Type, recursive bool) (doc *jsonschema.Schema, wrapped bool, self string, err error) {
	n := &namer{names: map[reflect.Type]string{}, taken: map[string]bool{}}
	// DoNotReference on a recursive type overflows the stack (fatal), hence references only when inspect found
	// recursion; ExpandedStruct with references leaves dangling refs to the root, so it is off then too.
	r := &jsonschema.Reflector{DoNotReference: !recursive, ExpandedStruct: !recursive, Anonymous: true, Namer: n.name,
		Mapper: mapType}
	doc = r.ReflectFromType(t)
	doc.Version = ""
	defs := doc.Definitions
	doc.Definitions = nil
	if err := setConsts(t, rootPath(t), doc, defs, map[*jsonschema.Schema]bool{}); err != nil {
		return nil, false, "", err
	}
	if name, ok := strings.CutPrefix(doc.Ref, "#/$defs/"); ok && t.Kind() == reflect.Struct && defs[name] != nil &&
		defs[name].Type == "object" {
		self = doc.Ref
		doc = defs[name]
		delete(defs, name)
	}
	if t.Kind() != reflect.Struct || doc.Type != "object" {
		props := jsonschema.NewProperties()
		props.Set("value", doc)
		doc = &jsonschema.Schema{Type: "object", Properties: props, Required: []string{"value"},
			AdditionalProperties: jsonschema.FalseSchema}
		wrapped = true
	}
	if recursive {
		doc.Definitions = defs
	}
	return doc, wrapped, self, nil
}

// walker visits a type the way invopop will reflect it, before it does.
type walker struct {
	state     map[reflect.Type]int // 1 while its fields are being visited, 2 when done
	recursive bool
}

// inspect rejects what JSON cannot carry and reports whether a type is reachable from itself, which invopop's
// inline mode cannot survive.
func inspect(t reflect.Type) (recursive bool, err error) {
	w := &walker{state: map[reflect.Type]int{}}
	err = w.walk(t, rootPath(t))
	return w.recursive, err
}

func (w *walker) walk(t reflect.Type, path string) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch w.state[t] {
	case 1:
		w.recursive = true
		return nil
	case 2:
		return nil
	}
	w.state[t] = 1
	defer func() { w.state[t] = 2 }()

	switch t.Kind() {
	case reflect.Interface, reflect.Func, reflect.Chan, reflect.Complex64, reflect.Complex128,
		reflect.Uintptr, reflect.UnsafePointer:
		return fmt.Errorf("schema: %s: %s is not representable in JSON Schema", path, t)
	}
	if t.Implements(aliasType) {
		alias := reflect.TypeOf(reflect.New(t).Interface().(aliaser).JSONSchemaAlias())
		for alias != nil && alias.Kind() == reflect.Pointer {
			alias = alias.Elem()
		}
		if alias == nil || alias.Implements(aliasType) {
			return fmt.Errorf("schema: %s: %s.JSONSchemaAlias must return a value of a type without its own alias", path, t)
		}
		return w.walk(alias, path)
	}
	if _, err := classify(t); err != nil {
		return fmt.Errorf("schema: %s: %w", path, err)
	}
	if opaque(t) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		fs, err := fields(t)
		if err != nil {
			return fmt.Errorf("schema: %s: %w", path, err)
		}
		for _, f := range fs {
			if err := w.walk(f.Type, path+"."+f.Name); err != nil {
				return err
			}
		}
	case reflect.Slice, reflect.Array:
		return w.walk(t.Elem(), path+"[]")
	case reflect.Map:
		if t.Key().Kind() != reflect.String {
			return fmt.Errorf("schema: %s: %s is not representable in JSON Schema: JSON object keys are strings", path, t)
		}
		return w.walk(t.Elem(), path+"[key]")
	}
	return nil
}

// rootPath names the top of a field path: the type's own name, or its full spelling when it has none.
func rootPath(t reflect.Type) string {
	if t.Name() != "" {
		return t.Name()
	}
	return "(" + t.String() + ")"
}

// field is a struct field that becomes a property, with its JSON name.
type field struct {
	name string
	reflect.StructField
}

// fields lists the fields of struct t that invopop turns into properties, flattening embedded structs into their
// parent as encoding/json does. A struct that embeds itself is an error: invopop would recurse forever.
func fields(t reflect.Type) ([]field, error) {
	var out []field
	var add func(t reflect.Type, outer []reflect.Type) error
	add = func(t reflect.Type, outer []reflect.Type) error {
		for t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct {
			return nil
		}
		if slices.Contains(outer, t) {
			return fmt.Errorf("%s embeds itself", t)
		}
		outer = append(outer, t)
		for i := range t.NumField() {
			f := t.Field(i)
			jsonTag := strings.Split(f.Tag.Get("json"), ",")
			if jsonTag[0] == "-" || strings.Split(f.Tag.Get("jsonschema"), ",")[0] == "-" {
				continue
			}
			embedded := f.Anonymous && jsonTag[0] == "" && (f.Type.Kind() == reflect.Struct ||
				f.Type.Kind() == reflect.Pointer && f.Type.Elem().Kind() == reflect.Struct)
			if embedded || slices.Contains(jsonTag[1:], "inline") {
				if err := add(f.Type, outer); err != nil {
					return err
				}
				continue
			}
			if f.Anonymous || f.IsExported() {
				out = append(out, field{cmp.Or(jsonTag[0], f.Name), f})
			}
		}
		return nil
	}
	return out, add(t, nil)
}

// setConsts applies `jsonschema:"const=v"` tags, which invopop v0.14.0 does not read, by walking the Go type and
// its schema together. The value takes the property's JSON type, so const=3 on an int is the number 3. On the
// way it makes the property of every pointer field nullable (anyOf:[T, {"type":"null"}]).
func setConsts(t reflect.Type, path string, s *jsonschema.Schema, defs jsonschema.Definitions, seen map[*jsonschema.Schema]bool) error {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if s != nil {
		if name, ok := strings.CutPrefix(s.Ref, "#/$defs/"); ok {
			s = defs[name]
		}
	}
	if s == nil || seen[s] || t.Kind() == reflect.Interface || opaque(t) {
		return nil
	}
	seen[s] = true
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return setConsts(t.Elem(), path+"[]", s.Items, defs, seen)
	case reflect.Map:
		return setConsts(t.Elem(), path+"[key]", s.AdditionalProperties, defs, seen)
	case reflect.Struct:
		if s.Properties == nil {
			return nil
		}
		fs, _ := fields(t) // inspect has accepted t
		for _, f := range fs {
			prop, ok := s.Properties.Get(f.name)
			if !ok {
				continue
			}
			p, nullable := prop, false
			if p.Type == "" && len(p.OneOf) == 2 && p.OneOf[1].Type == "null" { // `jsonschema:"nullable"`
				p, nullable = p.OneOf[0], true
			}
			if f.Type.Kind() == reflect.Pointer && !nullable {
				// encoding/json decodes null into a nil pointer, so null is a valid answer for a pointer field,
				// required or not; invopop describes only the pointed-to type.
				s.Properties.Set(f.name, &jsonschema.Schema{AnyOf: []*jsonschema.Schema{prop, {Type: "null"}}})
			}
			fpath := path + "." + f.Name
			if err := quotedScalar(f, p); err != nil {
				return fmt.Errorf("schema: %s: %w", fpath, err)
			}
			if v, ok := tagValue(f.Tag.Get("jsonschema"), "const"); ok {
				c, err := typedConst(p.Type, v)
				if err != nil {
					return fmt.Errorf("schema: %s: const=%s: %w", fpath, v, err)
				}
				p.Const = c
			}
			if err := setConsts(f.Type, fpath, p, defs, seen); err != nil {
				return err
			}
		}
	}
	return nil
}

// quotedScalar describes a field with the json ",string" option, which encoding/json decodes from a string
// holding the number or boolean literal: invopop makes the property a string, and this says which strings.
func quotedScalar(f field, p *jsonschema.Schema) error {
	if !slices.Contains(strings.Split(f.Tag.Get("json"), ",")[1:], "string") {
		return nil
	}
	t := f.Type
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		p.Pattern = `^-?(0|[1-9][0-9]*)$`
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		p.Pattern = `^(0|[1-9][0-9]*)$`
	case reflect.Float32, reflect.Float64:
		p.Pattern = `^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`
	case reflect.Bool:
		p.Enum = []any{"true", "false"}
	case reflect.String:
		return errors.New(`the json ",string" option on a string field wants a JSON string quoted inside the string, which a model will not write: drop the option`)
	default:
		return nil
	}
	if p.Type == "string" {
		p.Minimum, p.Maximum = "", "" // bounds of the number do not apply to the string
	}
	return nil
}

// tagValue returns v from key=v in a jsonschema struct tag, where `\,` is a literal comma as in invopop.
func tagValue(tag, key string) (string, bool) {
	parts := strings.Split(tag, ",")
	for i := 0; i < len(parts); i++ {
		p := parts[i]
		for strings.HasSuffix(p, `\`) && i+1 < len(parts) {
			i++
			p = p[:len(p)-1] + "," + parts[i]
		}
		if v, ok := strings.CutPrefix(p, key+"="); ok {
			return v, true
		}
	}
	return "", false
}

func typedConst(typ, v string) (any, error) {
	switch typ {
	case "integer":
		if _, err := strconv.ParseInt(v, 10, 64); err != nil {
			return nil, errors.New("not an integer")
		}
		return json.Number(v), nil
	case "number":
		var f float64
		if err := json.Unmarshal([]byte(v), &f); err != nil {
			return nil, errors.New("not a JSON number")
		}
		return json.Number(v), nil
	case "boolean":
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, errors.New("not a boolean")
		}
		return b, nil
	}
	return v, nil
}

// namer gives each named Go type a distinct $defs key that is safe inside a JSON pointer: invopop keys
// definitions by the bare type name, so a.Item and b.Item would collide, and generic names such as
// List[example.com/pkg.T] contain '/'.
type namer struct {
	names map[reflect.Type]string
	taken map[string]bool
}

func (n *namer) name(t reflect.Type) string {
	if t.Name() == "" {
		return ""
	}
	if name, ok := n.names[t]; ok {
		return name
	}
	base := strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '-' || r == '.' {
			return r
		}
		return '_'
	}, t.Name())
	name := base
	for i := 2; n.taken[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	n.names[t], n.taken[name] = name, true
	return name
}
