// Package vecfilter parses and evaluates Vectorize metadata filters, so that embed's
// MemoryStore, embed's checks before a Vectorize query and llmtest's Vectorize emulator all
// read a filter the same way.
//
// A filter maps a key to a value (shorthand for $eq) or to a map of operators: $eq, $ne,
// $in, $nin, $lt, $lte, $gt and $gte, all of which must hold. A dot in a key names a nested
// property. Semantics follow the Vectorize metadata filtering docs
// (developers.cloudflare.com/vectorize/reference/metadata-filtering) as far as they go; the
// rest is written down on Parse and MatchAll.
//
// Filters come from Go callers of embed (numbers of every built-in integer and float type,
// typed slices) and from JSON decoded into map[string]any (float64, []any); both are
// taken, and numbers compare by value whatever their type, a float32 by its shortest
// decimal form as JSON carries it.
package vecfilter

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
)

// The operators Vectorize takes.
const (
	OpEq  = "$eq"
	OpNe  = "$ne"
	OpIn  = "$in"
	OpNin = "$nin"
	OpLt  = "$lt"
	OpLte = "$lte"
	OpGt  = "$gt"
	OpGte = "$gte"
)

// Conflict stands for an operator given twice on one key, kept by a filter builder (as
// embed.Filter) so that Parse reports it instead of either value winning silently.
type Conflict struct{ First, Second any }

// Cond is one parsed condition of a filter.
type Cond struct {
	Key    string   // the filter key: a property, dotted if nested
	path   []string // Key split at dots
	op     string
	values []any // one value, or the list of $in / $nin
}

// Parse checks a filter and returns its conditions, sorted by key and operator; a nil or
// empty filter has none. Keys may not be empty, start with $, contain a double quote or
// have an empty part between dots (each part is a property name, which the docs forbid to
// be empty). Values are strings, numbers or bools; nil only for $eq and $ne; the range
// operators take a number or a string; $in and $nin a non-empty list. A key with an empty
// map of operators is refused rather than read as no condition.
func Parse(f map[string]any) ([]Cond, error) {
	var out []Cond
	for _, key := range slices.Sorted(maps.Keys(f)) {
		path := strings.Split(key, ".")
		if key == "" || strings.HasPrefix(key, "$") || strings.Contains(key, `"`) || slices.Contains(path, "") {
			return nil, fmt.Errorf("filter key %q: must not be empty, start with $, contain \" or have an empty part between dots", key)
		}
		ops, isOps := f[key].(map[string]any)
		if !isOps {
			if v := f[key]; v != nil && !scalar(v) {
				return nil, fmt.Errorf("filter %q: %T is not a string, number or bool", key, v)
			}
			ops = map[string]any{OpEq: f[key]}
		}
		if len(ops) == 0 {
			return nil, fmt.Errorf("filter %q: no operator", key)
		}
		for _, op := range slices.Sorted(maps.Keys(ops)) {
			c, err := newCond(key, path, op, ops[op])
			if err != nil {
				return nil, fmt.Errorf("filter %q: %w", key, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func newCond(key string, path []string, op string, v any) (Cond, error) {
	c := Cond{Key: key, path: path, op: op, values: []any{v}}
	if cf, ok := v.(Conflict); ok {
		return c, fmt.Errorf("%s given twice (%v and %v)", op, cf.First, cf.Second)
	}
	if !finite(v) {
		return c, fmt.Errorf("%s: %v is not a finite number", op, v)
	}
	switch op {
	case OpEq, OpNe:
		if v != nil && !scalar(v) {
			return c, fmt.Errorf("%s: %T is not a string, number, bool or nil", op, v)
		}
	case OpLt, OpLte, OpGt, OpGte:
		if _, isBool := v.(bool); !scalar(v) || isBool {
			return c, fmt.Errorf("%s: %T is not a number or string", op, v)
		}
	case OpIn, OpNin:
		rv := reflect.ValueOf(v)
		if v == nil || (rv.Kind() != reflect.Slice && rv.Kind() != reflect.Array) || rv.Len() == 0 {
			return c, fmt.Errorf("%s: want a non-empty list of values, got %T", op, v)
		}
		c.values = make([]any, rv.Len())
		for i := range c.values {
			c.values[i] = rv.Index(i).Interface()
			if !scalar(c.values[i]) {
				return c, fmt.Errorf("%s: item %d: %T is not a string, number or bool", op, i, c.values[i])
			}
			if !finite(c.values[i]) {
				return c, fmt.Errorf("%s: item %d: %v is not a finite number", op, i, c.values[i])
			}
		}
	default:
		return c, fmt.Errorf("unknown operator %q (want $eq, $ne, $in, $nin, $lt, $lte, $gt or $gte)", op)
	}
	return c, nil
}

// MatchAll reports whether meta meets every condition.
func MatchAll(conds []Cond, meta map[string]any) bool {
	for _, c := range conds {
		if !c.match(meta) {
			return false
		}
	}
	return true
}

// match evaluates the condition as Vectorize does, as far as its documentation goes: a
// missing (or null) property fails $eq, $in and the ranges and passes $ne and $nin; $eq nil
// matches only a missing property, $ne nil only a present one. Numbers compare by value,
// whatever their Go type, since metadata read back from JSON holds float64; a number and a
// string neither equal nor order each other.
func (c Cond) match(meta map[string]any) bool {
	got, ok := lookup(meta, c.path)
	ok = ok && got != nil
	want := c.values[0]
	switch c.op {
	case OpEq:
		if want == nil {
			return !ok
		}
		return ok && equal(got, want)
	case OpNe:
		if want == nil {
			return ok
		}
		return !ok || !equal(got, want)
	case OpIn, OpNin:
		in := ok && slices.ContainsFunc(c.values, func(w any) bool { return equal(got, w) })
		return in == (c.op == OpIn)
	}
	if !ok {
		return false
	}
	order, comparable := compare(got, want)
	if !comparable {
		return false
	}
	switch c.op {
	case OpLt:
		return order < 0
	case OpLte:
		return order <= 0
	case OpGt:
		return order > 0
	}
	return order >= 0
}

// Lookup finds the property a dotted path names ("a.b" is meta["a"]["b"]). A property set
// to null is found, with a nil value.
func Lookup(meta map[string]any, path string) (any, bool) {
	return lookup(meta, strings.Split(path, "."))
}

func lookup(meta map[string]any, path []string) (any, bool) {
	var cur any = meta
	for _, p := range path {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return nil, false
		}
		var ok bool
		if cur, ok = m[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func scalar(v any) bool {
	_, ok := number(v)
	switch v.(type) {
	case string, bool:
		ok = true
	}
	return ok
}

// number reads the Go number types a filter or metadata may hold: every built-in integer
// and float type. A float32 counts as the number its shortest decimal form names
// (float32(0.1) is 0.1), which is how it reaches Vectorize as JSON, and so equals a 0.1
// stored as JSON. json.Number is not one of them: it is neither accepted in a filter nor
// equal to a number in metadata.
func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int8:
		return float64(n), true
	case int16:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case uint:
		return float64(n), true
	case uint8:
		return float64(n), true
	case uint16:
		return float64(n), true
	case uint32:
		return float64(n), true
	case uint64:
		return float64(n), true
	case uintptr:
		return float64(n), true
	case float32:
		f, err := strconv.ParseFloat(strconv.FormatFloat(float64(n), 'g', -1, 32), 64)
		if err != nil { // ±Inf and NaN format as words that ParseFloat reads back
			return float64(n), true
		}
		return f, true
	case float64:
		return n, true
	}
	return 0, false
}

// finite reports whether v is not a NaN or infinite number: such a value cannot be sent
// as JSON and equals nothing.
func finite(v any) bool {
	f, ok := number(v)
	return !ok || !math.IsNaN(f) && !math.IsInf(f, 0)
}

func equal(a, b any) bool {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return ok && x == y
	}
	return scalar(a) && a == b
}

// compare orders two numbers or two strings; other pairs do not compare.
func compare(a, b any) (int, bool) {
	if x, ok := number(a); ok {
		y, ok := number(b)
		return cmp.Compare(x, y), ok
	}
	x, ok1 := a.(string)
	y, ok2 := b.(string)
	return strings.Compare(x, y), ok1 && ok2
}
