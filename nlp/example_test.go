package nlp_test

import (
	"context"
	"fmt"
	"log"

	"github.com/gowai/gowai/llm/llmtest"
	"github.com/gowai/gowai/nlp"
)

func ExampleTranslate() {
	// The offline emulator marks the target language; a real program would use
	// llm.NewClient().
	srv := llmtest.NewServer(nil)
	defer srv.Close()
	c, err := srv.Client()
	if err != nil {
		log.Fatal(err)
	}
	t, err := nlp.Translate(context.Background(), c, nlp.M2M100, "Good morning", "spanish")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(t.Text)

	_, err = nlp.Translate(context.Background(), c, nlp.M2M100, "Good morning", "latin")
	fmt.Println(err)
	// Output:
	// [es] Good morning
	// nlp: translate: @cf/meta/m2m100-1.2b does not translate into "latin"; it takes arabic, chinese, english, french, german, hindi, japanese, portuguese, russian, spanish (or their two-letter codes)
}

func ExampleCategory_String() {
	fmt.Println(nlp.Category("S9"), "/", nlp.Category("S11").Name())
	// Output: S9 (Indiscriminate Weapons) / Suicide & Self-Harm
}
