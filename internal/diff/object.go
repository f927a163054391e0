package diff

import "fmt"

// DefaultMaxDepth is the default deepest nesting level that [Object] diffs
// key by key (the reference's deepDiffDepth). Objects nested deeper are sent
// whole when they differ.
const DefaultMaxDepth = 3

// MaxDepthLimit caps the maxDepth argument of [Object]: larger values are
// treated as MaxDepthLimit. The cost of a diff grows with the input size
// times the depth it descends, so the cap keeps it bounded.
const MaxDepthLimit = 32

// Object appends to dst the delta that turns the JSON object old into the
// JSON object new and returns the extended buffer. changed reports whether
// anything was appended: when the objects are equal it is false and out is
// dst unchanged.
//
// depth is the nesting level of old and new: 0 for a whole state object, 1
// for the value of a top-level state field, and so on. The rules, applied
// key by key (spec §2.7):
//
//   - a key of new that old lacks is included with new's value;
//   - a key whose two values have equal compact encodings is left out;
//   - a key whose two values are objects is diffed recursively at depth+1
//     and included only when that nested delta is not empty;
//   - any other change (arrays, scalars, null, a change of type) includes
//     new's value whole;
//   - at depth > 0, a key of old that new lacks is included as null, which
//     the client reads as a deletion; at depth 0 it is not a removal;
//   - objects at depth > maxDepth are not diffed: new is the whole delta
//     when it differs from old at all.
//
// Keys come out in new's order, then the deletions in old's order. Values are
// compared by their compact encodings, so whitespace in the input does not
// matter but different spellings of one value (1.0 and 1, escaped and
// unescaped characters) count as a change; the server encodes state with
// encoding/json, which never produces them. The output is compact.
//
// Invalid JSON yields an error wrapping [ErrInvalidJSON], a valid non-object
// [ErrNotObject], and an object that must be compared key by key (at depth up
// to maxDepth) and repeats a key [ErrDuplicateKey]. Object does not retain
// or modify old and new. Negative depth is treated as 0; maxDepth is capped
// at [MaxDepthLimit].
//
// Object does not allocate when every object it compares key by key has at
// most 16 keys that need no unescaping and dst has enough capacity.
func Object(dst, old, new []byte, depth, maxDepth int) (out []byte, changed bool, err error) {
	depth = max(depth, 0)
	maxDepth = min(maxDepth, MaxDepthLimit)
	// Above maxDepth the objects are opaque values: validated, not split.
	split := depth <= maxDepth
	var oldBuf, newBuf [smallObject]member
	o, err := parseObject(old, oldBuf[:0], split)
	if err != nil {
		return dst, false, fmt.Errorf("%w (old value)", err)
	}
	n, err := parseObject(new, newBuf[:0], split)
	if err != nil {
		return dst, false, fmt.Errorf("%w (new value)", err)
	}
	if !split {
		spaced := o.spaced || n.spaced
		if equalValues(o.raw, n.raw, spaced) {
			return dst, false, nil
		}
		return appendValue(dst, n.raw, n.spaced), true, nil
	}
	out, changed, err = objectDelta(dst, &o, &n, depth, maxDepth)
	if err != nil {
		return dst, false, err
	}
	return out, changed, nil
}

// objectDelta appends the delta from o to n, two parsed objects at depth
// (which is at most maxDepth).
func objectDelta(dst []byte, o, n *parsed, depth, maxDepth int) ([]byte, bool, error) {
	match(o, n)
	mark := len(dst)
	dst = append(dst, '{')
	count := 0
	spaced := o.spaced || n.spaced
	for i := range int32(len(n.members)) {
		j := n.members[i].peer
		if j < 0 {
			dst = appendMember(dst, count, n.key(i), n.val(i), n.spaced)
			count++
			continue
		}
		oldVal, newVal := o.val(j), n.val(i)
		if equalValues(oldVal, newVal, spaced) {
			continue
		}
		if oldVal[0] != '{' || newVal[0] != '{' || depth+1 > maxDepth {
			dst = appendMember(dst, count, n.key(i), newVal, n.spaced)
			count++
			continue
		}
		start := len(dst)
		dst = appendKey(dst, count, n.key(i))
		var (
			changed bool
			err     error
		)
		dst, changed, err = nestedDelta(dst, oldVal, newVal, depth+1, maxDepth)
		if err != nil {
			return dst[:mark], false, err
		}
		if !changed {
			// Only the key order or the key spelling differs.
			dst = dst[:start]
			continue
		}
		count++
	}
	if depth > 0 {
		for i := range int32(len(o.members)) {
			if o.members[i].peer < 0 {
				dst = appendMember(dst, count, o.key(i), []byte("null"), false)
				count++
			}
		}
	}
	if count == 0 {
		return dst[:mark], false, nil
	}
	return append(dst, '}'), true, nil
}

// nestedDelta parses two nested objects (already validated) and appends
// their delta. It has its own member buffers so that they live on the stack
// of each recursion level.
func nestedDelta(dst, old, new []byte, depth, maxDepth int) ([]byte, bool, error) {
	var oldBuf, newBuf [smallObject]member
	o, err := parseObject(old, oldBuf[:0], true)
	if err != nil {
		return dst, false, err
	}
	n, err := parseObject(new, newBuf[:0], true)
	if err != nil {
		return dst, false, err
	}
	return objectDelta(dst, &o, &n, depth, maxDepth)
}

// appendKey appends `"key":`, preceded by a comma unless it is the first
// member.
func appendKey(dst []byte, count int, key []byte) []byte {
	if count > 0 {
		dst = append(dst, ',')
	}
	dst = append(dst, key...)
	return append(dst, ':')
}

func appendMember(dst []byte, count int, key, val []byte, spaced bool) []byte {
	return appendValue(appendKey(dst, count, key), val, spaced)
}
