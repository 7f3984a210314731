package embed

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gowai/gowai/llm"
)

func TestRequestsPerMinuteComesFromTheCatalog(t *testing.T) {
	c, err := llm.NewClient(llm.WithBaseURL("http://127.0.0.1:1"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		m    *Model
		want time.Duration
	}{
		{"bge-small: 3000 a minute", New(c, "@cf/baai/bge-small-en-v1.5"), 20 * time.Millisecond},
		{"bge-large: 1500 a minute", New(c, "@cf/baai/bge-large-en-v1.5"), 40 * time.Millisecond},
		{"unlisted model: the task's 3000", New(c, "@cf/example/unlisted"), 20 * time.Millisecond},
		{"override", New(c, "@cf/baai/bge-large-en-v1.5", WithRequestsPerMinute(60)), time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.m.pace.Interval() != tt.want {
				t.Fatalf("requests %s apart, want %s", tt.m.pace.Interval(), tt.want)
			}
		})
	}
}

func TestEstimateTokens(t *testing.T) {
	tests := []struct {
		text string
		want int
	}{
		{"", 2},
		{"hello", 2 + 2},                    // 5 runes: 2; 1 word: 2
		{"Hello, world!", 6 + 2},            // 4 units (2 words, 2 marks): 6; 13 runes: 5
		{"internationalization", 7 + 2},     // 20 runes: 7 (a rare long word splits)
		{"漢字かな交じり", 10 + 2},                 // 7 CJK characters, one token each: 10
		{strings.Repeat("ab ", 30), 40 + 2}, // 30 words: 40; 90 runes: 30
	}
	for _, tt := range tests {
		if got := estimateTokens(tt.text); got != tt.want {
			t.Errorf("estimateTokens(%q) = %d, want %d", tt.text, got, tt.want)
		}
	}
}

func TestTruncateKeepsTheLongestFittingStart(t *testing.T) {
	tests := []struct {
		name, text string
		limit      int
		want       string
	}{
		{"whole words", "alpha beta gamma delta epsilon", 8, "alpha beta gamma"},
		{"one long word: rune boundary", strings.Repeat("é", 30), 7, strings.Repeat("é", 15)},
		{"CJK without spaces", "漢字かな交じり文です", 6, "漢字か"},
		{"nothing fits", "word", 1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := truncate(tt.text, tt.limit)
			if got != tt.want {
				t.Fatalf("truncate = %q, want %q", got, tt.want)
			}
			if got != "" && estimateTokens(got) > tt.limit {
				t.Errorf("the kept part is estimated at %d tokens, over %d", estimateTokens(got), tt.limit)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name         string
		tokens       []int
		size, budget int
		want         []batch
	}{
		{"by count", []int{1, 1, 1, 1, 1}, 2, 100, []batch{{0, 2}, {2, 4}, {4, 5}}},
		{"by budget", []int{40, 40, 40, 10, 90}, 10, 100, []batch{{0, 2}, {2, 4}, {4, 5}}},
		{"exactly the budget", []int{50, 50, 50}, 10, 100, []batch{{0, 2}, {2, 3}}},
		{"one text", []int{7}, 1, 7, []batch{{0, 1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := plan(tt.tokens, tt.size, tt.budget); !slices.Equal(got, tt.want) {
				t.Fatalf("plan = %v, want %v", got, tt.want)
			}
		})
	}
}

func TestDotMatchesTheNaiveSum(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		a, b := make([]float32, n), make([]float32, n+3) // b may be longer: dot reads b[:len(a)]
		var want float64
		for i := range b {
			b[i] = r.Float32()*2 - 1
			if i < n {
				a[i] = r.Float32()*2 - 1
				want += float64(a[i]) * float64(b[i])
			}
		}
		if got := dot(a, b); math.Abs(float64(got)-want) > 1e-5 {
			t.Fatalf("n=%d: dot = %v, want %v", n, got, want)
		}
	}
}
