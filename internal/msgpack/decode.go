package msgpack

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/live-go/live/internal/jsvalue"
)

// MaxDepth is the reference core decoder's nesting limit: a value with
// more than MaxDepth arrays or maps around it fails with ErrTooDeep.
const MaxDepth = 64

// maxMapHint caps the size hint of a decoded map: counts are checked
// against the input size, but a map's memory is better grown than
// reserved up front from a count the input claims.
const maxMapHint = 1024

// Decode decodes the single msgpack value b holds, as the reference's core
// decoder does (see the package documentation for its limits), into the
// values encoding/json would produce: nil, bool, float64 (every number),
// string, []byte (a copy), []any and map[string]any. Map keys that are not
// strings are converted as JavaScript's String() does (1 → "1", null →
// "null", [1,2] → "1,2", a map → "[object Object]"); for a duplicated key
// the last value wins. Bytes after the value fail with ErrTrailingBytes.
func Decode(b []byte) (any, error) {
	v, n, err := DecodePrefix(b)
	if err != nil {
		return nil, err
	}
	if n != len(b) {
		return nil, fmt.Errorf("%w: %d bytes after offset %d", ErrTrailingBytes, len(b)-n, n)
	}
	return v, nil
}

// DecodePrefix decodes the msgpack value at the start of b like Decode and
// returns it with the number of bytes it took. Like the reference's
// decoder, it ignores what follows.
func DecodePrefix(b []byte) (v any, n int, err error) {
	d := decoder{buf: b}
	v, err = d.value(0)
	if err != nil {
		return nil, 0, err
	}
	return v, d.off, nil
}

// DecodeToJSON appends the JSON text of the single msgpack value b holds,
// exactly as JSON.stringify would write the value the reference's decoder
// returns: numbers in JavaScript form (NaN and ±Infinity as null), object
// keys in JavaScript property order (array indices first, ascending, then
// the rest in first-appearance order, the last value of a duplicated key),
// a bin value as an object of its bytes ({"0":1,"1":2}). Errors are those
// of Decode; on error dst is returned unchanged.
func DecodeToJSON(dst, b []byte) ([]byte, error) {
	d := decoder{buf: b, ordered: true}
	v, err := d.value(0)
	if err != nil {
		return dst, err
	}
	if d.off != len(b) {
		return dst, fmt.Errorf("%w: %d bytes after offset %d", ErrTrailingBytes, len(b)-d.off, d.off)
	}
	return appendJSONValue(dst, v), nil
}

// decoder reads one value from buf at off.
type decoder struct {
	buf     []byte
	off     int
	ordered bool // build *object instead of map[string]any
}

// object is a decoded map in insertion order, for DecodeToJSON.
type object struct {
	keys []string
	vals []any
	pos  map[string]int
}

func (o *object) set(k string, v any) {
	if i, ok := o.pos[k]; ok {
		o.vals[i] = v
		return
	}
	o.pos[k] = len(o.keys)
	o.keys = append(o.keys, k)
	o.vals = append(o.vals, v)
}

// need returns the next n bytes, or ErrTruncated.
func (d *decoder) need(n uint64, what string) ([]byte, error) {
	if n > uint64(len(d.buf)-d.off) {
		return nil, fmt.Errorf("%w: %s at offset %d needs %d bytes, %d left", ErrTruncated, what, d.off, n, len(d.buf)-d.off)
	}
	b := d.buf[d.off : d.off+int(n)]
	d.off += int(n)
	return b, nil
}

// length reads a big-endian length of size 1, 2 or 4 bytes.
func (d *decoder) length(size int, what string) (uint64, error) {
	b, err := d.need(uint64(size), what)
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(b[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(b)), nil
	}
	return uint64(binary.BigEndian.Uint32(b)), nil
}

// value decodes the value at d.off, which has depth containers around it.
func (d *decoder) value(depth int) (any, error) {
	if depth > MaxDepth {
		return nil, fmt.Errorf("%w: depth %d exceeds %d at offset %d", ErrTooDeep, depth, MaxDepth, d.off)
	}
	if d.off >= len(d.buf) {
		return nil, fmt.Errorf("%w: type byte at offset %d", ErrTruncated, d.off)
	}
	c := d.buf[d.off]
	d.off++
	switch {
	case c < 0x80:
		return float64(c), nil
	case c <= 0x8f:
		return d.mapValue(uint64(c&0x0f), depth)
	case c <= 0x9f:
		return d.array(uint64(c&0x0f), depth)
	case c <= 0xbf:
		return d.str(uint64(c&0x1f), "fixstr")
	case c >= 0xe0:
		return float64(int8(c)), nil
	}
	switch c {
	case 0xc0:
		return nil, nil
	case 0xc2:
		return false, nil
	case 0xc3:
		return true, nil
	case 0xc4, 0xc5, 0xc6:
		n, err := d.length(1<<(c-0xc4), "bin length")
		if err != nil {
			return nil, err
		}
		b, err := d.need(n, "bin data")
		if err != nil {
			return nil, err
		}
		return append([]byte{}, b...), nil
	case 0xcb:
		b, err := d.need(8, "float64")
		if err != nil {
			return nil, err
		}
		return math.Float64frombits(binary.BigEndian.Uint64(b)), nil
	case 0xcc, 0xcd, 0xce:
		n, err := d.length(1<<(c-0xcc), "uint")
		return float64(n), err
	case 0xd0:
		b, err := d.need(1, "int8")
		if err != nil {
			return nil, err
		}
		return float64(int8(b[0])), nil
	case 0xd1:
		b, err := d.need(2, "int16")
		if err != nil {
			return nil, err
		}
		return float64(int16(binary.BigEndian.Uint16(b))), nil
	case 0xd2:
		b, err := d.need(4, "int32")
		if err != nil {
			return nil, err
		}
		return float64(int32(binary.BigEndian.Uint32(b))), nil
	case 0xd9, 0xda, 0xdb:
		n, err := d.length(1<<(c-0xd9), "str length")
		if err != nil {
			return nil, err
		}
		return d.str(n, "str data")
	case 0xdc, 0xdd:
		n, err := d.length(2<<(c-0xdc), "array count")
		if err != nil {
			return nil, err
		}
		return d.array(n, depth)
	case 0xde, 0xdf:
		n, err := d.length(2<<(c-0xde), "map count")
		if err != nil {
			return nil, err
		}
		return d.mapValue(n, depth)
	}
	return nil, fmt.Errorf("%w: 0x%02x at offset %d", ErrUnknownType, c, d.off-1)
}

func (d *decoder) str(n uint64, what string) (any, error) {
	b, err := d.need(n, what)
	if err != nil {
		return nil, err
	}
	return jsvalue.DecodeText(b), nil
}

// checkCount rejects a container whose elements cannot fit in the bytes
// left, before anything is allocated for it.
func (d *decoder) checkCount(n, per uint64) error {
	if left := uint64(len(d.buf) - d.off); n*per > left {
		return fmt.Errorf("%w: count %d at offset %d, %d bytes left", ErrCountExceedsRemaining, n, d.off, left)
	}
	return nil
}

func (d *decoder) array(n uint64, depth int) (any, error) {
	if err := d.checkCount(n, 1); err != nil {
		return nil, err
	}
	arr := make([]any, n)
	for i := range arr {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		arr[i] = v
	}
	return arr, nil
}

func (d *decoder) mapValue(n uint64, depth int) (any, error) {
	if err := d.checkCount(n, 2); err != nil {
		return nil, err
	}
	hint := int(min(n, maxMapHint))
	var m map[string]any
	var o *object
	if d.ordered {
		o = &object{keys: make([]string, 0, hint), vals: make([]any, 0, hint), pos: make(map[string]int, hint)}
	} else {
		m = make(map[string]any, hint)
	}
	for range n {
		kv, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		k := jsString(kv)
		switch k {
		case "__proto__", "constructor", "prototype":
			continue
		}
		if o != nil {
			o.set(k, v)
		} else {
			m[k] = v
		}
	}
	if o != nil {
		return o, nil
	}
	return m, nil
}

// jsString converts a decoded value as JavaScript's String() does.
func jsString(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case nil:
		return "null"
	case bool:
		if v {
			return "true"
		}
		return "false"
	case float64:
		return string(jsvalue.AppendNumber(nil, v))
	case []byte:
		var sb strings.Builder
		for i, c := range v {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprint(&sb, c)
		}
		return sb.String()
	case []any:
		// Array.prototype.join: null elements become empty strings.
		var sb strings.Builder
		for i, e := range v {
			if i > 0 {
				sb.WriteByte(',')
			}
			if e != nil {
				sb.WriteString(jsString(e))
			}
		}
		return sb.String()
	}
	return "[object Object]"
}

// appendJSONValue writes a decoded value as JSON.stringify would.
func appendJSONValue(dst []byte, v any) []byte {
	switch v := v.(type) {
	case nil:
		return append(dst, "null"...)
	case bool:
		if v {
			return append(dst, "true"...)
		}
		return append(dst, "false"...)
	case float64:
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return append(dst, "null"...)
		}
		return jsvalue.AppendNumber(dst, v)
	case string:
		return appendJSONString(dst, v)
	case []byte:
		// A Uint8Array serializes as an object of its indices.
		dst = append(dst, '{')
		for i, c := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = append(dst, '"')
			dst = jsvalue.AppendNumber(dst, float64(i))
			dst = append(dst, '"', ':')
			dst = jsvalue.AppendNumber(dst, float64(c))
		}
		return append(dst, '}')
	case []any:
		dst = append(dst, '[')
		for i, e := range v {
			if i > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONValue(dst, e)
		}
		return append(dst, ']')
	case *object:
		order := make([]int, len(v.keys))
		for i := range order {
			order[i] = i
		}
		slices.SortStableFunc(order, func(a, b int) int {
			ia, aok := arrayIndex(v.keys[a])
			ib, bok := arrayIndex(v.keys[b])
			switch {
			case aok && bok:
				return cmp.Compare(ia, ib)
			case aok:
				return -1
			case bok:
				return 1
			}
			return 0
		})
		dst = append(dst, '{')
		for n, i := range order {
			if n > 0 {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, v.keys[i])
			dst = append(dst, ':')
			dst = appendJSONValue(dst, v.vals[i])
		}
		return append(dst, '}')
	}
	// Decode produces no other type.
	return append(dst, "null"...)
}
