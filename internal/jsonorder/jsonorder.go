// Package jsonorder decodes JSON into trees whose objects keep their keys in document order, and writes such
// trees back. encoding/json decodes objects into maps, which lose that order, and the order matters here: models
// tend to fill fields in the order a schema lists them, and a generated example reads best in schema order.
//
// A tree is made of *Object, []any, string, json.Number, bool and nil.
//
// Two ways of writing a tree, by design:
//   - Marshal never escapes HTML: the text reads as written (a pattern "a<b" stays "a<b").
//   - json.Marshal of a tree (through Object.MarshalJSON) escapes <, > and & as json.Marshal always does.
//     internal/schema relies on this to keep the bytes of the schemas it has always produced.
package jsonorder

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"iter"
	"slices"
	"strconv"
	"unicode/utf8"
)

// Object is a JSON object that keeps its keys in the order they were first set. The zero value is an empty
// object ready to use.
type Object struct {
	keys []string
	vals map[string]any // a map, not a scan of keys: objects of thousands of keys must not cost quadratic time
}

// Len returns the number of keys.
func (o *Object) Len() int { return len(o.keys) }

// Get returns the value of key and whether the object has it.
func (o *Object) Get(key string) (any, bool) {
	v, ok := o.vals[key]
	return v, ok
}

// Set gives key the value v. A key the object already has keeps its position; a new one goes last.
func (o *Object) Set(key string, v any) {
	if o.vals == nil {
		o.vals = map[string]any{}
	}
	if _, ok := o.vals[key]; !ok {
		o.keys = append(o.keys, key)
	}
	o.vals[key] = v
}

// Delete removes key, if present.
func (o *Object) Delete(key string) {
	if _, ok := o.vals[key]; !ok {
		return
	}
	delete(o.vals, key)
	i := slices.Index(o.keys, key)
	o.keys = slices.Delete(o.keys, i, i+1)
}

// Keys returns the keys in order, in a slice the caller owns.
func (o *Object) Keys() []string { return slices.Clone(o.keys) }

// All yields the keys and values in order. The loop body may Set keys the object already has; it must not add
// or delete keys.
func (o *Object) All() iter.Seq2[string, any] {
	return func(yield func(string, any) bool) {
		for _, k := range o.keys {
			if !yield(k, o.vals[k]) {
				return
			}
		}
	}
}

// MarshalJSON writes the object in order. json.Marshal escapes HTML in what it returns; see the package doc.
func (o *Object) MarshalJSON() ([]byte, error) { return Marshal(o) }

// Decode decodes one JSON document into a tree, numbers as json.Number. A repeated key keeps its first position
// and takes the last value, as encoding/json keeps the last. Anything but white space after the document is an
// error. Errors are encoding/json's, unwrapped, for the caller to put in context.
func Decode(data []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	v, err := decodeValue(dec)
	if err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("unexpected data after the JSON value")
	}
	return v, nil
}

func decodeValue(dec *json.Decoder) (any, error) {
	tok, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch tok {
	case json.Delim('{'):
		o := &Object{}
		for dec.More() {
			kt, err := dec.Token()
			if err != nil {
				return nil, err
			}
			key, _ := kt.(string) // the decoder yields only strings in key position
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			o.Set(key, v)
		}
		_, err := dec.Token() // '}'
		return o, err
	case json.Delim('['):
		list := []any{}
		for dec.More() {
			v, err := decodeValue(dec)
			if err != nil {
				return nil, err
			}
			list = append(list, v)
		}
		_, err := dec.Token() // ']'
		return list, err
	}
	return tok, nil
}

// Marshal returns the compact JSON text of v, objects in order, without HTML escaping. v is a tree or any value
// encoding/json encodes; the error is encoding/json's, for a value it cannot encode.
func Marshal(v any) ([]byte, error) {
	return appendValue(nil, v)
}

func appendValue(b []byte, v any) ([]byte, error) {
	var err error
	switch v := v.(type) {
	case *Object:
		if v == nil {
			return append(b, "null"...), nil
		}
		b = append(b, '{')
		for i, k := range v.keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(appendString(b, k), ':')
			if b, err = appendValue(b, v.vals[k]); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case []any:
		b = append(b, '[')
		for i, e := range v {
			if i > 0 {
				b = append(b, ',')
			}
			if b, err = appendValue(b, e); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case string:
		return appendString(b, v), nil
	case json.Number:
		return append(b, v...), nil // as decoded, digit for digit
	case bool:
		return strconv.AppendBool(b, v), nil
	case nil:
		return append(b, "null"...), nil
	}
	return appendEncoded(b, v)
}

// appendString writes s as a JSON string. Plain ASCII, which most keys and values are, needs no escaping and
// skips the cost of an Encoder; the rest takes encoding/json's escaping (control characters, invalid UTF-8,
// U+2028, U+2029).
func appendString(b []byte, s string) []byte {
	for i := range len(s) {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf {
			b, _ = appendEncoded(b, s) // cannot fail: a string always encodes
			return b
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendEncoded writes v with encoding/json, HTML escaping off.
func appendEncoded(b []byte, v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return append(b, bytes.TrimSuffix(buf.Bytes(), []byte("\n"))...), nil // Encode ends the value with a newline
}
