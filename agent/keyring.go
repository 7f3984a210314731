package agent

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"sync"

	"github.com/gowai/gowai/llm"
)

// keyringSize is how many runs an Agent remembers the session-affinity keys of.
const keyringSize = 256

// keyring remembers the session-affinity keys of an Agent's recent runs by their
// conversations, so that RunMessages given the messages of one of them, with more
// appended, goes on under its key and the prompt cache the earlier calls filled.
type keyring struct {
	mu    sync.Mutex
	keys  map[[sha256.Size]byte]string // chained hash of a run's Result.Messages -> its key
	order [][sha256.Size]byte          // oldest first
}

// remember records key as the key of the conversation msgs.
func (k *keyring) remember(msgs []llm.Message, key string) {
	if k == nil || len(msgs) == 0 || key == "" {
		return
	}
	hs := prefixHashes(msgs)
	h := hs[len(hs)-1]
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.keys == nil {
		k.keys = make(map[[sha256.Size]byte]string)
	}
	if _, ok := k.keys[h]; !ok {
		k.order = append(k.order, h)
		if len(k.order) > keyringSize {
			delete(k.keys, k.order[0])
			k.order = k.order[1:]
		}
	}
	k.keys[h] = key
}

// find returns the key of the longest remembered conversation msgs starts with, or "".
func (k *keyring) find(msgs []llm.Message) string {
	if k == nil || len(msgs) == 0 {
		return ""
	}
	hs := prefixHashes(msgs)
	k.mu.Lock()
	defer k.mu.Unlock()
	for i := len(hs) - 1; i >= 0; i-- {
		if key, ok := k.keys[hs[i]]; ok {
			return key
		}
	}
	return ""
}

// prefixHashes returns, for each i, a hash of msgs[:i+1]: each hash covers the one before
// it and every field of the next message.
func prefixHashes(msgs []llm.Message) [][sha256.Size]byte {
	out := make([][sha256.Size]byte, len(msgs))
	h := sha256.New()
	var prev [sha256.Size]byte
	for i, m := range msgs {
		h.Reset()
		h.Write(prev[:])
		field(h, string(m.Role))
		field(h, m.Content)
		field(h, m.ToolCallID)
		for _, c := range m.ToolCalls {
			field(h, c.ID)
			field(h, c.Name)
			field(h, string(c.Arguments))
		}
		for _, img := range m.Images {
			field(h, img.MIME)
			field(h, string(img.Data))
		}
		h.Sum(prev[:0])
		out[i] = prev
	}
	return out
}

// field writes s to h with its length first, so that fields cannot run into each other.
func field(h hash.Hash, s string) {
	var n [binary.MaxVarintLen64]byte
	h.Write(n[:binary.PutUvarint(n[:], uint64(len(s)))])
	h.Write([]byte(s))
}
