package embed

import "github.com/gowai/gowai/internal/vecfilter"

// The metadata filter operators of Vectorize, which MemoryStore evaluates the same way.
const (
	OpEq  = vecfilter.OpEq
	OpNe  = vecfilter.OpNe
	OpIn  = vecfilter.OpIn
	OpNin = vecfilter.OpNin
	OpLt  = vecfilter.OpLt
	OpLte = vecfilter.OpLte
	OpGt  = vecfilter.OpGt
	OpGte = vecfilter.OpGte
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
			ops[c.op] = vecfilter.Conflict{First: prev, Second: c.value}
			continue
		}
		ops[c.op] = c.value
	}
	return f
}
