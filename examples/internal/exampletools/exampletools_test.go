package exampletools

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/gowai/gowai/tools"
)

func call(t *testing.T, tool tools.Tool, args string) (string, error) {
	t.Helper()
	return tool.Call(context.Background(), json.RawMessage(args))
}

func TestCalculator(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"(42.195 * 5.5) / 60", "3.867875"},
		{"-(2 + 3) * 4.5", "-22.5"},
		{"1 / 3", "0.333333333333"},
	} {
		got, err := call(t, Calculator(), `{"expression":`+quote(tc.expr)+`}`)
		if err != nil || got != tc.want {
			t.Errorf("calculator(%q) = %q, %v; want %q", tc.expr, got, err, tc.want)
		}
	}
	big := strings.Repeat("9", 200)
	for _, expr := range []string{"1 / 0", "2 +", "(1", "3 $ 4", big + " * " + big + " * " + big} {
		if got, err := call(t, Calculator(), `{"expression":`+quote(expr)+`}`); err == nil {
			t.Errorf("calculator(%q) = %q, want an error", expr, got)
		}
	}
	var argErr *tools.ArgumentError
	if _, err := call(t, Calculator(), `{"expression":""}`); !errors.As(err, &argErr) {
		t.Errorf("empty expression: err = %v, want *tools.ArgumentError", err)
	}
}

func TestConvertUnits(t *testing.T) {
	got, err := call(t, ConvertUnits(), `{"value":100,"from":"C","to":"F"}`)
	if err != nil || got != `{"value":212,"unit":"F"}` {
		t.Errorf("100 C to F = %s, %v", got, err)
	}
	got, err = call(t, ConvertUnits(), `{"value":42.195,"from":"km","to":"mi"}`)
	if err != nil || got != `{"value":26.21875746,"unit":"mi"}` {
		t.Errorf("42.195 km to mi = %s, %v", got, err)
	}
	if _, err := call(t, ConvertUnits(), `{"value":1,"from":"kg","to":"km"}`); err == nil || !strings.Contains(err.Error(), "cannot convert kg (mass) to km (length)") {
		t.Errorf("kg to km: err = %v", err)
	}
}

func TestAllBuildASet(t *testing.T) {
	if _, err := tools.NewSet(All()...); err != nil {
		t.Fatal(err)
	}
}

func quote(s string) string { b, _ := json.Marshal(s); return string(b) }
