package upload

import "math/bits"

// pageBits is the number of chunks one bitmap page covers (a 4 KiB page).
const (
	pageWords = 512
	pageBits  = pageWords * 64
)

// bitmap records which chunks of an upload were received. Pages are
// allocated when their first chunk arrives, so an upload announcing many
// tiny chunks costs one pointer per 32768 chunks until chunks come in:
// memory follows what was received, which the rate limit bounds, not what
// the client announced.
type bitmap struct {
	n     int64 // number of chunks
	set   int64 // number of chunks received
	pages []*[pageWords]uint64
}

func newBitmap(n int64) bitmap {
	return bitmap{n: n, pages: make([]*[pageWords]uint64, (n+pageBits-1)/pageBits)}
}

// has reports whether chunk i was received.
func (b *bitmap) has(i int64) bool {
	p := b.pages[i/pageBits]
	if p == nil {
		return false
	}
	o := i % pageBits
	return p[o/64]&(1<<(o%64)) != 0
}

// add marks chunk i received and reports whether it was new.
func (b *bitmap) add(i int64) bool {
	p := b.pages[i/pageBits]
	if p == nil {
		p = new([pageWords]uint64)
		b.pages[i/pageBits] = p
	}
	o := i % pageBits
	w, m := &p[o/64], uint64(1)<<(o%64)
	if *w&m != 0 {
		return false
	}
	*w |= m
	b.set++
	return true
}

// missing appends to dst the indexes of the first limit chunks not
// received, in order.
func (b *bitmap) missing(dst []int64, limit int) []int64 {
	for pi, p := range b.pages {
		base := int64(pi) * pageBits
		for wi := range pageWords {
			if len(dst) >= limit {
				return dst
			}
			start := base + int64(wi)*64
			if start >= b.n {
				return dst
			}
			var w uint64
			if p != nil {
				w = p[wi]
			}
			free := ^w
			if rest := b.n - start; rest < 64 {
				free &= 1<<rest - 1
			}
			for free != 0 && len(dst) < limit {
				bit := bits.TrailingZeros64(free)
				dst = append(dst, start+int64(bit))
				free &= free - 1
			}
		}
	}
	return dst
}
