package embed

import (
	"cmp"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
)

// The metadata filter operators of Vectorize, which MemoryStore evaluates the same way.
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

// Condition is one test on a metadata property, made by Eq, Ne, In, Nin, Lt, Lte, Gt or
// Gte and combined by Filter.
type Condition struct {
	key   string
	op    string
	value any
}

// Eq matches vectors whose property key equals value (a string, number or bool; nil
// matches vectors without the property).
func Eq(key string, value any) Condition { return Condition{key, OpEq, value} }

// Ne matches vectors whose property key is absent or differs from value.
func Ne(key string, value any) Condition { return Condition{key, OpNe, value} }

// In matches vectors whose property key equals one of values.
func In(key string, values ...any) Condition { return Condition{key, OpIn, values} }

// Nin matches vectors whose property key is absent or equals none of values.
func Nin(key string, values ...any) Condition { return Condition{key, OpNin, values} }

// Lt matches vectors whose property key is less than value: both numbers, or both strings
// (compared byte-wise).
func Lt(key string, value any) Condition { return Condition{key, OpLt, value} }

// Lte matches vectors whose property key is at most value.
func Lte(key string, value any) Condition { return Condition{key, OpLte, value} }

// Gt matches vectors whose property key is greater than value.
func Gt(key string, value any) Condition { return Condition{key, OpGt, value} }

// Gte matches vectors whose property key is at least value.
func Gte(key string, value any) Condition { return Condition{key, OpGte, value} }

// Filter combines conditions, all of which must hold, into the filter map Query takes and
// Vectorize understands: Filter(Eq("genre", "sci-fi"), Lt("year", 2024)) is
// {"genre":{"$eq":"sci-fi"},"year":{"$lt":2024}}. Conditions on one key share its map, so
// Gte and Lt make a range. The same operator twice on a key is kept as a conflict that
// Query reports, never resolved silently.
func Filter(conds ...Condition) map[string]any {
	f := make(map[string]any, len(conds))
	for _, c := range conds {
		ops, ok := f[c.key].(map[string]any)
		if !ok {
			ops = map[string]any{}
			f[c.key] = ops
		}
		if prev, dup := ops[c.op]; dup {
			ops[c.op] = conflict{prev, c.value}
			continue
		}
		ops[c.op] = c.value
	}
	return f
}

// conflict marks an operator given twice on one key in Filter.
type conflict struct{ first, second any }

// clause is one parsed condition of a filter.
type clause struct {
	key    string
	path   []string // key split at dots: a nested property
	op     string
	values []any // one value, or the list of $in / $nin
}

// parseFilter checks a filter and returns its conditions, sorted by key and operator. A
// key maps to a value (shorthand for $eq) or to a map of operators; keys may not be empty,
// start with $ or contain a double quote, and a dot separates nested properties. Values
// are strings, numbers or bools; nil only for $eq and $ne; the range operators take a
// number or a string; $in and $nin a non-empty list.
func parseFilter(f map[string]any) ([]clause, error) {
	var out []clause
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
			c, err := newClause(key, path, op, ops[op])
			if err != nil {
				return nil, fmt.Errorf("filter %q: %w", key, err)
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func newClause(key string, path []string, op string, v any) (clause, error) {
	c := clause{key: key, path: path, op: op, values: []any{v}}
	if cf, ok := v.(conflict); ok {
		return c, fmt.Errorf("%s given twice (%v and %v)", op, cf.first, cf.second)
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
		}
	default:
		return c, fmt.Errorf("unknown operator %q (want $eq, $ne, $in, $nin, $lt, $lte, $gt or $gte)", op)
	}
	return c, nil
}

func scalar(v any) bool {
	_, ok := number(v)
	switch v.(type) {
	case string, bool:
		ok = true
	}
	return ok
}

// matchAll reports whether meta meets every clause.
func matchAll(clauses []clause, meta map[string]any) bool {
	for _, c := range clauses {
		if !c.match(meta) {
			return false
		}
	}
	return true
}

// match evaluates the clause as Vectorize does, as far as its documentation goes: a
// missing (or nil) property fails $eq, $in and the ranges and passes $ne and $nin; $eq nil
// matches only a missing property, $ne nil only a present one. Numbers compare by value,
// whatever their Go type, since metadata read back from JSON holds float64.
func (c clause) match(meta map[string]any) bool {
	got, ok := lookup(meta, c.path)
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

// lookup finds a nested property; a nil value counts as missing.
func lookup(meta map[string]any, path []string) (any, bool) {
	var cur any = meta
	for _, p := range path {
		m, isMap := cur.(map[string]any)
		if !isMap {
			return nil, false
		}
		if cur = m[p]; cur == nil {
			return nil, false
		}
	}
	return cur, true
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
