package ws

import "sync"

// readBufSize is the size of the pooled buffer a reader holds while it has
// unread bytes. A message that fits (with its header) is returned from it
// without copying.
const readBufSize = 4 << 10

var readBufPool = sync.Pool{New: func() any {
	b := make([]byte, readBufSize)
	return &b
}}

func getReadBuf() *[]byte  { return readBufPool.Get().(*[]byte) }
func putReadBuf(b *[]byte) { readBufPool.Put(b) }

// Buffers for assembled messages are pooled by size class (8 KiB × 2^k up
// to 32 MiB), so a connection streaming large messages (upload chunks)
// reuses a few buffers; larger ones are not pooled.
const (
	msgBufMinClass = 8 << 10
	msgBufClasses  = 13
)

var msgBufPools [msgBufClasses]sync.Pool

// msgBufClass returns the class whose buffers hold n bytes, or -1.
func msgBufClass(n int) int {
	size := msgBufMinClass
	for c := range msgBufClasses {
		if n <= size {
			return c
		}
		size *= 2
	}
	return -1
}

// getBuf returns an empty buffer with capacity for at least n bytes.
func getBuf(n int) *[]byte {
	c := msgBufClass(n)
	if c < 0 {
		b := make([]byte, 0, n)
		return &b
	}
	if b, ok := msgBufPools[c].Get().(*[]byte); ok {
		*b = (*b)[:0]
		return b
	}
	b := make([]byte, 0, msgBufMinClass<<c)
	return &b
}

// putBuf returns a buffer of getBuf to its pool.
func putBuf(b *[]byte) {
	if c := msgBufClass(cap(*b)); c >= 0 && cap(*b) == msgBufMinClass<<c {
		*b = (*b)[:0]
		msgBufPools[c].Put(b)
	}
}
