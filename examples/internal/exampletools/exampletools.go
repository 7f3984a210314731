// Package exampletools holds the tools the examples share: a calculator and a unit
// converter, built with tools.New. The agent example calls them in process; the mcpserver
// example serves them over the Model Context Protocol.
package exampletools

import (
	"context"
	"fmt"
	"math"
	"strconv"

	"github.com/gowai/gowai/tools"
)

// All returns every example tool: Calculator and ConvertUnits.
func All() []tools.Tool { return []tools.Tool{Calculator(), ConvertUnits()} }

type calcIn struct {
	Expression string `json:"expression" jsonschema:"minLength=1,maxLength=500,example=(42.195 * 5.5) / 60" jsonschema_description:"Arithmetic with + - * / and parentheses, e.g. (2 + 3) * 4.5"`
}

// Calculator returns the "calculator" tool: it evaluates arithmetic on decimal numbers with
// + - * / and parentheses, and answers with the value in at most 12 significant digits.
func Calculator() tools.Tool {
	return tools.New("calculator", "Evaluate an arithmetic expression on decimal numbers: + - * / and parentheses.",
		func(_ context.Context, in calcIn) (string, error) {
			v, err := evaluate(in.Expression)
			if err != nil {
				return "", err
			}
			if math.IsInf(v, 0) || math.IsNaN(v) {
				return "", fmt.Errorf("calculator: the result of %q is too large for a float64", in.Expression)
			}
			return strconv.FormatFloat(v, 'g', 12, 64), nil
		})
}

// evaluate computes expr by recursive descent over
//
//	expr   = term { ("+" | "-") term }
//	term   = factor { ("*" | "/") factor }
//	factor = ("+" | "-") factor | number | "(" expr ")"
func evaluate(expr string) (float64, error) {
	p := &calc{s: expr}
	v, err := p.expr()
	if err != nil {
		return 0, err
	}
	if p.skip(); p.i < len(p.s) {
		return 0, p.errorf("unexpected %q", p.s[p.i])
	}
	return v, nil
}

type calc struct {
	s string
	i int
}

func (p *calc) skip() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

// next returns the next non-blank byte, or 0 at the end.
func (p *calc) next() byte {
	if p.skip(); p.i < len(p.s) {
		return p.s[p.i]
	}
	return 0
}

func (p *calc) errorf(format string, args ...any) error {
	return fmt.Errorf("calculator: %s at position %d of %q", fmt.Sprintf(format, args...), p.i+1, p.s)
}

func (p *calc) expr() (float64, error) {
	v, err := p.term()
	for err == nil {
		op := p.next()
		if op != '+' && op != '-' {
			break
		}
		p.i++
		var w float64
		if w, err = p.term(); op == '+' {
			v += w
		} else {
			v -= w
		}
	}
	return v, err
}

func (p *calc) term() (float64, error) {
	v, err := p.factor()
	for err == nil {
		op := p.next()
		if op != '*' && op != '/' {
			break
		}
		p.i++
		at := p.i
		var w float64
		if w, err = p.factor(); err != nil {
			break
		}
		if op == '*' {
			v *= w
		} else if w == 0 {
			p.i = at
			return 0, p.errorf("division by zero")
		} else {
			v /= w
		}
	}
	return v, err
}

func (p *calc) factor() (float64, error) {
	switch c := p.next(); {
	case c == '-' || c == '+':
		p.i++
		v, err := p.factor()
		if c == '-' {
			v = -v
		}
		return v, err
	case c == '(':
		p.i++
		v, err := p.expr()
		if err != nil {
			return 0, err
		}
		if p.next() != ')' {
			return 0, p.errorf("missing ')'")
		}
		p.i++
		return v, nil
	case c >= '0' && c <= '9' || c == '.':
		start := p.i
		for p.i < len(p.s) && (p.s[p.i] >= '0' && p.s[p.i] <= '9' || p.s[p.i] == '.') {
			p.i++
		}
		text := p.s[start:p.i]
		v, err := strconv.ParseFloat(text, 64)
		if err != nil {
			p.i = start
			return 0, p.errorf("bad number %q", text)
		}
		return v, nil
	case c == 0:
		return 0, p.errorf("expression ends early")
	default:
		return 0, p.errorf("unexpected %q", c)
	}
}

type convertIn struct {
	Value float64 `json:"value" jsonschema:"example=42.195"`
	From  string  `json:"from" jsonschema:"enum=km,enum=mi,enum=m,enum=ft,enum=in,enum=cm,enum=kg,enum=lb,enum=g,enum=oz,enum=C,enum=F,enum=K,enum=l,enum=gal,enum=ml"`
	To    string  `json:"to" jsonschema:"enum=mi,enum=km,enum=m,enum=ft,enum=in,enum=cm,enum=kg,enum=lb,enum=g,enum=oz,enum=C,enum=F,enum=K,enum=l,enum=gal,enum=ml"`
}

type convertOut struct {
	Value float64 `json:"value"`
	Unit  string  `json:"unit"`
}

// unit converts to and from its dimension's base unit (m, kg, K, l).
type unit struct {
	dim    string
	factor float64 // base units per unit
	offset float64 // added after scaling, for temperatures
}

var units = map[string]unit{
	"km": {"length", 1000, 0}, "mi": {"length", 1609.344, 0}, "m": {"length", 1, 0},
	"ft": {"length", 0.3048, 0}, "in": {"length", 0.0254, 0}, "cm": {"length", 0.01, 0},
	"kg": {"mass", 1, 0}, "lb": {"mass", 0.45359237, 0}, "g": {"mass", 0.001, 0}, "oz": {"mass", 0.028349523125, 0},
	"K": {"temperature", 1, 0}, "C": {"temperature", 1, 273.15}, "F": {"temperature", 5.0 / 9, 273.15 - 32*5.0/9},
	"l": {"volume", 1, 0}, "gal": {"volume", 3.785411784, 0}, "ml": {"volume", 0.001, 0},
}

// ConvertUnits returns the "convert_units" tool: it converts a value between units of one
// dimension (length, mass, temperature, volume) and refuses to mix dimensions.
func ConvertUnits() tools.Tool {
	return tools.New("convert_units", "Convert a value between units of length (km mi m ft in cm), mass (kg lb g oz), temperature (C F K) or volume (l gal ml; gal is the US gallon).",
		func(_ context.Context, in convertIn) (convertOut, error) {
			from, to := units[in.From], units[in.To] // the schema's enums guarantee both exist
			if from.dim != to.dim {
				return convertOut{}, fmt.Errorf("cannot convert %s (%s) to %s (%s)", in.From, from.dim, in.To, to.dim)
			}
			base := in.Value*from.factor + from.offset
			// Ten significant digits: more would show float noise (100 C = 211.99999999999991 F).
			v, _ := strconv.ParseFloat(strconv.FormatFloat((base-to.offset)/to.factor, 'g', 10, 64), 64)
			return convertOut{Value: v, Unit: in.To}, nil
		})
}
