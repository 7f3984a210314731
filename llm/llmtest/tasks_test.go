package llmtest

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gowai/gowai/llm"
)

// post sends body to model's native route and returns the status, Content-Type, the
// cf-ai-neurons header and the body.
func post(t *testing.T, srv *Server, model, contentType string, body []byte, query string) (int, string, string, []byte) {
	t.Helper()
	url := srv.URL() + "/accounts/acct/ai/run/" + model
	if query != "" {
		url += "?" + query
	}
	resp, err := http.Post(url, contentType, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, resp.Header.Get("Content-Type"), resp.Header.Get("cf-ai-neurons"), b
}

// result decodes the envelope's result of a JSON reply.
func result(t *testing.T, body []byte, out any) {
	t.Helper()
	var env struct {
		Result  json.RawMessage `json:"result"`
		Success bool            `json:"success"`
	}
	if err := json.Unmarshal(body, &env); err != nil || !env.Success {
		t.Fatalf("reply %s: %v", body, err)
	}
	if err := json.Unmarshal(env.Result, out); err != nil {
		t.Fatalf("result %s: %v", env.Result, err)
	}
}

// testWAV is secs of silent 16-bit mono PCM at 8 kHz.
func testWAV(secs float64) []byte { return wavTone(secs, 8000, "")[:44+2*int(secs*8000)] }

func TestTaskTranscribeForms(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	wav := testWAV(2.5)

	// whisper: raw body, and the byte array.
	for _, form := range []struct {
		ct   string
		body []byte
	}{{"audio/wav", wav}, {"application/json", []byte(`{"audio":` + byteValues(wav) + `}`)}} {
		status, _, neurons, body := post(t, srv, "@cf/openai/whisper", form.ct, form.body, "")
		var r struct {
			Text  string `json:"text"`
			Words []struct {
				End float64 `json:"end"`
			} `json:"words"`
			VTT string `json:"vtt"`
		}
		if status != 200 {
			t.Fatalf("%s: status %d: %s", form.ct, status, body)
		}
		result(t, body, &r)
		if r.Text != "test model heard 2.5 seconds of audio" || r.Words[len(r.Words)-1].End != 2.5 || !strings.Contains(r.VTT, "00:00:00.000 --> 00:00:02.500") {
			t.Errorf("%s: %+v", form.ct, r)
		}
		if neurons != "1.71" { // 2.5 s at 41.14 neurons a minute
			t.Errorf("cf-ai-neurons = %q, want 1.71", neurons)
		}
	}

	// whisper-large-v3-turbo: base64 and options; a raw body is refused.
	in, _ := json.Marshal(map[string]any{"audio": base64.StdEncoding.EncodeToString(wav), "task": "translate", "language": "de"})
	status, _, _, body := post(t, srv, "@cf/openai/whisper-large-v3-turbo", "application/json", in, "")
	var turbo struct {
		Text     string `json:"text"`
		Segments []struct {
			End float64 `json:"end"`
		} `json:"segments"`
		Info struct {
			Language string  `json:"language"`
			Duration float64 `json:"duration"`
		} `json:"transcription_info"`
	}
	if status != 200 {
		t.Fatalf("turbo: %d %s", status, body)
	}
	result(t, body, &turbo)
	if !strings.HasPrefix(turbo.Text, "(translated to English) ") || turbo.Info.Duration != 2.5 || turbo.Segments[0].End != 2.5 || turbo.Info.Language != "en" {
		t.Errorf("turbo: %+v", turbo)
	}
	if status, _, _, body := post(t, srv, "@cf/openai/whisper-large-v3-turbo", "audio/wav", wav, ""); status != 400 || !bytes.Contains(body, []byte("5006")) {
		t.Errorf("turbo with a raw body: %d %s", status, body)
	}

	// nova-3: raw body with the language in the query; JSON is refused.
	status, _, _, body = post(t, srv, "@cf/deepgram/nova-3", "audio/wav", wav, "language=fr")
	var nova struct {
		Results struct {
			Channels []struct {
				Lang string `json:"detected_language"`
				Alts []struct {
					Transcript string `json:"transcript"`
				} `json:"alternatives"`
			} `json:"channels"`
		} `json:"results"`
		Metadata struct {
			Duration float64 `json:"duration"`
		} `json:"metadata"`
	}
	if status != 200 {
		t.Fatalf("nova-3: %d %s", status, body)
	}
	result(t, body, &nova)
	if nova.Results.Channels[0].Alts[0].Transcript == "" || nova.Results.Channels[0].Lang != "fr" || nova.Metadata.Duration != 2.5 {
		t.Errorf("nova-3: %+v", nova)
	}
	if status, _, _, _ := post(t, srv, "@cf/deepgram/nova-3", "application/json", []byte(`{"audio":[1]}`), ""); status != 400 {
		t.Errorf("nova-3 with JSON: status %d, want 400", status)
	}
	// Bytes that are no audio are refused.
	if status, _, _, body := post(t, srv, "@cf/openai/whisper", "audio/wav", []byte("hello"), ""); status != 400 || !bytes.Contains(body, []byte("could not be decoded")) {
		t.Errorf("not audio: %d %s", status, body)
	}
}

// byteValues is b as a JSON array of numbers.
func byteValues(b []byte) string {
	vals := make([]int, len(b))
	for i, c := range b {
		vals[i] = int(c)
	}
	out, _ := json.Marshal(vals)
	return string(out)
}

func catalogInfo(id string) llm.ModelInfo {
	info, _ := llm.LookupModel(id)
	return info
}

func TestTaskSpeak(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	status, ct, neurons, body := post(t, srv, "@cf/deepgram/aura-1", "application/json", []byte(`{"text":"Hello there."}`), "")
	if status != 200 || ct != "audio/mpeg" || len(body) < 417 || body[0] != 0xFF || neurons != "16.36" {
		t.Errorf("aura-1 mp3: %d %s %d bytes, neurons %s", status, ct, len(body), neurons)
	}
	// Aura bills characters, not bytes: twelve two-byte characters cost as Hello there.
	if _, _, n, _ := post(t, srv, "@cf/deepgram/aura-1", "application/json", []byte(`{"text":"ééééééééééé."}`), ""); n != "16.36" {
		t.Errorf("aura-1 on accented text: neurons %s, want 16.36 for 12 characters", n)
	}
	status, ct, _, body = post(t, srv, "@cf/deepgram/aura-2-en", "application/json", []byte(`{"text":"Hello there.","encoding":"linear16","container":"wav","sample_rate":8000}`), "")
	if status != 200 || ct != "audio/wav" || string(body[:4]) != "RIFF" || binary.LittleEndian.Uint32(body[24:]) != 8000 {
		t.Errorf("aura-2 wav: %d %s %.12q", status, ct, body)
	}
	status, ct, _, body = post(t, srv, "@cf/myshell-ai/melotts", "application/json", []byte(`{"prompt":"Bonjour.","lang":"fr"}`), "")
	var melo struct {
		Audio string `json:"audio"`
	}
	if status != 200 || ct != "application/json" {
		t.Fatalf("melotts: %d %s %s", status, ct, body)
	}
	result(t, body, &melo)
	if b, err := base64.StdEncoding.DecodeString(melo.Audio); err != nil || b[0] != 0xFF {
		t.Errorf("melotts audio: %v", err)
	}
	if status, _, _, _ := post(t, srv, "@cf/myshell-ai/melotts", "application/json", []byte(`{"text":"x"}`), ""); status != 400 {
		t.Errorf("melotts without prompt: %d", status)
	}
	if status, _, _, _ := post(t, srv, "@cf/deepgram/aura-1", "application/json", []byte(`{"text":"x","encoding":"ogg-theora"}`), ""); status != 400 {
		t.Errorf("aura with a bad encoding: %d", status)
	}
	// Every encoding Aura documents is answered, in its own format.
	for _, tc := range []struct{ encoding, container, contentType, prefix string }{
		{"mulaw", "", "audio/wav", "RIFF"},
		{"alaw", "wav", "audio/wav", "RIFF"},
		{"mulaw", "none", "audio/basic", "\xff\xff"},
		{"linear16", "none", "audio/l16", ""},
		{"flac", "", "audio/flac", "fLaC"},
		{"opus", "ogg", "audio/ogg", "OggS"},
		{"aac", "", "audio/aac", "\xff\xf1"},
	} {
		in := fmt.Sprintf(`{"text":"Hello there.","encoding":%q,"container":%q}`, tc.encoding, tc.container)
		status, ct, _, body := post(t, srv, "@cf/deepgram/aura-2-es", "application/json", []byte(in), "")
		if status != 200 || ct != tc.contentType || !strings.HasPrefix(string(body), tc.prefix) || len(body) < 100 {
			t.Errorf("%s in %q: %d %s %.8q (%d bytes)", tc.encoding, tc.container, status, ct, body, len(body))
		}
		if tc.prefix == "RIFF" {
			format := map[string]uint16{"mulaw": 7, "alaw": 6}[tc.encoding]
			if got := binary.LittleEndian.Uint16(body[20:]); got != format || binary.LittleEndian.Uint32(body[40:]) != uint32(len(body)-44) {
				t.Errorf("%s WAV: format %d, want %d; data size %d of %d bytes", tc.encoding, got, format, binary.LittleEndian.Uint32(body[40:]), len(body))
			}
		}
	}
}

func TestTaskTextTasks(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	var tr struct {
		Text string `json:"translated_text"`
	}
	status, _, _, body := post(t, srv, "@cf/meta/m2m100-1.2b", "application/json", []byte(`{"text":"Hello","target_lang":"french"}`), "")
	if status != 200 {
		t.Fatalf("m2m100: %d %s", status, body)
	}
	result(t, body, &tr)
	if tr.Text != "[fr] Hello" {
		t.Errorf("translated_text = %q", tr.Text)
	}
	if status, _, _, body := post(t, srv, "@cf/meta/m2m100-1.2b", "application/json", []byte(`{"text":"Hello","target_lang":"klingon"}`), ""); status != 400 || !bytes.Contains(body, []byte("klingon")) {
		t.Errorf("unknown language: %d %s", status, body)
	}
	var ind struct {
		Translations []string `json:"translations"`
	}
	// indictrans2 is priced per token like m2m100: its neurons follow the texts' length.
	_, _, neurons, body := post(t, srv, "@cf/ai4bharat/indictrans2-en-indic-1B", "application/json", []byte(`{"text":["a long enough sentence to cost something","b"],"target_language":"hin_Deva"}`), "")
	result(t, body, &ind)
	if len(ind.Translations) != 2 || ind.Translations[1] != "[hin_Deva] b" {
		t.Errorf("indictrans2: %v", ind.Translations)
	}
	if neurons == "" || neurons == "0.00" {
		t.Errorf("indictrans2: cf-ai-neurons %q, want the price of its tokens", neurons)
	}
	var sum struct {
		Summary string `json:"summary"`
	}
	_, _, _, body = post(t, srv, "@cf/facebook/bart-large-cnn", "application/json", []byte(`{"input_text":"One two three four. Five six.","max_length":3}`), "")
	result(t, body, &sum)
	if sum.Summary != "test model summary: One two three" {
		t.Errorf("summary = %q", sum.Summary)
	}
	var labels []struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	_, _, _, body = post(t, srv, "@cf/huggingface/distilbert-sst-2-int8", "application/json", []byte(`{"text":"a great and wonderful day"}`), "")
	result(t, body, &labels)
	if len(labels) != 2 || labels[0].Label != "NEGATIVE" || labels[1].Score < 0.9 {
		t.Errorf("distilbert: %+v", labels)
	}
}

// TestTaskModerate checks both of llama-guard's reply shapes. The catalog files the model
// under text generation, so the test calls the emulator's task answer directly.
func TestTaskModerate(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	ask := func(body string) map[string]any {
		t.Helper()
		r := httptest.NewRequest("POST", "/accounts/a/ai/run/"+llamaGuard, strings.NewReader(body))
		ex := &exchange{route: routeRun, r: r, body: []byte(body), model: llamaGuard, reqID: "id"}
		out, ok := srv.task(ex, catalogInfo(llamaGuard))
		if !ok || out.status != 200 {
			t.Fatalf("moderate %s: ok %v, %d %s", body, ok, out.status, out.body)
		}
		var m map[string]any
		result(t, out.body, &m)
		return m
	}
	if r := ask(`{"messages":[{"role":"user","content":"How do I bake bread?"}]}`); r["response"] != "safe" {
		t.Errorf("safe text: %v", r)
	}
	// Through the server, the reply bills its tokens in cf-ai-neurons as the service does.
	if status, _, n, body := post(t, srv, llamaGuard, "application/json", []byte(`{"messages":[{"role":"user","content":"How do I bake bread?"}]}`), ""); status != 200 || n == "" || n == "0.00" {
		t.Errorf("moderation over HTTP: %d, cf-ai-neurons %q, %s", status, n, body)
	}
	if r := ask(`{"messages":[{"role":"user","content":"how to build a bomb and kill"}]}`); r["response"] != "unsafe\nS1,S9" {
		t.Errorf("unsafe text: %v", r)
	}
	r := ask(`{"messages":[{"role":"user","content":"kill"}],"response_format":{"type":"json_object"}}`)
	v, _ := r["response"].(map[string]any)
	if v["safe"] != false || len(v["categories"].([]any)) != 1 {
		t.Errorf("json_object: %v", r)
	}
}

func TestTaskImageAnalysis(t *testing.T) {
	srv := NewServer(nil)
	defer srv.Close()
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	img.Set(1, 1, color.White)
	var b bytes.Buffer
	_ = png.Encode(&b, img)
	in := []byte(`{"image":` + byteValues(b.Bytes()) + `}`)

	var labels []struct {
		Label string  `json:"label"`
		Score float64 `json:"score"`
	}
	_, _, _, body := post(t, srv, "@cf/microsoft/resnet-50", "application/json", in, "")
	result(t, body, &labels)
	if len(labels) != 5 || labels[0].Score <= labels[1].Score {
		t.Errorf("resnet-50: %+v", labels)
	}
	var objs []struct {
		Label string `json:"label"`
		Box   struct {
			XMin, YMin, XMax, YMax int
		} `json:"box"`
	}
	_, _, _, body = post(t, srv, "@cf/facebook/detr-resnet-50", "application/json", in, "")
	result(t, body, &objs)
	for _, o := range objs {
		if o.Box.XMin < 0 || o.Box.YMin < 0 || o.Box.XMax > 40 || o.Box.YMax > 30 || o.Box.XMin >= o.Box.XMax {
			t.Errorf("box outside the 40×30 image: %+v", o)
		}
	}
	if len(objs) == 0 {
		t.Error("no objects")
	}
	if status, _, _, _ := post(t, srv, "@cf/facebook/detr-resnet-50", "application/json", []byte(`{"image":[1,2,3]}`), ""); status != 400 {
		t.Errorf("not an image: %d", status)
	}

	// WebP, which the vision package sends too, in its lossless, extended and lossy forms:
	// the boxes fit its size.
	riff := func(chunk string, payload []byte) []byte {
		b := []byte("RIFF\x00\x00\x00\x00WEBP" + chunk)
		b = binary.LittleEndian.AppendUint32(b, uint32(len(payload)))
		return append(b, payload...)
	}
	vp8l := binary.LittleEndian.AppendUint32([]byte{0x2F}, 39|29<<14)
	vp8x := []byte{0, 0, 0, 0, 39, 0, 0, 29, 0, 0}
	vp8 := []byte{0, 0, 0, 0x9D, 0x01, 0x2A, 40, 0, 30, 0}
	for name, webp := range map[string][]byte{"VP8L": riff("VP8L", vp8l), "VP8X": riff("VP8X", vp8x), "VP8": riff("VP8 ", vp8)} {
		webp = append(webp, make([]byte, 16)...)
		status, _, _, body := post(t, srv, "@cf/facebook/detr-resnet-50", "application/json", []byte(`{"image":`+byteValues(webp)+`}`), "")
		if status != 200 {
			t.Errorf("WebP %s: %d %s", name, status, body)
			continue
		}
		result(t, body, &objs)
		if len(objs) == 0 || objs[1].Box.XMax != 40 || objs[1].Box.YMax != 30 {
			t.Errorf("WebP %s: %+v, want the last box to end at 40×30", name, objs)
		}
	}
}
