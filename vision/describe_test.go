package vision

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/structured"
)

const (
	scout = "@cf/meta/llama-4-scout-17b-16e-instruct"
	llama = "@cf/meta/llama-3.2-11b-vision-instruct"
	llava = "@cf/llava-hf/llava-1.5-7b-hf"
)

func testPNG(t *testing.T) llm.Image {
	t.Helper()
	img, err := FromBytes(readTestdata(t, "square.png"))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func newServer(t *testing.T, h llmtest.Handler, opts ...llm.Option) (*llmtest.Server, *llm.Client) {
	t.Helper()
	srv := llmtest.NewServer(h)
	t.Cleanup(srv.Close)
	c, err := srv.Client(opts...)
	if err != nil {
		t.Fatal(err)
	}
	return srv, c
}

// byteList writes b as the JSON array of byte values the service takes.
func byteList(b []byte) string {
	s := make([]string, len(b))
	for i, c := range b {
		s[i] = strconv.Itoa(int(c))
	}
	return "[" + strings.Join(s, ",") + "]"
}

func TestDescribeSendsEachFamilysWireForm(t *testing.T) {
	img := testPNG(t)
	dataURL := "data:image/png;base64," + base64.StdEncoding.EncodeToString(img.Data)
	cases := []struct {
		name, model, body string
	}{
		{"llama-4-scout: content parts with a data URL", scout,
			`{"messages":[{"role":"user","content":[{"type":"text","text":"What is red?"},{"type":"image_url","image_url":{"url":"` + dataURL + `"}}]}],"max_tokens":` + strconv.Itoa(llm.DefaultMaxTokens) + `}`},
		{"llama-3.2-11b-vision: top-level byte array", llama,
			`{"messages":[{"role":"user","content":"What is red?"}],"image":` + byteList(img.Data) + `,"max_tokens":` + strconv.Itoa(llm.DefaultMaxTokens) + `}`},
		{"llava: image, prompt, max_tokens", llava,
			`{"image":` + byteList(img.Data) + `,"prompt":"What is red?","max_tokens":` + strconv.Itoa(llm.DefaultMaxTokens) + `}`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv, cl := newServer(t, nil)
			got, err := Describe(t.Context(), cl.Model(c.model), img, "What is red?")
			if err != nil {
				t.Fatal(err)
			}
			if got == "" || got != strings.TrimSpace(got) {
				t.Errorf("description %q should be non-empty and trimmed", got)
			}
			reqs := srv.Requests()
			if len(reqs) != 1 {
				t.Fatalf("%d requests, want 1", len(reqs))
			}
			if reqs[0].Path != "/accounts/test-account/ai/run/"+c.model {
				t.Errorf("path %s", reqs[0].Path)
			}
			if string(reqs[0].Body) != c.body {
				t.Errorf("body\n got %.400s\nwant %.400s", reqs[0].Body, c.body)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	img := testPNG(t)
	t.Run("empty prompt asks the default question", func(t *testing.T) {
		srv, cl := newServer(t, llmtest.Script(llmtest.Text("A red square.")))
		got, err := Describe(t.Context(), cl.Model(scout), img, "")
		if err != nil || got != "A red square." {
			t.Fatalf("got %q, %v", got, err)
		}
		if body := string(srv.Requests()[0].Body); !strings.Contains(body, `"text":"`+DefaultDescribePrompt+`"`) {
			t.Errorf("body %.300s does not ask %q", body, DefaultDescribePrompt)
		}
	})
	t.Run("llava's leading space is trimmed", func(t *testing.T) {
		_, cl := newServer(t, llmtest.Script(llmtest.JSON(map[string]string{"description": " A red square on white."})))
		got, err := Describe(t.Context(), cl.Model(llava), img, "")
		if err != nil || got != "A red square on white." {
			t.Fatalf("got %q, %v", got, err)
		}
	})
	t.Run("an empty answer is an error", func(t *testing.T) {
		_, cl := newServer(t, llmtest.Script(llmtest.Text("  \n")))
		got, err := Describe(t.Context(), cl.Model(scout), img, "")
		if err == nil {
			t.Fatalf("got %q, want an error", got)
		}
	})
	t.Run("bytes that are not an image are refused before sending", func(t *testing.T) {
		srv, cl := newServer(t, nil)
		_, err := Describe(t.Context(), cl.Model(scout), llm.Image{Data: []byte("%PDF-1.4"), MIME: "image/png"}, "")
		if !errors.Is(err, ErrNotImage) || len(srv.Requests()) != 0 {
			t.Fatalf("err = %v after %d requests, want ErrNotImage and none", err, len(srv.Requests()))
		}
	})
	t.Run("a wrong MIME is corrected from the bytes", func(t *testing.T) {
		srv, cl := newServer(t, nil)
		jpg := readTestdata(t, "square.jpg")
		if _, err := Describe(t.Context(), cl.Model(scout), llm.Image{Data: jpg, MIME: "image/png"}, ""); err != nil {
			t.Fatal(err)
		}
		if body := string(srv.Requests()[0].Body); !strings.Contains(body, "data:image/jpeg;base64,") {
			t.Errorf("body %.300s should carry image/jpeg", body)
		}
	})
}

func TestLicenceGate(t *testing.T) {
	img := testPNG(t)
	srv, cl := newServer(t, llmtest.Script(
		llmtest.Fail(403, 5016, "User has not agreed to Llama3.2 model terms"),
		llmtest.Text("Thank you for agreeing."),
		llmtest.Text("A red square."),
	))

	_, err := Describe(t.Context(), cl.Model(llama), img, "")
	if !errors.Is(err, llm.ErrLicenseRequired) {
		t.Fatalf("err = %v, want llm.ErrLicenseRequired", err)
	}
	if !strings.Contains(err.Error(), `{"prompt":"agree"}`) {
		t.Errorf("error %q should say how to accept the licence", err)
	}
	if n := len(srv.Requests()); n != 1 {
		t.Fatalf("Describe sent %d requests; it must not agree on its own", n)
	}

	if err := AgreeLicense(t.Context(), cl, llama); err != nil {
		t.Fatal(err)
	}
	agree := srv.Requests()[1]
	if string(agree.Body) != `{"prompt":"agree"}` || agree.Path != "/accounts/test-account/ai/run/"+llama {
		t.Errorf("agreement sent %s to %s, want {\"prompt\":\"agree\"} to the model", agree.Body, agree.Path)
	}

	if got, err := Describe(t.Context(), cl.Model(llama), img, ""); err != nil || got != "A red square." {
		t.Fatalf("after agreeing: %q, %v", got, err)
	}
}

func TestAgreeLicenseFailures(t *testing.T) {
	t.Run("a refusal is returned, not taken as agreement", func(t *testing.T) {
		_, cl := newServer(t, llmtest.Script(llmtest.Fail(403, 5016, "User has not agreed to Llama3.2 model terms")))
		err := AgreeLicense(t.Context(), cl, llama)
		if !errors.Is(err, llm.ErrLicenseRequired) || !strings.Contains(err.Error(), "still") {
			t.Fatalf("err = %v, want ErrLicenseRequired saying the service still asks", err)
		}
	})
	t.Run("missing arguments", func(t *testing.T) {
		_, cl := newServer(t, nil)
		if err := AgreeLicense(t.Context(), nil, llama); err == nil {
			t.Error("nil client: want an error")
		}
		if err := AgreeLicense(t.Context(), cl, ""); err == nil {
			t.Error("empty model: want an error")
		}
	})
}

type receipt struct {
	Merchant string  `json:"merchant"`
	Total    float64 `json:"total"`
	Items    []item  `json:"items"`
}

type item struct {
	Name  string  `json:"name"`
	Price float64 `json:"price"`
}

func TestExtractRetriesWithFeedback(t *testing.T) {
	img := testPNG(t)
	srv, cl := newServer(t, llmtest.Script(
		llmtest.Text(`{"merchant": "Corner Cafe", "total": `),
		llmtest.Text(`{"merchant":"Corner Cafe","total":9.5,"items":[{"name":"Latte","price":4.5},{"name":"Croissant","price":5}]}`),
	))
	got, err := Extract[receipt](t.Context(), cl.Model(scout), img, "Read this receipt.")
	if err != nil {
		t.Fatal(err)
	}
	want := receipt{Merchant: "Corner Cafe", Total: 9.5, Items: []item{{"Latte", 4.5}, {"Croissant", 5}}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %+v, want %+v", got, want)
	}
	reqs := srv.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests, want 2", len(reqs))
	}
	second := string(reqs[1].Body)
	// The retry carries the original question and image, the bad answer, and the problems.
	for _, s := range []string{"Read this receipt.", "data:image/png;base64,", `"content":"{\"merchant\": \"Corner Cafe\", \"total\": "`, `not valid:\n- /: `, "truncated"} {
		if !strings.Contains(second, s) {
			t.Errorf("retry body lacks %q: %.600s", s, second)
		}
	}
}

func TestExtractGivesUpWithAValidationError(t *testing.T) {
	_, cl := newServer(t, llmtest.Script(llmtest.Text(`not json`), llmtest.Text(`{"merchant": 5}`)))
	_, err := Extract[receipt](t.Context(), cl.Model(scout), testPNG(t), "", structured.WithMaxAttempts(2))
	if !errors.Is(err, structured.ErrInvalidOutput) {
		t.Fatalf("err = %v, want structured.ErrInvalidOutput", err)
	}
}

func TestExtractWorksForEachFamily(t *testing.T) {
	img := testPNG(t)
	answer := `{"merchant":"Corner Cafe","total":4.5,"items":[{"name":"Latte","price":4.5}]}`
	cases := []struct {
		model string
		reply llmtest.Reply
		image string // how the image appears in the body
	}{
		{scout, llmtest.Text(answer), `"url":"data:image/png;base64,`},
		{llama, llmtest.Text(answer), `"image":[137,80,78,71,`},
		{llava, llmtest.JSON(map[string]string{"description": answer}), `"image":[137,80,78,71,`},
	}
	for _, c := range cases {
		t.Run(c.model, func(t *testing.T) {
			srv, cl := newServer(t, llmtest.Script(c.reply))
			got, err := Extract[receipt](t.Context(), cl.Model(c.model), img, "")
			if err != nil {
				t.Fatal(err)
			}
			if got.Merchant != "Corner Cafe" || got.Total != 4.5 || len(got.Items) != 1 {
				t.Errorf("got %+v", got)
			}
			body := string(srv.Requests()[0].Body)
			for _, s := range []string{DefaultExtractPrompt, c.image} {
				if !strings.Contains(body, s) {
					t.Errorf("body lacks %q: %.400s", s, body)
				}
			}
		})
	}
}

func TestExtractWithTheTestModel(t *testing.T) {
	// The emulator's test model answers with data valid for the schema it is sent.
	_, cl := newServer(t, nil)
	got, err := Extract[receipt](t.Context(), cl.Model(scout), testPNG(t), "")
	if err != nil {
		t.Fatal(err)
	}
	if got.Merchant == "" {
		t.Errorf("got %+v, want a merchant", got)
	}
}
