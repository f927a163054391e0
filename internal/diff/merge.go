package diff

import (
	"errors"
	"fmt"
)

// maxMergeNesting bounds how deep Merge descends into objects present in
// both deltas; deeper, it reports that the deltas cannot be merged, which is
// always a safe answer, so its cost stays linear in the input size.
const maxMergeNesting = MaxDepthLimit

// Merge appends to dst one delta with the effect of the JSON delta object a
// followed by the JSON delta object b, for coalescing two queued STATE_DELTA
// messages of one component (spec §12.2), and returns the extended buffer.
//
// Keys of a come first, in a's order, then the keys only b has, in b's order.
// A key in both takes b's value, except that two object values are merged
// recursively with the same rules. ok is false, and out is dst unchanged,
// when one delta cannot express both: when either input is not an object, or
// when at some key a holds a non-object (including null) and b an object,
// because applying b then replaces the value while the merged object would be
// deep-merged into the client's older value. The caller then sends both
// deltas. ok is also false when objects present in both are nested deeper
// than [MaxDepthLimit].
//
// Invalid JSON in either input yields an error wrapping [ErrInvalidJSON]; an
// object that must be merged key by key and repeats a key yields
// [ErrDuplicateKey]. Merge does not retain or modify a and b. The output is
// compact.
func Merge(dst, a, b []byte) (out []byte, ok bool, err error) {
	var aBuf, bBuf [smallObject]member
	pa, errA := parseObject(a, aBuf[:0], true)
	pb, errB := parseObject(b, bBuf[:0], true)
	for _, e := range [...]struct {
		name string
		err  error
	}{{"first", errA}, {"second", errB}} {
		if e.err != nil && !errors.Is(e.err, ErrNotObject) {
			return dst, false, fmt.Errorf("%w (%s delta)", e.err, e.name)
		}
	}
	if errA != nil || errB != nil {
		return dst, false, nil
	}
	out, ok, err = mergeObjects(dst, &pa, &pb, 1)
	if err != nil {
		return dst, false, err
	}
	return out, ok, nil
}

// mergeObjects appends the merge of the parsed objects a and b, found at
// nesting level depth (1 for the deltas themselves).
func mergeObjects(dst []byte, a, b *parsed, depth int) ([]byte, bool, error) {
	if depth > maxMergeNesting {
		return dst, false, nil
	}
	match(a, b)
	mark := len(dst)
	dst = append(dst, '{')
	count := 0
	for i := range int32(len(a.members)) {
		j := a.members[i].peer
		if j < 0 {
			dst = appendMember(dst, count, a.key(i), a.val(i), a.spaced)
			count++
			continue
		}
		if !b.isObject(j) {
			dst = appendMember(dst, count, a.key(i), b.val(j), b.spaced)
			count++
			continue
		}
		if !a.isObject(i) {
			// Applying b replaces a's value with a fresh object; the merged
			// object would be merged into whatever the client held before a.
			return dst[:mark], false, nil
		}
		dst = appendKey(dst, count, a.key(i))
		count++
		var (
			ok  bool
			err error
		)
		dst, ok, err = mergeNested(dst, a.val(i), b.val(j), depth+1)
		if err != nil || !ok {
			return dst[:mark], false, err
		}
	}
	for i := range int32(len(b.members)) {
		if b.members[i].peer < 0 {
			dst = appendMember(dst, count, b.key(i), b.val(i), b.spaced)
			count++
		}
	}
	return append(dst, '}'), true, nil
}

// mergeNested parses two nested objects (already validated) and appends
// their merge, with member buffers on the stack of each recursion level.
func mergeNested(dst, a, b []byte, depth int) ([]byte, bool, error) {
	var aBuf, bBuf [smallObject]member
	pa, err := parseObject(a, aBuf[:0], true)
	if err != nil {
		return dst, false, err
	}
	pb, err := parseObject(b, bBuf[:0], true)
	if err != nil {
		return dst, false, err
	}
	return mergeObjects(dst, &pa, &pb, depth)
}
