package msgpack

import (
	"cmp"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxEncodeDepth is the deepest nesting the encoders produce: a value may
// have at most this many arrays or objects around it. It is the official
// client's decoder limit, so every payload the encoders produce is one the
// client can read; deeper input fails with ErrTooDeep.
const MaxEncodeDepth = 100

// canonicalNaN is the NaN that JavaScript engines write for every NaN.
const canonicalNaN = 0x7ff8000000000000

// AppendNil appends nil (0xc0), which JavaScript decodes as null.
func AppendNil(dst []byte) []byte { return append(dst, 0xc0) }

// AppendBool appends false (0xc2) or true (0xc3).
func AppendBool(dst []byte, b bool) []byte {
	if b {
		return append(dst, 0xc3)
	}
	return append(dst, 0xc2)
}

// AppendNumber appends f the way the reference encodes a JavaScript number:
// an integral value in [-2^31, 2^32) (including -0, which is written as 0)
// takes the smallest integer format, anything else is a float64. Every NaN
// is written as the canonical quiet NaN 0x7ff8000000000000.
func AppendNumber(dst []byte, f float64) []byte {
	// NaN fails both comparisons; ±Inf fails one of them.
	if f >= math.MinInt32 && f <= math.MaxUint32 && f == math.Trunc(f) {
		if f >= 0 {
			return appendUint32(dst, uint32(f))
		}
		return appendNegative(dst, int32(f))
	}
	return appendFloat64(dst, f)
}

// AppendInt appends i as AppendNumber(dst, float64(i)) would: integers
// beyond [-2^31, 2^32) become float64, rounded beyond ±2^53 as JavaScript
// numbers are.
func AppendInt(dst []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= math.MaxUint32:
		return appendUint32(dst, uint32(i))
	case i < 0 && i >= math.MinInt32:
		return appendNegative(dst, int32(i))
	}
	return appendFloat64(dst, float64(i))
}

func appendUint32(dst []byte, u uint32) []byte {
	switch {
	case u < 0x80:
		return append(dst, byte(u)) // positive fixint
	case u < 1<<8:
		return append(dst, 0xcc, byte(u))
	case u < 1<<16:
		return append(dst, 0xcd, byte(u>>8), byte(u))
	}
	return append(dst, 0xce, byte(u>>24), byte(u>>16), byte(u>>8), byte(u))
}

// appendNegative appends a negative integer.
func appendNegative(dst []byte, i int32) []byte {
	switch {
	case i >= -32:
		return append(dst, byte(i)) // negative fixint 0xe0..0xff
	case i >= math.MinInt8:
		return append(dst, 0xd0, byte(i))
	case i >= math.MinInt16:
		return append(dst, 0xd1, byte(i>>8), byte(i))
	}
	return append(dst, 0xd2, byte(i>>24), byte(i>>16), byte(i>>8), byte(i))
}

func appendFloat64(dst []byte, f float64) []byte {
	b := math.Float64bits(f)
	if f != f {
		b = canonicalNaN
	}
	return append(dst, 0xcb, byte(b>>56), byte(b>>48), byte(b>>40), byte(b>>32),
		byte(b>>24), byte(b>>16), byte(b>>8), byte(b))
}

// strHeader returns the header of a string of n UTF-8 bytes.
func strHeader(n int) (h [5]byte, size int) {
	switch {
	case n < 32:
		return [5]byte{0xa0 | byte(n)}, 1
	case n < 1<<8:
		return [5]byte{0xd9, byte(n)}, 2
	case n < 1<<16:
		return [5]byte{0xda, byte(n >> 8), byte(n)}, 3
	}
	return [5]byte{0xdb, byte(n >> 24), byte(n >> 16), byte(n >> 8), byte(n)}, 5
}

func appendStrHeader(dst []byte, n int) []byte {
	h, size := strHeader(n)
	return append(dst, h[:size]...)
}

// AppendString appends s as a msgpack string: fixstr, str8, str16 or str32
// by its UTF-8 byte length. Each byte of invalid UTF-8 in s is written as
// U+FFFD, as encoding/json does, so the output is always valid UTF-8. s must
// be shorter than 4 GiB.
func AppendString(dst []byte, s string) []byte {
	if utf8.ValidString(s) {
		dst = appendStrHeader(dst, len(s))
		return append(dst, s...)
	}
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			n += len(string(utf8.RuneError))
		} else {
			n += size
		}
		i += size
	}
	dst = appendStrHeader(dst, n)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = utf8.AppendRune(dst, utf8.RuneError)
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return dst
}

// AppendBinary appends b as bin8, bin16 or bin32 (a Uint8Array in
// JavaScript). b must be shorter than 4 GiB.
func AppendBinary(dst, b []byte) []byte {
	n := len(b)
	switch {
	case n < 1<<8:
		dst = append(dst, 0xc4, byte(n))
	case n < 1<<16:
		dst = append(dst, 0xc5, byte(n>>8), byte(n))
	default:
		dst = append(dst, 0xc6, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
	return append(dst, b...)
}

// AppendArrayHeader appends the header of an array of n elements
// (fixarray, array16 or array32); the caller appends the n elements.
func AppendArrayHeader(dst []byte, n uint32) []byte {
	return appendContainerHeader(dst, n, 0x90, 0xdc)
}

// AppendMapHeader appends the header of a map of n key/value pairs (fixmap,
// map16 or map32); the caller appends n keys, each followed by its value.
// Keys should be strings (AppendString) in JavaScript property order.
func AppendMapHeader(dst []byte, n uint32) []byte {
	return appendContainerHeader(dst, n, 0x80, 0xde)
}

// appendContainerHeader writes a fix header (fix|n), a 16-bit one (c16) or
// a 32-bit one (c16+1).
func appendContainerHeader(dst []byte, n uint32, fix, c16 byte) []byte {
	switch {
	case n < 16:
		return append(dst, fix|byte(n))
	case n < 1<<16:
		return append(dst, c16, byte(n>>8), byte(n))
	}
	return append(dst, c16+1, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
}

// Append appends the encoding of v, a value of the shape encoding/json
// produces when decoding into an any:
//
//   - nil → nil; bool → false/true; float64, float32, json.Number and the
//     integer types → a JavaScript number (see AppendNumber, AppendInt);
//   - string → string; []byte → bin; json.RawMessage → the JSON text
//     encoded as AppendJSON does;
//   - []any → array; map[string]any → map. A Go map has no order: its keys
//     are written array indices first in ascending numeric order (as
//     JavaScript would order them), then the others in byte order. Use a
//     json.RawMessage, AppendJSON or Marshal to control the order.
//
// Nil slices and maps are written as nil, as encoding/json does. Any other
// type fails with ErrUnsupportedType, and nesting deeper than MaxEncodeDepth
// (including any cycle) with ErrTooDeep. On error dst is returned with its
// original length.
func Append(dst []byte, v any) ([]byte, error) {
	out, err := appendAny(dst, v, 0)
	if err != nil {
		return dst, err
	}
	return out, nil
}

func appendAny(dst []byte, v any, depth int) ([]byte, error) {
	if depth > MaxEncodeDepth {
		return dst, fmt.Errorf("%w: more than %d levels of nesting", ErrTooDeep, MaxEncodeDepth)
	}
	switch v := v.(type) {
	case nil:
		return AppendNil(dst), nil
	case bool:
		return AppendBool(dst, v), nil
	case float64:
		return AppendNumber(dst, v), nil
	case float32:
		return AppendNumber(dst, float64(v)), nil
	case int:
		return AppendInt(dst, int64(v)), nil
	case int8:
		return AppendInt(dst, int64(v)), nil
	case int16:
		return AppendInt(dst, int64(v)), nil
	case int32:
		return AppendInt(dst, int64(v)), nil
	case int64:
		return AppendInt(dst, v), nil
	case uint:
		return AppendNumber(dst, float64(v)), nil
	case uint8:
		return AppendInt(dst, int64(v)), nil
	case uint16:
		return AppendInt(dst, int64(v)), nil
	case uint32:
		return AppendInt(dst, int64(v)), nil
	case uint64:
		return AppendNumber(dst, float64(v)), nil
	case json.Number:
		f, ok := parseJSONNumber([]byte(v))
		if !ok {
			return dst, fmt.Errorf("%w: json.Number %q", ErrInvalidJSON, string(v))
		}
		return AppendNumber(dst, f), nil
	case string:
		return AppendString(dst, v), nil
	case json.RawMessage:
		if v == nil {
			return AppendNil(dst), nil
		}
		e := jsonEncoder{src: v, dst: dst}
		return e.document(depth)
	case []byte:
		if v == nil {
			return AppendNil(dst), nil
		}
		return AppendBinary(dst, v), nil
	case []any:
		if v == nil {
			return AppendNil(dst), nil
		}
		if len(v) > math.MaxUint32 {
			return dst, fmt.Errorf("%w: array of %d elements", ErrUnsupportedType, len(v))
		}
		dst = AppendArrayHeader(dst, uint32(len(v)))
		for _, e := range v {
			var err error
			if dst, err = appendAny(dst, e, depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	case map[string]any:
		if v == nil {
			return AppendNil(dst), nil
		}
		if len(v) > math.MaxUint32 {
			return dst, fmt.Errorf("%w: map of %d entries", ErrUnsupportedType, len(v))
		}
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareKeys)
		dst = AppendMapHeader(dst, uint32(len(keys)))
		for _, k := range keys {
			dst = AppendString(dst, k)
			var err error
			if dst, err = appendAny(dst, v[k], depth+1); err != nil {
				return dst, err
			}
		}
		return dst, nil
	}
	return dst, fmt.Errorf("%w: %T", ErrUnsupportedType, v)
}

// compareKeys orders map keys for Append: array indices first, ascending,
// then the other keys in byte order.
func compareKeys(a, b string) int {
	ia, aok := arrayIndex(a)
	ib, bok := arrayIndex(b)
	switch {
	case aok && bok:
		return cmp.Compare(ia, ib)
	case aok:
		return -1
	case bok:
		return 1
	}
	return strings.Compare(a, b)
}

// Marshal returns the msgpack encoding of any Go value: v is marshaled by
// encoding/json (so struct tags, MarshalJSON methods and field order apply)
// and the JSON text is encoded as AppendJSON does. It costs a complete JSON
// encoding, with its allocations and reflection, plus a second pass over the
// text: hot paths should keep data as raw JSON and call AppendJSON, or build
// payloads with the Append* writers.
func Marshal(v any) ([]byte, error) {
	raw, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("msgpack: marshal: %w", err)
	}
	return AppendJSON(make([]byte, 0, len(raw)+16), raw)
}
