package protocol

import (
	"crypto/rand"
	"sync"
)

// IDAlphabet is the 64-character alphabet of generated ids. It holds no ':'
// (cluster keys rely on that).
const IDAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

// IDLength is the length of a generated id (about 48 bits of entropy).
const IDLength = 8

// idBatch is how many random bytes one crypto/rand read fetches (64 ids).
const idBatch = 64 * IDLength

var ids = struct {
	mu  sync.Mutex
	buf [idBatch]byte
	off int
}{off: idBatch}

// NewID returns a fresh id: IDLength characters of IDAlphabet, each chosen by
// the low six bits of one byte from crypto/rand. Random bytes are read in
// batches; NewID is safe for concurrent use.
func NewID() string {
	var b [IDLength]byte
	ids.mu.Lock()
	if ids.off == idBatch {
		// crypto/rand.Read never fails (it crashes the program instead).
		_, _ = rand.Read(ids.buf[:])
		ids.off = 0
	}
	copy(b[:], ids.buf[ids.off:ids.off+IDLength])
	clear(ids.buf[ids.off : ids.off+IDLength]) // handed out: forget it
	ids.off += IDLength
	ids.mu.Unlock()
	for i, c := range b {
		b[i] = IDAlphabet[c&63]
	}
	return string(b[:])
}
