package embed

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"maps"
	"math"
	"slices"
)

// The index file format, version 1. Integers are little-endian; a string is its byte length
// as a uint32, then its bytes.
//
//	magic     8 bytes  "GOWAIIDX"
//	version   uint32   1
//	model     string   the Embedder's ID(), "" when it has none
//	dims      uint32   vector length
//	count     uint32   number of documents
//	count ×   string id, string namespace, uint32 pairs, pairs × (string key, string value)
//	count × dims × float32 (IEEE 754 bits), vector i after vector i-1
//	checksum  uint32   CRC-32C (Castagnoli) of every byte before it
//
// Metadata keys are written sorted, so equal indexes give equal files.
const (
	fileMagic   = "GOWAIIDX"
	fileVersion = 1
	maxFileDims = 1 << 16 // no embeddings model comes near; a larger value means corruption
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Save writes the index to w in a versioned binary format that records the Embedder's model
// id (when it has an ID() string method) and the vector dimension, and ends with a checksum.
// Only an index on a MemoryStore (NewIndex, LoadIndex) can be saved. Adds wait while Save
// writes; searches do not.
func (ix *Index) Save(w io.Writer) error {
	s, ok := ix.store.(*MemoryStore)
	if !ok {
		return errors.New("embed: save: only an index on a MemoryStore can be saved (NewIndex makes one)")
	}
	model := ""
	if e, ok := ix.e.(interface{ ID() string }); ok {
		model = e.ID()
	}
	s.mu.RLock()
	defer s.mu.RUnlock()

	sum := crc32.New(castagnoli)
	out := &fileWriter{w: bufio.NewWriterSize(io.MultiWriter(w, sum), 64<<10)}
	out.w.WriteString(fileMagic)
	out.u32(fileVersion)
	out.str(model)
	out.u32(uint64(s.dims))
	out.u32(uint64(len(s.ids)))
	for i, id := range s.ids {
		out.str(id)
		out.str(s.ns[i])
		out.u32(uint64(len(s.meta[i])))
		for _, k := range slices.Sorted(maps.Keys(s.meta[i])) {
			v, ok := s.meta[i][k].(string)
			if !ok && out.err == nil {
				out.err = fmt.Errorf("embed: save: document %q: metadata %q has type %T; only strings can be saved", id, k, s.meta[i][k])
			}
			out.str(k)
			out.str(v)
		}
	}
	buf := make([]byte, 0, 64<<10)
	for _, x := range s.vecs {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(x))
		if len(buf) == cap(buf) {
			out.w.Write(buf)
			buf = buf[:0]
		}
	}
	out.w.Write(buf)
	if out.err != nil {
		return out.err
	}
	if err := out.w.Flush(); err != nil {
		return fmt.Errorf("embed: save: %w", err)
	}
	if _, err := w.Write(binary.LittleEndian.AppendUint32(nil, sum.Sum32())); err != nil {
		return fmt.Errorf("embed: save: %w", err)
	}
	return nil
}

// fileWriter writes the format's integers and strings. bufio.Writer keeps its first write
// error and returns it from Flush; err holds a value the format cannot represent.
type fileWriter struct {
	w   *bufio.Writer
	err error
}

func (f *fileWriter) u32(v uint64) {
	if v > math.MaxUint32 && f.err == nil {
		f.err = fmt.Errorf("embed: save: %d does not fit the format's 32-bit counts", v)
	}
	f.w.Write(binary.LittleEndian.AppendUint32(nil, uint32(v)))
}

func (f *fileWriter) str(s string) {
	f.u32(uint64(len(s)))
	f.w.WriteString(s)
}

// LoadIndex reads an index written by Save into a new MemoryStore and returns it with e as
// its Embedder. It refuses a file that is not an index, has another format version, is
// truncated or fails its checksum, and one made by another model or with another dimension
// than e's, when e reports them with ID() string and Dimensions() int methods: vectors from
// different models cannot be compared.
func LoadIndex(r io.Reader, e Embedder) (*Index, error) {
	if e == nil {
		return nil, errors.New("embed: load index: nil Embedder")
	}
	sum := crc32.New(castagnoli)
	br := bufio.NewReaderSize(r, 64<<10)
	in := &fileReader{r: io.TeeReader(br, sum)}

	magic := in.bytes(len(fileMagic))
	if in.err == nil && string(magic) != fileMagic {
		return nil, fmt.Errorf("embed: load index: not an index file (it starts %q, an index starts %q)", magic, fileMagic)
	}
	if v := in.u32(); in.err == nil && v != fileVersion {
		return nil, fmt.Errorf("embed: load index: format version %d; this build reads version %d", v, fileVersion)
	}
	model := in.str()
	dims, count := int(in.u32()), int(in.u32())
	if in.err == nil && (dims > maxFileDims || dims == 0 && count > 0) {
		return nil, fmt.Errorf("embed: load index: dimension %d for %d documents: the file is corrupt", dims, count)
	}
	if in.err == nil && uint64(count)*uint64(dims) > math.MaxInt/4 {
		return nil, fmt.Errorf("embed: load index: %d documents of %d dimensions: the file is corrupt", count, dims)
	}
	// count and dims come from the file: nothing is sized by them before the data they
	// announce has been read, so a corrupt header costs no more memory than the file.
	s := &MemoryStore{dims: dims, where: map[string]int{}}
	for i := 0; i < count && in.err == nil; i++ {
		id, ns, pairs := in.str(), in.str(), int(in.u32())
		md := make(map[string]any, min(pairs, 64))
		for range pairs {
			if in.err != nil {
				break
			}
			k := in.str()
			md[k] = in.str()
		}
		if _, dup := s.where[id]; dup && in.err == nil {
			return nil, fmt.Errorf("embed: load index: document %q appears twice: the file is corrupt", id)
		}
		s.where[id] = i
		s.ids = append(s.ids, id)
		s.ns = append(s.ns, ns)
		s.meta = append(s.meta, md)
	}
	total := count * dims
	buf := make([]byte, 64<<10)
	s.vecs = make([]float32, 0, min(total, len(buf)/4))
	for left := int64(total) * 4; left > 0 && in.err == nil; {
		chunk := buf[:min(left, int64(len(buf)))]
		in.full(chunk)
		if in.err != nil {
			break
		}
		if room := cap(s.vecs) - len(s.vecs); room < len(chunk)/4 {
			// Grow by doubling, up to what the header announces, once the data is here.
			s.vecs = slices.Grow(s.vecs, min(total, 2*cap(s.vecs))-len(s.vecs))
		}
		for j := 0; j+4 <= len(chunk); j += 4 {
			s.vecs = append(s.vecs, math.Float32frombits(binary.LittleEndian.Uint32(chunk[j:])))
		}
		left -= int64(len(chunk))
	}
	if in.err != nil {
		if errors.Is(in.err, io.EOF) || errors.Is(in.err, io.ErrUnexpectedEOF) {
			return nil, errors.New("embed: load index: the file ends early: it is truncated or corrupt")
		}
		return nil, fmt.Errorf("embed: load index: %w", in.err)
	}
	want := sum.Sum32()
	var tail [4]byte
	if _, err := io.ReadFull(br, tail[:]); err != nil {
		return nil, errors.New("embed: load index: the file ends before its checksum: it is truncated")
	}
	if got := binary.LittleEndian.Uint32(tail[:]); got != want {
		return nil, fmt.Errorf("embed: load index: checksum %08x, want %08x: the file is corrupt", got, want)
	}

	if m, ok := e.(interface{ ID() string }); ok && model != "" && m.ID() != model {
		return nil, fmt.Errorf("embed: load index: it was made with %s, not %s: vectors of different models do not compare", model, m.ID())
	}
	if m, ok := e.(interface{ Dimensions() int }); ok && count > 0 && m.Dimensions() > 0 && m.Dimensions() != dims {
		return nil, fmt.Errorf("embed: load index: its vectors have %d dimensions; the Embedder makes %d", dims, m.Dimensions())
	}
	return NewIndexOn(e, s), nil
}

// fileReader reads the format's fields, keeping the first error; after one, every read
// returns zero values.
type fileReader struct {
	r   io.Reader
	err error
}

func (f *fileReader) full(b []byte) {
	if f.err == nil {
		_, f.err = io.ReadFull(f.r, b)
	}
}

func (f *fileReader) bytes(n int) []byte {
	b := make([]byte, n)
	f.full(b)
	return b
}

func (f *fileReader) u32() uint32 {
	var b [4]byte
	f.full(b[:])
	if f.err != nil {
		return 0
	}
	return binary.LittleEndian.Uint32(b[:])
}

// str reads a string. A long one is read in pieces, so that a corrupt length cannot make it
// allocate more than the file holds.
func (f *fileReader) str() string {
	n := int64(f.u32())
	if f.err != nil {
		return ""
	}
	if n <= 64<<10 {
		return string(f.bytes(int(n)))
	}
	var b bytes.Buffer
	if _, err := io.CopyN(&b, f.r, n); err != nil {
		f.err = err
		return ""
	}
	return b.String()
}
