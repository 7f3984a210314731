package schema

import (
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"reflect"
	"strconv"
	"time"

	"github.com/invopop/jsonschema"
)

// A schema describes what encoding/json will accept when it decodes the model's answer into the Go type. A
// type with methods of its own decides that itself, so its fields say nothing: the rules below either describe
// such a type by what it decodes from, or refuse it at schema time, naming the field and saying what to do.

var (
	timeType        = reflect.TypeFor[time.Time]()
	durationType    = reflect.TypeFor[time.Duration]()
	urlType         = reflect.TypeFor[url.URL]()
	rawMessageType  = reflect.TypeFor[json.RawMessage]()
	numberType      = reflect.TypeFor[json.Number]()
	customType      = reflect.TypeFor[interface{ JSONSchema() *jsonschema.Schema }]()
	aliasType       = reflect.TypeFor[aliaser]()
	jsonMarshaler   = reflect.TypeFor[json.Marshaler]()
	jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()
	textMarshaler   = reflect.TypeFor[encoding.TextMarshaler]()
	textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()
)

type aliaser interface{ JSONSchemaAlias() any }

// encodingKind says how the schema of a type that is not a pointer is made.
type encodingKind int

const (
	byFields    encodingKind = iota // invopop reflects its Go structure
	byInvopop                       // invopop has a fixed schema for it (time.Time, json.RawMessage)
	byMethod                        // its JSONSchema method, on the value or the pointer
	asString                        // it decodes from a JSON string through UnmarshalText
	asNumber                        // json.Number
	unsupported                     // refused: the error says why and what to do
)

// implements reports whether t or *t has the methods of iface, which is what encoding/json looks at when it
// decodes into an addressable value.
func implements(t, iface reflect.Type) bool {
	return t.Implements(iface) || reflect.PointerTo(t).Implements(iface)
}

// classify says how to describe t (not a pointer), with the reason when it cannot be described.
func classify(t reflect.Type) (encodingKind, error) {
	switch t {
	case timeType, rawMessageType:
		return byInvopop, nil
	case numberType:
		return asNumber, nil
	}
	if implements(t, customType) {
		return byMethod, nil
	}
	switch t {
	case durationType:
		return unsupported, fmt.Errorf("time.Duration is a number of nanoseconds in JSON, so a model answering 5 " +
			"means 5ns: use an integer field with the unit in its name (TimeoutSeconds int) or a string type of " +
			"your own with an UnmarshalText method (parsing with time.ParseDuration, say)")
	case urlType:
		return unsupported, fmt.Errorf("url.URL decodes from a JSON object of its fields, not from a URL string: use " +
			"a string field tagged jsonschema:\"format=uri\" and url.Parse it")
	}
	if implements(t, jsonMarshaler) || implements(t, jsonUnmarshaler) {
		return unsupported, fmt.Errorf("%s has its own JSON encoding (MarshalJSON/UnmarshalJSON), so its Go fields do "+
			"not describe it: add a method JSONSchema() *jsonschema.Schema (github.com/invopop/jsonschema) that "+
			"describes what UnmarshalJSON accepts, or implement encoding.TextMarshaler and TextUnmarshaler instead", t)
	}
	if implements(t, textMarshaler) || implements(t, textUnmarshaler) {
		if !implements(t, textUnmarshaler) && t.Kind() != reflect.String {
			return unsupported, fmt.Errorf("%s encodes as a JSON string (MarshalText) but has no UnmarshalText "+
				"method, so a string answer cannot be decoded into it: add UnmarshalText, or a method "+
				"JSONSchema() *jsonschema.Schema describing its Go fields", t)
		}
		return asString, nil
	}
	return byFields, nil
}

// opaque reports types whose schema does not come from their fields, so walks of the Go type stop there.
func opaque(t reflect.Type) bool {
	k, _ := classify(t)
	return k != byFields
}

// integerBounds are the ranges of the sized integer kinds (no maximum for uint and uint64, which JSON numbers
// rarely reach): a value outside them validates as "integer" but encoding/json refuses it.
var integerBounds = map[reflect.Kind]struct {
	min    int64
	max    uint64
	hasMax bool
}{
	reflect.Int8:   {math.MinInt8, math.MaxInt8, true},
	reflect.Int16:  {math.MinInt16, math.MaxInt16, true},
	reflect.Int32:  {math.MinInt32, math.MaxInt32, true},
	reflect.Uint:   {0, 0, false},
	reflect.Uint8:  {0, math.MaxUint8, true},
	reflect.Uint16: {0, math.MaxUint16, true},
	reflect.Uint32: {0, math.MaxUint32, true},
	reflect.Uint64: {0, 0, false},
}

// mapType is the Reflector's Mapper: the schema of t where invopop's own would not match what encoding/json
// decodes, nil to let invopop reflect t. It runs before invopop looks at t's methods or fields.
func mapType(t reflect.Type) *jsonschema.Schema {
	k, _ := classify(t) // inspect has refused the unsupported ones
	switch k {
	case byMethod:
		if t.Implements(customType) {
			return nil // invopop calls it
		}
		return reflect.New(t).Interface().(interface{ JSONSchema() *jsonschema.Schema }).JSONSchema()
	case asString:
		return &jsonschema.Schema{Type: "string"}
	case asNumber:
		return &jsonschema.Schema{Type: "number"}
	case byFields:
		if b, ok := integerBounds[t.Kind()]; ok {
			s := &jsonschema.Schema{Type: "integer", Minimum: json.Number(strconv.FormatInt(b.min, 10))}
			if b.hasMax {
				s.Maximum = json.Number(strconv.FormatUint(b.max, 10))
			}
			return s
		}
	}
	return nil
}
