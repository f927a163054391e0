package sendq

import "sync"

// MergeFunc merges delta object b into delta object a, appending the result
// to dst. ok=false means the two cannot be expressed as one delta; they are
// then sent separately.
type MergeFunc func(dst, a, b []byte) (out []byte, ok bool, err error)

// DefaultMaxFrame is the default size above which Frames starts a new frame.
const DefaultMaxFrame = 1 << 20

// A Framer keeps its frame buffer between batches only up to retainFrame
// bytes. Larger frames (a burst of room notices, say) are built in buffers
// shared by every Framer through largeFrames, so a server does not keep
// one burst-sized buffer per connection, and a burst does not regrow one
// buffer per connection from scratch.
const retainFrame = 16 << 10

var largeFrames sync.Pool // of *[]byte, each with len 0

// Framer turns batches into wire frames. It holds scratch buffers and is
// owned by one writer goroutine.
type Framer struct {
	// Merge merges adjacent deltas of one component; nil disables merging.
	Merge MergeFunc
	// MaxFrame bounds the size of a JSON array frame (a single larger
	// message is still sent whole). Zero means DefaultMaxFrame.
	MaxFrame int

	frame  []byte
	merged []byte
	tmp    []byte
	join   []byte
	// msgs hold merged messages, alternating: Frames may still hold the
	// previous one as its pending single item when the next run merges.
	msgs [2][]byte
	next int
}

// maxKeptMerged bounds a merged message kept in a Framer's scratch; a
// larger one is allocated for its frame only.
const maxKeptMerged = 16 << 10

// Frames calls emit once per wire frame for batch, in order. Consecutive
// JSON items become one frame: the item itself when alone, else a JSON array
// of them. Binary items are emitted as they are. The frame passed to emit is
// only valid during the call. Frames stops at the first error from emit.
func (f *Framer) Frames(batch []Item, emit func(binary bool, frame []byte) error) error {
	maxFrame := f.MaxFrame
	if maxFrame <= 0 {
		maxFrame = DefaultMaxFrame
	}
	var (
		single Item // the pending item when count == 1 (its bytes are stable)
		count  int
		buf    = f.frame[:0]
		err    error
		large  *[]byte
	)
	if need := min(batchSize(batch), maxFrame+1); need > retainFrame {
		if p, _ := largeFrames.Get().(*[]byte); p != nil && cap(*p) >= need {
			large = p
		} else {
			b := make([]byte, 0, need)
			large = &b
		}
		buf = (*large)[:0]
	} else if need > cap(buf) && (len(batch) > 1 || len(batch) == 1 && batch[0].Tails != nil) {
		// Sized once rather than grown by doubling while appending.
		buf = make([]byte, 0, max(need, 2*cap(buf), 512))
	}
	flush := func() error {
		var err error
		switch count {
		case 0:
		case 1:
			err = emit(false, f.joined(single))
		default:
			buf = append(buf, ']')
			err = emit(false, buf)
		}
		count, single, buf = 0, Item{}, buf[:0]
		return err
	}
	add := func(it Item) error {
		size := len(it.Prefix) + len(it.Data)
		if count > 0 && len(buf)+len(single.Prefix)+len(single.Data)+size+2 > maxFrame {
			if err := flush(); err != nil {
				return err
			}
		}
		switch count {
		case 0:
			single = it
		case 1:
			buf = append(buf[:0], '[')
			buf = append(append(buf, single.Prefix...), single.Data...)
			buf = append(buf, ',')
			buf = append(append(buf, it.Prefix...), it.Data...)
			single = Item{}
		default:
			buf = append(buf, ',')
			buf = append(append(buf, it.Prefix...), it.Data...)
		}
		count++
		return nil
	}
	for i := 0; i < len(batch) && err == nil; i++ {
		it := batch[i]
		if it.Kind == Binary {
			if err = flush(); err == nil {
				err = emit(true, f.joined(it))
			}
			continue
		}
		if it.Tails != nil {
			for _, t := range it.Tails {
				if err = add(Item{Prefix: it.Prefix, Data: t}); err != nil {
					break
				}
			}
			continue
		}
		if it.Kind == Delta && f.Merge != nil && i+1 < len(batch) && isMergeable(it, batch[i+1]) {
			var n int
			it.Data, n = f.mergeRun(batch[i:])
			i += n - 1
		}
		err = add(it)
	}
	if err == nil {
		err = flush()
	}
	if large != nil {
		*large = buf[:0]
		largeFrames.Put(large)
	} else {
		f.frame = buf[:0]
	}
	return err
}

// batchSize bounds the size of the JSON frames built from batch: every
// message plus a comma or bracket each.
func batchSize(batch []Item) int {
	n := 1
	for i := range batch {
		it := &batch[i]
		n += it.size() + 1
		if it.Tails != nil {
			n += len(it.Tails)
		}
	}
	return n
}

// joined returns Prefix+Data, in a scratch buffer when Prefix is set (valid
// until the next call).
func (f *Framer) joined(it Item) []byte {
	if len(it.Prefix) == 0 {
		return it.Data
	}
	f.join = append(append(f.join[:0], it.Prefix...), it.Data...)
	return f.join
}

func isMergeable(a, b Item) bool {
	return b.Kind == Delta && a.Key == b.Key && a.DeltaEnd > a.DeltaStart && b.DeltaEnd > b.DeltaStart
}

// mergeRun merges the run of adjacent same-component deltas starting at
// run[0] for as long as Merge agrees, and returns the resulting message and
// how many items it consumed (at least 1).
func (f *Framer) mergeRun(run []Item) ([]byte, int) {
	first := run[0]
	acc := append(f.tmp[:0], first.Data[first.DeltaStart:first.DeltaEnd]...)
	n := 1
	for n < len(run) && isMergeable(first, run[n]) {
		next := run[n]
		out, ok, err := f.Merge(f.merged[:0], acc, next.Data[next.DeltaStart:next.DeltaEnd])
		if err != nil || !ok {
			break
		}
		acc, f.merged = out, acc[:0]
		n++
	}
	f.tmp = acc
	if n == 1 {
		return first.Data, 1
	}
	last := run[n-1]
	size := first.DeltaStart + len(acc) + len(last.Data) - last.DeltaEnd
	var msg []byte
	if size <= maxKeptMerged {
		f.next ^= 1
		msg = f.msgs[f.next][:0]
	} else {
		msg = make([]byte, 0, size)
	}
	msg = append(msg, first.Data[:first.DeltaStart]...)
	msg = append(msg, acc...)
	msg = append(msg, last.Data[last.DeltaEnd:]...)
	if size <= maxKeptMerged {
		f.msgs[f.next] = msg
	}
	return msg, n
}
