package live

import (
	"bytes"
	"encoding"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"sync"

	"github.com/live-go/live/internal/protocol"
)

// fieldEncoder appends the compact JSON encoding of v to dst.
type fieldEncoder func(dst []byte, v reflect.Value) ([]byte, error)

var (
	jsonMarshalerType = reflect.TypeFor[json.Marshaler]()
	textMarshalerType = reflect.TypeFor[encoding.TextMarshaler]()
)

// encoderFor returns a fast allocation-free encoder for plain scalar kinds
// and plain structs of them (structEncoder), and falls back to
// encoding/json (HTML escaping off) for everything else.
func encoderFor(t reflect.Type) fieldEncoder {
	if marshals(t) {
		return encodeGeneric
	}
	switch t.Kind() {
	case reflect.Bool:
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			return strconv.AppendBool(dst, v.Bool()), nil
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			return strconv.AppendInt(dst, v.Int(), 10), nil
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			return strconv.AppendUint(dst, v.Uint(), 10), nil
		}
	case reflect.Float32:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return appendFloat(dst, v.Float(), 32) }
	case reflect.Float64:
		return func(dst []byte, v reflect.Value) ([]byte, error) { return appendFloat(dst, v.Float(), 64) }
	case reflect.String:
		return func(dst []byte, v reflect.Value) ([]byte, error) {
			return protocol.AppendString(dst, v.String()), nil
		}
	case reflect.Struct:
		if enc := structEncoder(t); enc != nil {
			return enc
		}
	case reflect.Pointer:
		// A pointer to a scalar (an optional field, like *string for
		// "null until set"): null or the scalar. Scalars cannot point
		// back to themselves, so this cannot recurse without end.
		switch e := t.Elem(); e.Kind() {
		case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
			reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
			reflect.Float32, reflect.Float64, reflect.String:
			if marshals(e) {
				break
			}
			elem := encoderFor(e)
			return func(dst []byte, v reflect.Value) ([]byte, error) {
				if v.IsNil() {
					return append(dst, "null"...), nil
				}
				return elem(dst, v.Elem())
			}
		}
	}
	return encodeGeneric
}

// marshals reports whether t or *t encodes itself (json.Marshaler or
// encoding.TextMarshaler).
func marshals(t reflect.Type) bool {
	return t.Implements(jsonMarshalerType) || t.Implements(textMarshalerType) ||
		reflect.PointerTo(t).Implements(jsonMarshalerType) || reflect.PointerTo(t).Implements(textMarshalerType)
}

// appendFloat formats like encoding/json (and JavaScript for the usual
// range): shortest representation, exponent form outside [1e-6, 1e21).
func appendFloat(dst []byte, f float64, bits int) ([]byte, error) {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return dst, fmt.Errorf("live: unsupported float value %v in state", f)
	}
	abs := math.Abs(f)
	format := byte('f')
	if abs != 0 {
		if bits == 64 && (abs < 1e-6 || abs >= 1e21) || bits == 32 && (float32(abs) < 1e-6 || float32(abs) >= 1e21) {
			format = 'e'
		}
	}
	start := len(dst)
	dst = strconv.AppendFloat(dst, f, format, -1, bits)
	if format == 'e' {
		// Clean up e-09 to e-9, as encoding/json does.
		n := len(dst) - start
		if n >= 4 && dst[len(dst)-4] == 'e' && dst[len(dst)-3] == '-' && dst[len(dst)-2] == '0' {
			dst[len(dst)-2] = dst[len(dst)-1]
			dst = dst[:len(dst)-1]
		}
	}
	return dst, nil
}

var encBufPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func encodeGeneric(dst []byte, v reflect.Value) ([]byte, error) {
	buf := encBufPool.Get().(*bytes.Buffer)
	buf.Reset()
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	err := enc.Encode(v.Interface())
	if err == nil {
		b := buf.Bytes()
		dst = append(dst, b[:len(b)-1]...) // drop Encode's trailing newline
	}
	if buf.Cap() <= 64<<10 {
		encBufPool.Put(buf)
	}
	if err != nil {
		return dst, fmt.Errorf("live: encode state: %w", err)
	}
	return dst, nil
}

// marshalValue encodes an arbitrary Go value (action results, emit payloads)
// without HTML escaping, appending to dst.
func marshalValue(dst []byte, v any) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(dst, "null"...), nil
	case json.RawMessage:
		if len(x) == 0 {
			return append(dst, "null"...), nil
		}
		if !json.Valid(x) {
			return dst, fmt.Errorf("live: invalid raw JSON value")
		}
		return append(dst, x...), nil
	case string:
		return protocol.AppendString(dst, x), nil
	case bool:
		return strconv.AppendBool(dst, x), nil
	case int:
		return strconv.AppendInt(dst, int64(x), 10), nil
	}
	rv := reflect.ValueOf(v)
	return cachedEncoderFor(rv.Type())(dst, rv)
}

// appendKey appends `"name":` with name JSON-escaped.
func appendKey(dst []byte, name string) []byte {
	dst = protocol.AppendString(dst, name)
	return append(dst, ':')
}
