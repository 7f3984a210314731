package embed_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"os"
	"runtime"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gowai/gowai/embed"
)

var update = flag.Bool("update", false, "rewrite testdata/index-v1.bin")

// savedIndex builds a small index with Unicode text and metadata and returns it saved.
func savedIndex(t *testing.T, e embed.Embedder) (*embed.Index, []byte) {
	t.Helper()
	ix := embed.NewIndex(e)
	all := docs(12)
	all[3].Text = "Ünïcödé text: 漢字かな 🚀"
	all[4].Meta = map[string]string{"source": "a.md", "lang": "en", "empty": ""}
	all[5].Meta = nil
	if err := ix.Add(t.Context(), all...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	return ix, buf.Bytes()
}

func TestSaveLoadRoundTrip(t *testing.T) {
	e := &hashEmbedder{id: "@cf/baai/bge-small-en-v1.5", dims: 384}
	ix, file := savedIndex(t, e)
	loaded, err := embed.LoadIndex(bytes.NewReader(file), e)
	if err != nil {
		t.Fatal(err)
	}
	if loaded.Len() != ix.Len() {
		t.Fatalf("Len() = %d after loading, want %d", loaded.Len(), ix.Len())
	}
	for _, q := range []string{"text of document 4", "Ünïcödé text: 漢字かな 🚀", "something else entirely"} {
		want, err := ix.Search(t.Context(), q, 12)
		if err != nil {
			t.Fatal(err)
		}
		got, err := loaded.Search(t.Context(), q, 12)
		if err != nil {
			t.Fatal(err)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("search %q differs after loading (-saved +loaded):\n%s", q, diff)
		}
	}
	var again bytes.Buffer
	if err := loaded.Save(&again); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Bytes(), file) {
		t.Fatal("saving the loaded index gave different bytes")
	}
}

func TestSavedFormatIsStable(t *testing.T) {
	// testdata/index-v1.bin pins version 1 of the format: this build must read it and
	// write the same bytes. Regenerate only with a new format version: go test -update.
	e := &hashEmbedder{id: "@cf/baai/bge-small-en-v1.5", dims: 8}
	_, file := savedIndex(t, e)
	const golden = "testdata/index-v1.bin"
	if *update {
		if err := os.WriteFile(golden, file, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(file, want) {
		t.Fatal("Save no longer writes the version 1 bytes of testdata/index-v1.bin")
	}
	ix, err := embed.LoadIndex(bytes.NewReader(want), e)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ix.Search(t.Context(), "text of document 4", 1)
	if err != nil {
		t.Fatal(err)
	}
	if m[0].ID != "doc4" || m[0].Meta["source"] != "a.md" {
		t.Fatalf("best match %+v, want doc4 with its metadata", m[0])
	}
}

func TestLoadRefusesBadFiles(t *testing.T) {
	e := &hashEmbedder{id: "@cf/baai/bge-small-en-v1.5", dims: 384}
	_, file := savedIndex(t, e)
	edit := func(f func(b []byte) []byte) []byte { return f(bytes.Clone(file)) }

	tests := []struct {
		name string
		file []byte
		e    embed.Embedder
		want string
	}{
		{"empty", nil, e, "ends early"},
		{"wrong magic", edit(func(b []byte) []byte { copy(b, "NOTANIDX"); return b }), e, `not an index file (it starts "NOTANIDX"`},
		{"another format", []byte(`{"docs":[]}`), e, "not an index file"},
		{"wrong version", edit(func(b []byte) []byte { binary.LittleEndian.PutUint32(b[8:], 2); return b }), e, "format version 2; this build reads version 1"},
		{"flipped vector byte", edit(func(b []byte) []byte { b[len(b)-100] ^= 0x10; return b }), e, "the file is corrupt"},
		{"flipped checksum", edit(func(b []byte) []byte { b[len(b)-1] ^= 0xff; return b }), e, "the file is corrupt"},
		{"cut in the vectors", file[:len(file)/2], e, "ends early: it is truncated"},
		{"cut before the checksum", file[:len(file)-2], e, "ends before its checksum"},
		{"another model", file, &hashEmbedder{id: "@cf/baai/bge-base-en-v1.5", dims: 384}, "made with @cf/baai/bge-small-en-v1.5, not @cf/baai/bge-base-en-v1.5"},
		{"another dimension", file, &hashEmbedder{id: "@cf/baai/bge-small-en-v1.5", dims: 768}, "384 dimensions; the Embedder makes 768"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ix, err := embed.LoadIndex(bytes.NewReader(tt.file), tt.e)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("LoadIndex = %v, %v; want an error with %q", ix, err, tt.want)
			}
		})
	}
}

func TestLoadRefusesEveryDamagedByteAndEveryCut(t *testing.T) {
	e := &hashEmbedder{id: "m", dims: 4}
	ix := embed.NewIndex(e)
	if err := ix.Add(t.Context(), docs(3)...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	// An Embedder without ID and Dimensions methods: no model check can hide a damaged byte.
	type plain struct{ embed.Embedder }
	other := plain{e}
	if _, err := embed.LoadIndex(bytes.NewReader(file), other); err != nil {
		t.Fatal(err)
	}
	for i := range file {
		damaged := bytes.Clone(file)
		damaged[i] ^= 0x01
		if _, err := embed.LoadIndex(bytes.NewReader(damaged), other); err == nil {
			t.Fatalf("a file with byte %d of %d changed loaded without error", i, len(file))
		}
	}
	for n := range len(file) {
		if _, err := embed.LoadIndex(bytes.NewReader(file[:n]), other); err == nil {
			t.Fatalf("the first %d of %d bytes loaded without error", n, len(file))
		}
	}
}

func TestLoadWithoutModelChecks(t *testing.T) {
	// An Embedder that reports neither ID nor dimension cannot be checked, so it is trusted.
	_, file := savedIndex(t, &hashEmbedder{id: "m", dims: 16})
	type plain struct{ embed.Embedder }
	if _, err := embed.LoadIndex(bytes.NewReader(file), plain{&hashEmbedder{dims: 16}}); err != nil {
		t.Fatal(err)
	}
	if _, err := embed.LoadIndex(bytes.NewReader(file), nil); err == nil {
		t.Fatal("LoadIndex with a nil Embedder succeeded")
	}
}

type failingWriter struct{}

var errDiskFull = errors.New("disk full")

func (failingWriter) Write([]byte) (int, error) { return 0, errDiskFull }

func TestSaveReportsWriteErrors(t *testing.T) {
	ix := embed.NewIndex(&hashEmbedder{dims: 8})
	if err := ix.Add(t.Context(), docs(2)...); err != nil {
		t.Fatal(err)
	}
	if err := ix.Save(failingWriter{}); !errors.Is(err, errDiskFull) {
		t.Fatalf("Save = %v, want the writer's error", err)
	}
}

func TestSaveRefusesMetadataItCannotWrite(t *testing.T) {
	s := embed.NewMemoryStore()
	if err := s.Upsert(t.Context(), []embed.Vector{{ID: "a", Values: []float32{1}, Metadata: map[string]any{"n": 1}}}); err != nil {
		t.Fatal(err)
	}
	err := embed.NewIndexOn(&hashEmbedder{dims: 1}, s).Save(&bytes.Buffer{})
	if err == nil || !strings.Contains(err.Error(), `metadata "n" has type int`) {
		t.Fatalf("Save = %v, want the non-string metadata named", err)
	}
}

func TestLoadIndexDoesNotTrustTheHeaderForMemory(t *testing.T) {
	// A 24-byte file whose header announces 4,294,967,295 documents of 384 dimensions: it
	// must fail as truncated having allocated about what its reading buffers take, not what
	// the header announces.
	header := []byte("GOWAIIDX")
	for _, v := range []uint32{1, 0, 384, 0xffff_ffff} { // version, model "", dims, count
		header = binary.LittleEndian.AppendUint32(header, v)
	}
	e := &hashEmbedder{id: "m", dims: 384}
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := embed.LoadIndex(bytes.NewReader(header), e)
	runtime.ReadMemStats(&after)
	if err == nil || !strings.Contains(err.Error(), "ends early: it is truncated or corrupt") {
		t.Fatalf("LoadIndex of a bare header: %v", err)
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("LoadIndex of a 24-byte file allocated %d KiB", n>>10)
	}

	// Documents that are there but vectors that are not: still bounded by the file.
	ix := embed.NewIndex(&hashEmbedder{id: "m", dims: 4})
	if err := ix.Add(t.Context(), docs(2)...); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := ix.Save(&buf); err != nil {
		t.Fatal(err)
	}
	file := buf.Bytes()
	binary.LittleEndian.PutUint32(file[17:], 1<<16) // dims, after model "m": 2 documents of 65,536 values
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err = embed.LoadIndex(bytes.NewReader(file), e)
	runtime.ReadMemStats(&after)
	if err == nil {
		t.Fatal("a file with a corrupt dimension loaded")
	}
	if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
		t.Errorf("LoadIndex of a %d-byte file allocated %d KiB", len(file), n>>10)
	}
}
