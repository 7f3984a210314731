package llmtest

import (
	"bytes"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/url"
	"regexp"
	"regexp/syntax"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/gowai/gowai/internal/jsonorder"
	libschema "github.com/gowai/gowai/internal/schema"
	"github.com/santhosh-tekuri/jsonschema/v5"
)

// Example returns a JSON value that validates against schema, a JSON Schema document. It
// covers the subset invopop/jsonschema produces and a little more: type (including type
// arrays such as ["string","null"]), properties, required, additionalProperties, items,
// prefixItems, enum, const, default, examples, minimum, maximum, exclusiveMinimum,
// exclusiveMaximum, multipleOf, minLength, maxLength, pattern, format (date-time, date,
// time, duration, email, hostname, ipv4, ipv6, uri, uri-reference, uuid, json-pointer,
// regex, ...), minItems, maxItems, uniqueItems, minProperties, maxProperties, anyOf and
// oneOf (the first branch that yields a valid value, null branches last), allOf (merged),
// and local $ref into the same document ($defs, definitions, any JSON pointer).
// Keywords outside that list (not, if/then/else, contains, patternProperties,
// dependentSchemas, unevaluated*) are not taken into account.
//
// Each value is, in order of preference: an entry of examples, default, const, an entry of
// enum, or a value built from the type and its bounds. Candidates the schema itself offers
// are checked against the schema they sit in, and skipped when they do not validate: an
// example is documentation and can be stale. Objects get every property, optional ones
// included, in the order the schema lists them, then any other required names sorted.
// Recursive definitions are expanded twice along a path, then cut off by omitting an
// optional property or leaving an array empty. An empty schema, or true, gives "example".
//
// Example is deterministic: the same schema always gives the same bytes. It returns an
// error when the schema is not valid JSON Schema, uses a $ref outside the document, or
// admits no value it can build.
func Example(schema json.RawMessage) (json.RawMessage, error) { return example(schema, nil) }

// example is Example, with values taken from h when h is not nil (see TestModel).
func example(schema json.RawMessage, h *requestHint) (json.RawMessage, error) {
	g, root, err := newGenerator(schema)
	if err != nil {
		return nil, fmt.Errorf("llmtest: example: %w", err)
	}
	if h != nil {
		h.parse()
	}
	g.hint = h
	v, err := g.value(root, 0)
	if errors.Is(err, errCut) {
		return nil, errors.New("llmtest: example: the schema's recursion has no finite instance")
	}
	if err != nil {
		return nil, fmt.Errorf("llmtest: example: %w", err)
	}
	out, err := jsonorder.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("llmtest: example: %w", err)
	}
	return out, nil
}

const (
	// refDepth is how many times one $ref may be expanded along a path: twice shows a
	// nested level of a recursive type (a node and its child) before the cut.
	refDepth = 2
	// valueBudget bounds the work for schemas whose expansion grows exponentially.
	valueBudget = 100_000
	// maxStringRunes bounds the strings Example builds, maxCount its arrays and objects.
	maxStringRunes = 10_000
	maxCount       = 10_000
	// maxUniqueTries bounds the search for an item unlike the ones before it.
	maxUniqueTries = 1_000
)

var (
	// errCut reports that a value could not be built because recursion was cut off; an
	// optional property or a non-mandatory array item absorbs it.
	errCut = errors.New("recursion cut off")
	// errExhausted reports that a schema has no further distinct value (uniqueItems).
	errExhausted = errors.New("no further distinct value")
)

// schema is one schema object, parsed. Subschemas are merged by conjunction (allOf), so
// every field holds a constraint that the value must meet.
type schema struct {
	ptrs  []string // JSON pointers of the schema objects merged into this one
	never bool     // the schema false
	types []string // nil: any type; empty: no type satisfies every part
	ref   string
	allOf []*schema
	anyOf [][]*schema // one group per anyOf or oneOf

	props      []property
	required   []string
	additional *schema // nil: absent
	items      *schema
	prefix     []*schema
	minProps   int
	maxProps   int // -1: unbounded

	examples []any
	def      any
	hasDef   bool
	konst    any
	hasConst bool
	enum     []any
	hasEnum  bool

	min, max, exMin, exMax, multipleOf *big.Rat

	minLen, maxLen     int // maxLen -1: unbounded
	patterns           []pattern
	format             string
	minItems, maxItems int // maxItems -1: unbounded
	unique             bool
}

type property struct {
	name string
	s    *schema
}

type pattern struct {
	re   *regexp.Regexp
	tree *syntax.Regexp
}

func newSchema() *schema { return &schema{maxProps: -1, maxLen: -1, maxItems: -1} }

// both returns a schema requiring x and y, either of which may be nil.
func both(x, y *schema) *schema {
	if x == nil {
		return y
	}
	if y == nil {
		return x
	}
	s := newSchema()
	s.allOf = []*schema{x, y}
	return s
}

// generator builds values for one document.
type generator struct {
	doc      any
	compiler *jsonschema.Compiler
	compiled map[string]*jsonschema.Schema
	refs     map[string]*schema
	active   map[string]int // expansions of each $ref on the current path
	budget   int

	hint *requestHint // nil for Example: values come from the schema alone
	path []string     // property names and array indexes down to the value being built
}

func newGenerator(raw json.RawMessage) (*generator, *schema, error) {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil, nil, errors.New("empty schema")
	}
	doc, err := jsonorder.Decode(raw)
	if err != nil {
		return nil, nil, fmt.Errorf("schema is not JSON: %w", err)
	}
	g := &generator{
		doc:      doc,
		compiled: map[string]*jsonschema.Schema{},
		refs:     map[string]*schema{},
		active:   map[string]int{},
		budget:   valueBudget,
	}
	// Parse first: its error for a bad pattern is plainer than the validator's.
	root, err := g.parse(doc, "")
	if err != nil {
		return nil, nil, err
	}
	// Compiled as the library compiles schemas, so an answer is valid exactly when
	// structured output would accept it; only the refusal of remote $refs is worded for
	// Example's callers.
	c, err := libschema.NewCompiler(raw)
	if err != nil {
		return nil, nil, err
	}
	c.LoadURL = func(u string) (io.ReadCloser, error) {
		return nil, fmt.Errorf("only references inside the schema are followed, not %s", u)
	}
	g.compiler = c
	if _, err := g.validator(""); err != nil {
		return nil, nil, err
	}
	return g, root, nil
}

// validator returns the compiled subschema at the JSON pointer ptr.
func (g *generator) validator(ptr string) (*jsonschema.Schema, error) {
	if s, ok := g.compiled[ptr]; ok {
		return s, nil
	}
	tokens := strings.Split(ptr, "/")
	for i := range tokens {
		tokens[i] = url.PathEscape(tokens[i])
	}
	s, err := g.compiler.Compile(libschema.DocumentURL + "#" + strings.Join(tokens, "/"))
	if err != nil {
		return nil, err
	}
	g.compiled[ptr] = s
	return s, nil
}

// valid reports whether v validates against every schema object merged into s.
func (g *generator) valid(s *schema, v any) bool {
	plain := toPlain(v)
	for _, p := range s.ptrs {
		sch, err := g.validator(p)
		if err != nil || sch.Validate(plain) != nil {
			return false
		}
	}
	return true
}

// parse reads the schema at ptr. $defs are read only when a $ref reaches them.
func (g *generator) parse(v any, ptr string) (*schema, error) {
	s := newSchema()
	s.ptrs = []string{ptr}
	switch v := v.(type) {
	case bool:
		s.never = !v
		return s, nil
	case *jsonorder.Object:
		return s, g.parseObject(s, v, ptr)
	}
	return nil, fmt.Errorf("%s: a schema must be an object or a boolean", where(ptr))
}

func (g *generator) parseObject(s *schema, o *jsonorder.Object, ptr string) error {
	sub := func(key string, v any) (*schema, error) { return g.parse(v, ptr+"/"+escapeToken(key)) }
	subs := func(key string) ([]*schema, error) {
		v, _ := o.Get(key)
		list, _ := v.([]any)
		var out []*schema
		for i, v := range list {
			c, err := g.parse(v, ptr+"/"+key+"/"+strconv.Itoa(i))
			if err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, nil
	}
	var err error
	for key, v := range o.All() {
		switch key {
		case "type":
			switch t := v.(type) {
			case string:
				s.types = []string{t}
			case []any:
				s.types = []string{}
				for _, e := range t {
					if name, ok := e.(string); ok {
						s.types = append(s.types, name)
					}
				}
			}
		case "$ref":
			s.ref, _ = v.(string)
		case "allOf":
			s.allOf, err = subs(key)
		case "anyOf", "oneOf":
			var group []*schema
			if group, err = subs(key); err == nil {
				s.anyOf = append(s.anyOf, group)
			}
		case "properties":
			props, _ := v.(*jsonorder.Object)
			if props == nil {
				break
			}
			for name, pv := range props.All() {
				var p *schema
				if p, err = g.parse(pv, ptr+"/properties/"+escapeToken(name)); err != nil {
					break
				}
				s.props = append(s.props, property{name, p})
			}
		case "required":
			list, _ := v.([]any)
			for _, e := range list {
				if name, ok := e.(string); ok {
					s.required = append(s.required, name)
				}
			}
		case "additionalProperties":
			s.additional, err = sub(key, v)
		case "items":
			if _, isList := v.([]any); isList { // draft-07 tuple form
				s.prefix, err = subs(key)
			} else {
				s.items, err = sub(key, v)
			}
		case "additionalItems":
			items, _ := o.Get("items")
			if _, isList := items.([]any); isList {
				s.items, err = sub(key, v)
			}
		case "prefixItems":
			s.prefix, err = subs(key)
		case "examples":
			s.examples, _ = v.([]any)
		case "default":
			s.def, s.hasDef = v, true
		case "const":
			s.konst, s.hasConst = v, true
		case "enum":
			s.enum, _ = v.([]any)
			s.hasEnum = true
		case "minimum":
			s.min = ratOf(v)
		case "maximum":
			s.max = ratOf(v)
		case "exclusiveMinimum":
			s.exMin = ratOf(v)
		case "exclusiveMaximum":
			s.exMax = ratOf(v)
		case "multipleOf":
			if m := ratOf(v); m != nil && m.Sign() > 0 {
				s.multipleOf = m
			}
		case "minLength":
			s.minLen = intOf(v, 0)
		case "maxLength":
			s.maxLen = intOf(v, -1)
		case "minItems":
			s.minItems = intOf(v, 0)
		case "maxItems":
			s.maxItems = intOf(v, -1)
		case "minProperties":
			s.minProps = intOf(v, 0)
		case "maxProperties":
			s.maxProps = intOf(v, -1)
		case "uniqueItems":
			s.unique, _ = v.(bool)
		case "format":
			s.format, _ = v.(string)
		case "pattern":
			text, _ := v.(string)
			re, err := regexp.Compile(text)
			if err != nil {
				return fmt.Errorf("%s: pattern %q: %w", where(ptr), text, err)
			}
			tree, _ := syntax.Parse(text, syntax.Perl) // it compiled, so it parses
			s.patterns = append(s.patterns, pattern{re, tree})
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// resolve returns the schema a local $ref points to.
func (g *generator) resolve(ref string) (*schema, error) {
	if s, ok := g.refs[ref]; ok {
		return s, nil
	}
	frag, ok := strings.CutPrefix(ref, "#")
	if !ok || (frag != "" && !strings.HasPrefix(frag, "/")) {
		return nil, fmt.Errorf("$ref %q: only JSON pointers inside the schema (#/...) are supported", ref)
	}
	v := g.doc
	ptr := ""
	if frag != "" {
		for _, tok := range strings.Split(frag[1:], "/") {
			tok, err := url.PathUnescape(tok)
			if err != nil {
				return nil, fmt.Errorf("$ref %q: %w", ref, err)
			}
			tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
			switch c := v.(type) {
			case *jsonorder.Object:
				v, ok = c.Get(tok)
			case []any:
				i, err := strconv.Atoi(tok)
				ok = err == nil && i >= 0 && i < len(c)
				if ok {
					v = c[i]
				}
			default:
				ok = false
			}
			if !ok {
				return nil, fmt.Errorf("$ref %q points to nothing", ref)
			}
			ptr += "/" + escapeToken(tok)
		}
	}
	s, err := g.parse(v, ptr)
	if err != nil {
		return nil, err
	}
	g.refs[ref] = s
	return s, nil
}

// flatten merges s with its $ref and allOf parts, recursively, into one schema without
// either. It returns the refs it entered, for leave.
func (g *generator) flatten(s *schema) (*schema, []string, error) {
	out := newSchema()
	var entered []string
	var walk func(*schema) error
	walk = func(s *schema) error {
		out.absorb(s)
		if s.ref != "" && !slices.Contains(entered, s.ref) {
			if g.active[s.ref] >= refDepth {
				return errCut
			}
			g.active[s.ref]++
			entered = append(entered, s.ref)
			target, err := g.resolve(s.ref)
			if err != nil {
				return err
			}
			if err := walk(target); err != nil {
				return err
			}
		}
		for _, part := range s.allOf {
			if err := walk(part); err != nil {
				return err
			}
		}
		return nil
	}
	err := walk(s)
	return out, entered, err
}

func (g *generator) leave(refs []string) {
	for _, r := range refs {
		g.active[r]--
	}
}

// absorb adds b's constraints (except $ref and allOf, which flatten follows) to s.
func (s *schema) absorb(b *schema) {
	s.ptrs = append(s.ptrs, b.ptrs...)
	s.never = s.never || b.never
	switch {
	case s.types == nil:
		s.types = b.types
	case b.types != nil:
		var common []string
		for _, t := range s.types {
			switch {
			case slices.Contains(b.types, t):
				common = append(common, t)
			case t == "number" && slices.Contains(b.types, "integer"):
				common = append(common, "integer")
			case t == "integer" && slices.Contains(b.types, "number"):
				common = append(common, "integer")
			}
		}
		s.types = append([]string{}, common...)
	}
	s.anyOf = append(s.anyOf, b.anyOf...)
	for _, p := range b.props {
		if i := slices.IndexFunc(s.props, func(q property) bool { return q.name == p.name }); i >= 0 {
			s.props[i].s = both(s.props[i].s, p.s)
		} else {
			s.props = append(s.props, p)
		}
	}
	for _, r := range b.required {
		if !slices.Contains(s.required, r) {
			s.required = append(s.required, r)
		}
	}
	s.additional = both(s.additional, b.additional)
	s.items = both(s.items, b.items)
	for i, p := range b.prefix {
		if i < len(s.prefix) {
			s.prefix[i] = both(s.prefix[i], p)
		} else {
			s.prefix = append(s.prefix, p)
		}
	}
	s.examples = append(s.examples, b.examples...)
	if !s.hasDef && b.hasDef {
		s.def, s.hasDef = b.def, true
	}
	if !s.hasConst && b.hasConst {
		s.konst, s.hasConst = b.konst, true
	}
	switch {
	case b.hasEnum && !s.hasEnum:
		s.enum, s.hasEnum = b.enum, true
	case b.hasEnum:
		s.enum = slices.DeleteFunc(slices.Clone(s.enum), func(v any) bool {
			return !slices.ContainsFunc(b.enum, func(w any) bool { return canonical(v) == canonical(w) })
		})
	}
	s.min = tighter(s.min, b.min, 1)
	s.exMin = tighter(s.exMin, b.exMin, 1)
	s.max = tighter(s.max, b.max, -1)
	s.exMax = tighter(s.exMax, b.exMax, -1)
	if b.multipleOf != nil {
		if s.multipleOf == nil {
			s.multipleOf = b.multipleOf
		} else {
			s.multipleOf = lcmRat(s.multipleOf, b.multipleOf)
		}
	}
	s.minLen = max(s.minLen, b.minLen)
	s.maxLen = minLimit(s.maxLen, b.maxLen)
	s.minItems = max(s.minItems, b.minItems)
	s.maxItems = minLimit(s.maxItems, b.maxItems)
	s.minProps = max(s.minProps, b.minProps)
	s.maxProps = minLimit(s.maxProps, b.maxProps)
	s.patterns = append(s.patterns, b.patterns...)
	if s.format == "" {
		s.format = b.format
	}
	s.unique = s.unique || b.unique
}

// value builds the k-th value for s: k 0 is the preferred one, higher k give other
// values, for uniqueItems.
func (g *generator) value(s *schema, k int) (any, error) {
	if g.budget--; g.budget < 0 {
		return nil, fmt.Errorf("the schema expands to more than %d values", valueBudget)
	}
	f, entered, err := g.flatten(s)
	defer g.leave(entered)
	if err != nil {
		return nil, err
	}
	if f.never {
		return nil, errors.New("the schema false admits no value")
	}
	var offered []any
	if g.hint != nil {
		offered = g.fromRequest(f)
	} else {
		offered = g.offered(f)
	}
	if k < len(offered) {
		return offered[k], nil
	}
	k -= len(offered)
	if f.hasConst || f.hasEnum {
		if len(offered) == 0 {
			return nil, errors.New("no const or enum value validates against the schema")
		}
		return nil, errExhausted
	}
	if len(f.anyOf) > 0 {
		return g.choose(f, k)
	}
	return g.build(f, k)
}

// valueAt is value for the property or array index name of the value being built.
func (g *generator) valueAt(name string, s *schema, k int) (any, error) {
	g.path = append(g.path, name)
	defer func() { g.path = g.path[:len(g.path)-1] }()
	return g.value(s, k)
}

// offered returns the values the schema names itself (examples, default, const, enum), in
// order of preference, without repeats or those that do not validate.
func (g *generator) offered(s *schema) []any {
	var all []any
	all = append(all, s.examples...)
	if s.hasDef {
		all = append(all, s.def)
	}
	if s.hasConst {
		all = append(all, s.konst)
	}
	all = append(all, s.enum...)
	return g.distinctValid(s, all)
}

// choose builds a value from the first branch of s's first anyOf/oneOf group that gives a
// valid one, trying null branches last. The result is checked against the whole schema,
// which also catches a oneOf value that more than one branch accepts.
func (g *generator) choose(s *schema, k int) (any, error) {
	group := s.anyOf[0]
	rest := *s
	rest.anyOf = s.anyOf[1:]
	rest.examples, rest.def, rest.hasDef = nil, nil, false // already offered
	branches := slices.Clone(group)
	slices.SortStableFunc(branches, func(a, b *schema) int { return boolCmp(isNull(a), isNull(b)) })
	var firstErr error
	cut := false
	for i, b := range branches {
		m := rest
		m.allOf = []*schema{b}
		v, err := g.value(&m, k)
		if err == nil && !g.valid(s, v) {
			err = fmt.Errorf("the value built from branch %d does not validate", i)
		}
		if err == nil {
			return v, nil
		}
		cut = cut || errors.Is(err, errCut)
		if firstErr == nil {
			firstErr = err
		}
	}
	if cut {
		return nil, errCut
	}
	if firstErr == nil {
		firstErr = errors.New("anyOf/oneOf has no branches")
	}
	return nil, firstErr
}

func isNull(s *schema) bool {
	return (len(s.types) == 1 && s.types[0] == "null") || (s.hasConst && s.konst == nil)
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// build makes a value from the type and its bounds, trying each allowed type in order and
// null last.
func (g *generator) build(s *schema, k int) (any, error) {
	types := s.types
	if types == nil {
		types = []string{inferType(s)}
	}
	if len(types) == 0 {
		return nil, errors.New("no type satisfies every part of the schema")
	}
	var firstErr error
	for _, t := range types {
		if t == "null" {
			continue
		}
		v, err := g.buildVaried(s, t, k)
		if err == nil {
			return v, nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if slices.Contains(types, "null") {
		if k == 0 {
			return nil, nil
		}
		if firstErr == nil {
			return nil, errExhausted
		}
	}
	return nil, firstErr
}

// inferType picks a type for a schema that names none, from the keywords it uses.
func inferType(s *schema) string {
	switch {
	case len(s.props) > 0 || len(s.required) > 0 || s.additional != nil || s.minProps > 0 || s.maxProps >= 0:
		return "object"
	case s.items != nil || len(s.prefix) > 0 || s.minItems > 0 || s.maxItems >= 0 || s.unique:
		return "array"
	case s.min != nil || s.max != nil || s.exMin != nil || s.exMax != nil || s.multipleOf != nil:
		return "number"
	}
	return "string"
}

func (g *generator) buildType(s *schema, t string, k int) (any, error) {
	switch t {
	case "boolean":
		if k > 1 {
			return nil, errExhausted
		}
		return k == 0, nil
	case "integer", "number":
		return buildNumber(s, t == "integer", k)
	case "string":
		return buildString(s, k)
	case "array":
		return g.buildArray(s, k)
	case "object":
		return g.buildObject(s, k)
	}
	return nil, fmt.Errorf("unknown type %q", t)
}

// buildNumber returns the k-th allowed number nearest 1: integers (multiples of
// multipleOf) first, and for a number range holding no integer, points inside it.
func buildNumber(s *schema, integer bool, k int) (any, error) {
	lo, loEx := lowerBound(s)
	hi, hiEx := upperBound(s)
	in := func(x *big.Rat) bool {
		if lo != nil {
			if c := x.Cmp(lo); c < 0 || (c == 0 && loEx) {
				return false
			}
		}
		if hi != nil {
			if c := x.Cmp(hi); c > 0 || (c == 0 && hiEx) {
				return false
			}
		}
		return true
	}
	step := big.NewRat(1, 1)
	if s.multipleOf != nil {
		step = s.multipleOf
		if integer { // the smallest integer multiple of p/q (reduced) is p
			step = new(big.Rat).SetInt(s.multipleOf.Num())
		}
	}
	// Start at the multiple nearest 1 that the bounds allow.
	one := big.NewRat(1, 1)
	var j0 *big.Int
	switch {
	case !in(one) && lo != nil && one.Cmp(lo) <= 0:
		j0 = ceilRat(new(big.Rat).Quo(lo, step))
	case !in(one) && hi != nil:
		j0 = floorRat(new(big.Rat).Quo(hi, step))
	default:
		j0 = ceilRat(new(big.Rat).Quo(one, step))
	}
	count := 0
	upDone, downDone := false, false
	for d := int64(0); !upDone || !downDone; d++ {
		for _, sign := range []int64{1, -1} {
			if d == 0 && sign < 0 {
				continue
			}
			j := new(big.Int).Add(j0, big.NewInt(sign*d))
			x := new(big.Rat).Mul(new(big.Rat).SetInt(j), step)
			switch {
			case in(x):
				if count == k {
					return json.Number(ratText(x)), nil
				}
				count++
			case sign > 0 && hi != nil && x.Cmp(hi) >= 0:
				upDone = true
			case sign < 0 && lo != nil && x.Cmp(lo) <= 0:
				downDone = true
			}
		}
		if d == 0 && lo != nil && hi != nil && lo.Cmp(hi) > 0 {
			break
		}
		if d > 1_000_000 { // j0 lies far outside a range that holds no multiple
			break
		}
	}
	if count > 0 {
		return nil, errExhausted
	}
	if !integer && s.multipleOf == nil && lo != nil && hi != nil {
		// A range like (0, 1) holds no integer: take points between the bounds.
		x := new(big.Rat).Sub(hi, lo)
		x.Mul(x, big.NewRat(int64(k+1), int64(k+2)))
		x.Add(x, lo)
		if in(x) {
			return json.Number(ratText(x)), nil
		}
	}
	kind := "number"
	if integer {
		kind = "integer"
	}
	return nil, fmt.Errorf("no %s fits between %s and %s with multipleOf %s", kind, ratTextOr(lo, "-inf"), ratTextOr(hi, "+inf"), ratText(step))
}

func lowerBound(s *schema) (*big.Rat, bool) {
	if s.exMin != nil && (s.min == nil || s.exMin.Cmp(s.min) >= 0) {
		return s.exMin, true
	}
	return s.min, false
}

func upperBound(s *schema) (*big.Rat, bool) {
	if s.exMax != nil && (s.max == nil || s.exMax.Cmp(s.max) <= 0) {
		return s.exMax, true
	}
	return s.max, false
}

// buildString tries, in order, a value of the format, the word "example", strings
// generated from the pattern with growing repetition counts, and "", taking the k-th
// variant of the first that meets every constraint.
func buildString(s *schema, k int) (any, error) {
	if s.minLen > maxStringRunes {
		return nil, fmt.Errorf("minLength %d is more than Example builds (%d)", s.minLen, maxStringRunes)
	}
	check := jsonschema.Formats[s.format]
	ok := func(v string) bool {
		n := utf8.RuneCountInString(v)
		if n < s.minLen || (s.maxLen >= 0 && n > s.maxLen) {
			return false
		}
		for _, p := range s.patterns {
			if !p.re.MatchString(v) {
				return false
			}
		}
		return check == nil || check(v)
	}
	if v, found := formatString(s.format, k, s.minLen); found && ok(v) {
		return v, nil
	}
	if v, found := plainString(k, s.minLen, s.maxLen); found && ok(v) {
		return v, nil
	}
	if len(s.patterns) > 0 {
		// Few repetitions read best; more may be needed to reach minLength.
		reps := []int{1, 0}
		for r := 2; r <= 16; r++ {
			reps = append(reps, r)
		}
		for r := 32; r < s.minLen; r *= 2 {
			reps = append(reps, r)
		}
		reps = append(reps, s.minLen, s.minLen+1)
		for _, r := range reps {
			if v, found := patternString(s.patterns[0].tree, k, r); found && ok(v) {
				return v, nil
			}
		}
	}
	if k == 0 && ok("") {
		return "", nil
	}
	if k > 0 {
		return nil, errExhausted
	}
	var what []string
	if s.minLen > 0 {
		what = append(what, "minLength "+strconv.Itoa(s.minLen))
	}
	if s.maxLen >= 0 {
		what = append(what, "maxLength "+strconv.Itoa(s.maxLen))
	}
	for _, p := range s.patterns {
		what = append(what, "pattern "+strconv.Quote(p.re.String()))
	}
	if s.format != "" {
		what = append(what, "format "+strconv.Quote(s.format))
	}
	return nil, fmt.Errorf("cannot build a string with %s", strings.Join(what, ", "))
}

// plainString returns "example" stretched to minLength and cut to maxLength; variant k > 0
// gets a "-<k+1>" suffix, or its last letters replaced when the length is capped.
func plainString(k, minLen, maxLen int) (string, bool) {
	const word = "example"
	r := []rune(strings.Repeat(word, minLen/len(word)+1))
	r = r[:max(len(word), minLen)]
	if maxLen >= 0 && len(r) > maxLen {
		r = r[:maxLen]
	}
	if k == 0 {
		return string(r), true
	}
	if suffix := "-" + strconv.Itoa(k+1); maxLen < 0 || len(r)+len(suffix) <= maxLen {
		return string(r) + suffix, true
	}
	tail := letters(k)
	if len(tail) > len(r) {
		return "", false
	}
	return string(r[:len(r)-len(tail)]) + tail, true
}

// letters writes k in base 26 with the digits a to z.
func letters(k int) string {
	var b []byte
	for {
		b = append(b, byte('a'+k%26))
		k /= 26
		if k == 0 {
			break
		}
	}
	slices.Reverse(b)
	return string(b)
}

// formatString returns the k-th sample of a format, padded to minLen where the format has
// room for padding. found is false for formats it does not know.
func formatString(format string, k, minLen int) (v string, found bool) {
	day := time.Date(2024, 1, 15, 9, 30, 0, 0, time.UTC).AddDate(0, 0, k)
	n := strconv.Itoa(k + 1)
	if k == 0 {
		n = ""
	}
	var head, tail string
	pad := true
	switch format {
	case "date-time":
		head, pad = day.Format(time.RFC3339), false
	case "date":
		head, pad = day.Format(time.DateOnly), false
	case "time":
		head, pad = day.Add(time.Duration(k)*time.Minute).Format("15:04:05Z07:00"), false
	case "duration":
		head, pad = "P"+strconv.Itoa(k+1)+"D", false
	case "email", "idn-email":
		head, tail = "user"+n, "@example.com"
	case "hostname", "idn-hostname":
		head, tail = "example"+n, ".com"
	case "ipv4":
		head, pad = fmt.Sprintf("192.0.%d.%d", 2+k/250, 1+k%250), false
	case "ipv6":
		head, pad = fmt.Sprintf("2001:db8::%x", k+1), false
	case "uri", "iri":
		head = "https://example.com/" + n
	case "uri-reference", "iri-reference":
		head = "/example" + n
	case "uri-template":
		head, tail = "https://example.com/"+n, "{id}"
	case "uuid":
		head, pad = fmt.Sprintf("00000000-0000-4000-8000-%012x", k+1), false
	case "json-pointer":
		head = "/example" + n
	case "relative-json-pointer":
		head, pad = strconv.Itoa(k), false
	case "regex":
		head, tail = "^example"+n, "$"
	default:
		return "", false
	}
	if short := minLen - utf8.RuneCountInString(head+tail); pad && short > 0 {
		head += strings.Repeat("x", short)
	}
	return head + tail, true
}

// patternString builds a string matching the regular expression tree: one choice per
// character class, reps repetitions for * and +, the first alternative. Variant k counts
// up through the class choices, last position fastest, so variants are distinct.
func patternString(tree *syntax.Regexp, k, reps int) (string, bool) {
	type slot struct {
		choices []rune
		at      int
	}
	var slots []slot
	tooLong := false
	var walk func(re *syntax.Regexp, reps int)
	add := func(choices []rune) {
		if len(slots) >= maxStringRunes {
			tooLong = true
			return
		}
		slots = append(slots, slot{choices: choices})
	}
	repeat := func(re *syntax.Regexp, n int) {
		for range n {
			if tooLong {
				return
			}
			walk(re, reps)
		}
	}
	noMatch := false
	walk = func(re *syntax.Regexp, reps int) {
		switch re.Op {
		case syntax.OpNoMatch:
			noMatch = true
		case syntax.OpLiteral:
			for _, r := range re.Rune {
				add([]rune{r})
			}
		case syntax.OpCharClass:
			add(classChoices(re.Rune))
		case syntax.OpAnyChar, syntax.OpAnyCharNotNL:
			add([]rune("abcdefghijklmnopqrstuvwxyz"))
		case syntax.OpCapture:
			walk(re.Sub[0], reps)
		case syntax.OpConcat:
			for _, sub := range re.Sub {
				walk(sub, reps)
			}
		case syntax.OpAlternate:
			walk(re.Sub[0], reps)
		case syntax.OpStar:
			repeat(re.Sub[0], reps)
		case syntax.OpPlus:
			repeat(re.Sub[0], max(1, reps))
		case syntax.OpQuest:
			if reps > 1 {
				repeat(re.Sub[0], 1)
			}
		case syntax.OpRepeat:
			n := max(re.Min, reps)
			if re.Max >= 0 {
				n = min(n, re.Max)
			}
			repeat(re.Sub[0], n)
		}
	}
	walk(tree, reps)
	if noMatch || tooLong {
		return "", false
	}
	for i := len(slots) - 1; i >= 0 && k > 0; i-- {
		if n := len(slots[i].choices); n > 1 {
			slots[i].at = k % n
			k /= n
		}
	}
	if k > 0 {
		return "", false
	}
	var b strings.Builder
	for _, s := range slots {
		b.WriteRune(s.choices[s.at])
	}
	return b.String(), true
}

// classChoices lists up to 64 runes of a character class (pairs of range bounds),
// readable ones first: lower case, upper case, digits, other printable ASCII.
func classChoices(ranges []rune) []rune {
	in := func(r rune) bool {
		for i := 0; i+1 < len(ranges); i += 2 {
			if ranges[i] <= r && r <= ranges[i+1] {
				return true
			}
		}
		return false
	}
	var out []rune
	for _, span := range [][2]rune{{'a', 'z'}, {'A', 'Z'}, {'0', '9'}, {' ', '/'}, {':', '@'}, {'[', '`'}, {'{', '~'}} {
		for r := span[0]; r <= span[1] && len(out) < 64; r++ {
			if in(r) {
				out = append(out, r)
			}
		}
	}
	for i := 0; i+1 < len(ranges) && len(out) < 16; i += 2 {
		for r := max(ranges[i], 0x80); r <= ranges[i+1] && len(out) < 16; r++ {
			if unicode.IsPrint(r) {
				out = append(out, r)
			}
		}
	}
	if len(out) == 0 && len(ranges) > 0 {
		out = append(out, ranges[0])
	}
	return out
}

// buildArray makes max(minItems, 1, len(prefixItems)) items, capped by maxItems. Variant
// k varies the first item. An item cut off by recursion ends the array early when
// minItems allows.
func (g *generator) buildArray(s *schema, k int) (any, error) {
	if s.minItems > maxCount {
		return nil, fmt.Errorf("minItems %d is more than Example builds (%d)", s.minItems, maxCount)
	}
	n := max(s.minItems, 1, len(s.prefix))
	if s.maxItems >= 0 {
		n = min(n, s.maxItems)
	}
	closed := s.items != nil && s.items.never && s.items.ref == "" && len(s.items.allOf) == 0
	if closed && n > len(s.prefix) {
		n = len(s.prefix)
	}
	if n < s.minItems {
		return nil, fmt.Errorf("minItems %d cannot be met: maxItems is %d and items allow %d", s.minItems, s.maxItems, n)
	}
	out := []any{}
	seen := map[string]bool{}
	next := map[*schema]int{} // next variant to try, per item schema, when items are unique
	for i := range n {
		item := s.items
		if i < len(s.prefix) {
			item = s.prefix[i]
		}
		if item == nil {
			item = newSchema()
		}
		variant := 0
		switch {
		case i == 0:
			variant = k
		case s.unique:
			variant = next[item]
		}
		for tries := 0; ; tries++ {
			v, err := g.valueAt(strconv.Itoa(i), item, variant)
			if errors.Is(err, errCut) && i >= s.minItems {
				return out, nil
			}
			if (errors.Is(err, errExhausted) || tries == maxUniqueTries) && i > 0 {
				return nil, fmt.Errorf("cannot make %d unique items: item %d has no value unlike the ones before", n, i)
			}
			if err != nil {
				return nil, fmt.Errorf("item %d: %w", i, err)
			}
			if key := canonical(v); !seen[key] || !s.unique {
				seen[key] = true
				out = append(out, v)
				break
			}
			variant++
		}
		next[item] = variant + 1
	}
	return out, nil
}

// buildObject makes an object with every property, in schema order, then required names
// the properties do not list (sorted), then entries for minProperties. A map (no
// properties, an additionalProperties schema) gets one entry, "key". Variant k varies the
// first value.
func (g *generator) buildObject(s *schema, k int) (any, error) {
	if s.minProps > maxCount {
		return nil, fmt.Errorf("minProperties %d is more than Example builds (%d)", s.minProps, maxCount)
	}
	out := &jsonorder.Object{}
	required := func(name string) bool { return slices.Contains(s.required, name) }
	// add builds and adds one property; one cut off by recursion is left out when optional.
	add := func(name string, sch *schema) (bool, error) {
		v, err := g.valueAt(name, sch, k)
		if errors.Is(err, errCut) && !required(name) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("property %q: %w", name, err)
		}
		k = 0
		out.Set(name, v)
		return true, nil
	}
	for _, p := range s.props {
		if _, err := add(p.name, p.s); err != nil {
			return nil, err
		}
	}
	open := s.additional == nil || !s.additional.never
	extra := s.additional
	if extra == nil {
		extra = newSchema()
	}
	var missing []string
	for _, r := range s.required {
		if _, ok := out.Get(r); !ok && !slices.ContainsFunc(s.props, func(p property) bool { return p.name == r }) {
			missing = append(missing, r)
		}
	}
	slices.Sort(missing)
	if len(missing) > 0 && !open {
		return nil, fmt.Errorf("required property %q is not in properties and additionalProperties is false", missing[0])
	}
	for _, name := range missing {
		if _, err := add(name, extra); err != nil {
			return nil, err
		}
	}
	if len(s.props) == 0 && len(missing) == 0 && s.additional != nil && open && s.maxProps != 0 {
		if _, err := add("key", s.additional); err != nil {
			return nil, err
		}
	}
	for i := 1; out.Len() < s.minProps; i++ {
		name := "extra" + strconv.Itoa(i)
		if _, taken := out.Get(name); taken {
			continue
		}
		if !open {
			return nil, fmt.Errorf("minProperties %d cannot be met: additionalProperties is false", s.minProps)
		}
		if added, err := add(name, extra); err != nil || !added {
			return nil, fmt.Errorf("minProperties %d cannot be met: %w", s.minProps, cmp.Or(err, errCut))
		}
	}
	if s.maxProps >= 0 && out.Len() > s.maxProps {
		keys := out.Keys()
		for i := len(keys) - 1; i >= 0 && out.Len() > s.maxProps; i-- {
			if !required(keys[i]) {
				out.Delete(keys[i])
			}
		}
	}
	if s.maxProps >= 0 && out.Len() > s.maxProps {
		return nil, fmt.Errorf("maxProperties %d is less than the %d required properties", s.maxProps, out.Len())
	}
	if k > 0 {
		return nil, errExhausted
	}
	return out, nil
}

// canonical is the compact JSON text of v, used to compare values.
func canonical(v any) string {
	b, _ := jsonorder.Marshal(v) // cannot fail: the values are trees
	return string(b)
}

// toPlain converts ordered values to the maps the validator expects.
func toPlain(v any) any {
	switch v := v.(type) {
	case *jsonorder.Object:
		m := make(map[string]any, v.Len())
		for k, e := range v.All() {
			m[k] = toPlain(e)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, e := range v {
			out[i] = toPlain(e)
		}
		return out
	}
	return v
}

func escapeToken(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(s, "~", "~0"), "/", "~1")
}

func where(ptr string) string {
	if ptr == "" {
		return "schema root"
	}
	return "schema at " + ptr
}

func ratOf(v any) *big.Rat {
	n, ok := v.(json.Number)
	if !ok {
		return nil
	}
	r, ok := new(big.Rat).SetString(string(n))
	if !ok {
		return nil
	}
	return r
}

func intOf(v any, unset int) int {
	r := ratOf(v)
	if r == nil || !r.IsInt() || !r.Num().IsInt64() || r.Sign() < 0 {
		return unset
	}
	return int(min(r.Num().Int64(), 1<<31))
}

// tighter returns the stricter of two bounds: the larger for dir 1, the smaller for -1.
func tighter(a, b *big.Rat, dir int) *big.Rat {
	if a == nil {
		return b
	}
	if b == nil || a.Cmp(b)*dir >= 0 {
		return a
	}
	return b
}

// minLimit is the smaller of two maxima where -1 means none.
func minLimit(a, b int) int {
	switch {
	case a < 0:
		return b
	case b < 0:
		return a
	}
	return min(a, b)
}

// lcmRat is the least common multiple of two positive rationals: lcm(numerators) /
// gcd(denominators).
func lcmRat(a, b *big.Rat) *big.Rat {
	gn := new(big.Int).GCD(nil, nil, a.Num(), b.Num())
	num := new(big.Int).Mul(a.Num(), new(big.Int).Quo(b.Num(), gn))
	den := new(big.Int).GCD(nil, nil, a.Denom(), b.Denom())
	return new(big.Rat).SetFrac(num, den)
}

// floorRat rounds down: Int.Div is Euclidean, and a Rat's denominator is positive.
func floorRat(r *big.Rat) *big.Int { return new(big.Int).Div(r.Num(), r.Denom()) }

func ceilRat(r *big.Rat) *big.Int {
	return new(big.Int).Neg(floorRat(new(big.Rat).Neg(r)))
}

// ratText writes r exactly: as an integer, or as the shortest decimal that equals it.
func ratText(r *big.Rat) string {
	if r.IsInt() {
		return r.Num().String()
	}
	for prec := 1; prec <= 40; prec++ {
		s := r.FloatString(prec)
		if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
			return s
		}
	}
	return r.FloatString(40)
}

func ratTextOr(r *big.Rat, none string) string {
	if r == nil {
		return none
	}
	return ratText(r)
}

// distinctValid keeps the values of all that are valid for s, each once, in order.
func (g *generator) distinctValid(s *schema, all []any) []any {
	var out []any
	seen := map[string]bool{}
	for _, v := range all {
		key := canonical(v)
		if !seen[key] && g.valid(s, v) {
			out = append(out, v)
		}
		seen[key] = true
	}
	return out
}
