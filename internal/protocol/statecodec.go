package protocol

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"unicode/utf8"

	"github.com/live-go/live/internal/jsvalue"
)

// WireType is the wire type of one BinaryStateCodec field (spec §1.10.1).
// Its values are the reference's internal tag numbers, which are never
// transmitted.
type WireType uint8

// Wire types. Multi-byte values are little-endian.
const (
	WireUint8   WireType = iota // 1 byte
	WireUint16                  // 2 bytes
	WireUint32                  // 4 bytes
	WireInt8                    // 1 byte
	WireInt16                   // 2 bytes
	WireInt32                   // 4 bytes
	WireFloat32                 // 4 bytes
	WireFloat64                 // 8 bytes
	WireBool                    // 1 byte: 1 or 0
	WireString                  // u16 byte length + UTF-8
)

var wireNames = [...]string{"uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64", "boolean", "string"}

// String returns the reference's name of the type ("uint8" … "boolean",
// "string").
func (t WireType) String() string {
	if int(t) < len(wireNames) {
		return wireNames[t]
	}
	return fmt.Sprintf("WireType(%d)", uint8(t))
}

// Size returns the encoded size of a fixed-size type, 0 for WireString.
func (t WireType) Size() int {
	switch t {
	case WireUint8, WireInt8, WireBool:
		return 1
	case WireUint16, WireInt16:
		return 2
	case WireUint32, WireInt32, WireFloat32:
		return 4
	case WireFloat64:
		return 8
	}
	return 0
}

// ParseWireType returns the type named name, as written in a component's
// binary schema ("uint8", …, "float64", "boolean", "string").
func ParseWireType(name string) (WireType, error) {
	for i, n := range wireNames {
		if n == name {
			return WireType(i), nil
		}
	}
	return 0, fmt.Errorf("%w: unknown wire type %q", ErrStateSchema, name)
}

// StateField is one field of a StateCodec: a state key and its wire type.
type StateField struct {
	Name string
	Type WireType
}

// Errors of StateCodec.
var (
	// ErrStateSchema reports an invalid codec definition.
	ErrStateSchema = errors.New("protocol: invalid binary state schema")
	// ErrStatePayload reports a binary state payload that ends inside a
	// field (or inside the bitmask).
	ErrStatePayload = errors.New("protocol: truncated binary state payload")
	// ErrStateValue reports a Go delta value that has no JSON form.
	ErrStateValue = errors.New("protocol: unsupported binary state value")
)

// StateCodec is the BinaryStateCodec of the reference (spec §1.10.1): the
// encoder and decoder of the payload of 0x01 frames, built on the server and
// on the client from the same default state and schema.
//
// The payload is a bitmask of ceil(fields/8) bytes (at least one), bit i
// (byte i>>3, bit i&7, least significant first) telling that field i is
// present, followed by the present fields' values in field order.
//
// Values are converted as the reference's DataView writes convert them:
// numbers are truncated and wrap around (uint8: 256 → 0, -1 → 255; int8:
// 128 → -128; uint32: 2^32 → 0; NaN and ±Infinity → 0), float32 rounds
// (Infinity stays Infinity), booleans take JavaScript truthiness, strings
// take JavaScript's String() of the value, and non-numbers given to a
// numeric field go through JavaScript's Number() ("12" → 12, true → 1,
// null → 0, an object → NaN → 0). A string longer than 65535 bytes is
// written whole but its u16 length prefix wraps (65536 bytes → 0): the
// reference documents this as a limitation, and decoders then read an empty
// string followed by misplaced bytes.
//
// A StateCodec is immutable and safe for concurrent use.
type StateCodec struct {
	fields      []StateField
	unsupported []string
	// index maps a key to its field index, or to -1-i for unsupported[i].
	index   map[string]int
	maskLen int
}

// NewStateCodec builds the codec of a component from its default state, a
// JSON object, and an optional explicit schema, as the reference does: the
// fields are the default state's keys in order (a duplicated key keeps its
// first place and its last value); a key with a schema entry takes that
// type, otherwise a number default makes it float64, a boolean boolean, a
// string string, and any other default (null, object, array) makes the key
// unsupported: its changes are returned by Encode as a JSON fallback.
// Schema entries for keys absent from the default state are ignored.
func NewStateCodec(defaultState []byte, schema map[string]WireType) (*StateCodec, error) {
	s := scanner{data: defaultState}
	s.ws()
	if s.i >= len(defaultState) || defaultState[s.i] != '{' {
		return nil, fmt.Errorf("%w: default state is not a JSON object", ErrStateSchema)
	}
	s.i++
	type entry struct {
		key string
		val span
	}
	var entries []entry
	pos := map[string]int{}
	for first := true; ; first = false {
		k, v, done, ok := s.member(first, 1)
		if !ok {
			return nil, fmt.Errorf("%w: default state: %w", ErrStateSchema, ErrInvalidJSON)
		}
		if done {
			break
		}
		key := decodeString(defaultState, k)
		if i, dup := pos[key]; dup {
			entries[i].val = v
			continue
		}
		pos[key] = len(entries)
		entries = append(entries, entry{key, v})
	}
	if s.ws(); s.i != len(defaultState) {
		return nil, fmt.Errorf("%w: default state: %w", ErrStateSchema, ErrInvalidJSON)
	}
	var fields []StateField
	var unsupported []string
	for _, e := range entries {
		if t, ok := schema[e.key]; ok {
			fields = append(fields, StateField{e.key, t})
			continue
		}
		switch e.val.kind {
		case kindNumber:
			fields = append(fields, StateField{e.key, WireFloat64})
		case kindTrue, kindFalse:
			fields = append(fields, StateField{e.key, WireBool})
		case kindString:
			fields = append(fields, StateField{e.key, WireString})
		default:
			unsupported = append(unsupported, e.key)
		}
	}
	return NewStateCodecFields(fields, unsupported)
}

// NewStateCodecFields builds a codec from an explicit field list (in wire
// order) and the keys whose changes go to the JSON fallback. Names must be
// distinct and types valid.
func NewStateCodecFields(fields []StateField, unsupported []string) (*StateCodec, error) {
	c := &StateCodec{
		fields:      slices.Clone(fields),
		unsupported: slices.Clone(unsupported),
		index:       make(map[string]int, len(fields)+len(unsupported)),
		maskLen:     max(1, (len(fields)+7)/8),
	}
	for i, f := range fields {
		if f.Type > WireString {
			return nil, fmt.Errorf("%w: field %q has type %v", ErrStateSchema, f.Name, f.Type)
		}
		if _, dup := c.index[f.Name]; dup {
			return nil, fmt.Errorf("%w: duplicate field %q", ErrStateSchema, f.Name)
		}
		c.index[f.Name] = i
	}
	for i, k := range unsupported {
		if _, dup := c.index[k]; dup {
			return nil, fmt.Errorf("%w: duplicate key %q", ErrStateSchema, k)
		}
		c.index[k] = -1 - i
	}
	return c, nil
}

// Fields returns the codec's fields in wire order.
func (c *StateCodec) Fields() []StateField { return slices.Clone(c.fields) }

// Unsupported returns the keys whose changes are returned as JSON fallback.
func (c *StateCodec) Unsupported() []string { return slices.Clone(c.unsupported) }

// HasFields reports whether the codec has at least one binary field.
func (c *StateCodec) HasFields() bool { return len(c.fields) > 0 }

// FullCoverage reports whether every default state key is a binary field.
func (c *StateCodec) FullCoverage() bool { return len(c.unsupported) == 0 }

// BitmaskLen returns the size of the payload's bitmask: ceil(fields/8),
// at least 1.
func (c *StateCodec) BitmaskLen() int { return c.maskLen }

// smallFields is the field count up to which encoding keeps its
// bookkeeping on the stack.
const smallFields = 32

// EncodeJSON encodes a state delta, a JSON object of changed keys (as the
// engine's diff produces it). It appends the binary payload of the delta's
// fields to dst and returns it as bin, or returns a nil bin when the delta
// has none of the codec's fields. Changed unsupported keys are returned as
// fallback, a JSON object of their members in delta order (nil when there
// are none), for the caller to send as a JSON delta. Other keys are
// ignored. A duplicated key counts once, with its last value. A delta that
// is not a JSON object fails with ErrInvalidJSON or ErrNotObject.
//
// EncodeJSON does not allocate when dst has room, there is no fallback and
// the codec has at most 32 fields and 32 unsupported keys.
func (c *StateCodec) EncodeJSON(dst, delta []byte) (bin, fallback []byte, err error) {
	s := scanner{data: delta}
	s.ws()
	if s.i >= len(delta) || delta[s.i] != '{' {
		if _, ok := s.skip(0); !ok {
			return nil, nil, ErrInvalidJSON
		}
		if s.ws(); s.i != len(delta) {
			return nil, nil, ErrInvalidJSON
		}
		return nil, nil, ErrNotObject
	}
	s.i++
	var fieldBuf [smallFields]span
	var vals []span
	if len(c.fields) <= smallFields {
		vals = fieldBuf[:len(c.fields)]
	} else {
		vals = make([]span, len(c.fields))
	}
	var unsBuf [smallFields]span
	var orderBuf [smallFields]int
	var uvals []span
	order := orderBuf[:0]
	if len(c.unsupported) <= smallFields {
		uvals = unsBuf[:len(c.unsupported)]
	} else {
		uvals = make([]span, len(c.unsupported))
	}
	present := false
	var keyBuf [64]byte
	for first := true; ; first = false {
		k, v, done, ok := s.member(first, 1)
		if !ok {
			return nil, nil, ErrInvalidJSON
		}
		if done {
			break
		}
		key := delta[k.start+1 : k.end-1]
		if k.slow {
			key = appendUnescaped(keyBuf[:0], key)
		}
		i, known := c.index[string(key)]
		switch {
		case !known:
		case i >= 0:
			vals[i] = v
			present = true
		default:
			u := -1 - i
			if uvals[u].kind == kindAbsent {
				order = append(order, u)
			}
			uvals[u] = v
		}
	}
	if s.ws(); s.i != len(delta) {
		return nil, nil, ErrInvalidJSON
	}
	if len(order) > 0 {
		fallback = append(fallback, '{')
		for n, u := range order {
			if n > 0 {
				fallback = append(fallback, ',')
			}
			fallback = AppendString(fallback, c.unsupported[u])
			fallback = append(fallback, ':')
			fallback = append(fallback, delta[uvals[u].start:uvals[u].end]...)
		}
		fallback = append(fallback, '}')
	}
	if !present {
		return nil, fallback, nil
	}
	mask := len(dst)
	for range c.maskLen {
		dst = append(dst, 0)
	}
	for i, f := range c.fields {
		v := vals[i]
		if v.kind == kindAbsent {
			continue
		}
		dst[mask+i>>3] |= 1 << (i & 7)
		switch f.Type {
		case WireBool:
			b := byte(0)
			if truthy(delta, v) {
				b = 1
			}
			dst = append(dst, b)
		case WireString:
			at := len(dst)
			dst = append(dst, 0, 0)
			dst = appendSpanToString(dst, delta, v)
			binary.LittleEndian.PutUint16(dst[at:], uint16(len(dst)-at-2)) // wraps above 65535
		default:
			dst = appendNumeric(dst, f.Type, spanNumber(delta, v))
		}
	}
	return dst, fallback, nil
}

// appendNumeric writes f as a numeric wire type t.
func appendNumeric(dst []byte, t WireType, f float64) []byte {
	switch t {
	case WireUint8, WireInt8:
		return append(dst, byte(jsToUint32(f)))
	case WireUint16, WireInt16:
		return binary.LittleEndian.AppendUint16(dst, uint16(jsToUint32(f)))
	case WireUint32, WireInt32:
		return binary.LittleEndian.AppendUint32(dst, jsToUint32(f))
	case WireFloat32:
		return binary.LittleEndian.AppendUint32(dst, jsFloat32(f))
	}
	return binary.LittleEndian.AppendUint64(dst, jsFloat64(f))
}

// Encode is EncodeJSON for a delta held as Go values: nil, bool, string,
// float64, float32, the integer types, json.Number, and composite values
// that encoding/json can marshal (converted as JavaScript converts arrays
// and objects). Unlike JSON, it can carry NaN and ±Inf. The fallback holds
// the delta's own values for the unsupported keys. A value that cannot be
// marshaled fails with ErrStateValue.
func (c *StateCodec) Encode(dst []byte, delta map[string]any) (bin []byte, fallback map[string]any, err error) {
	present := false
	for k, v := range delta {
		i, known := c.index[k]
		switch {
		case !known:
		case i >= 0:
			present = true
		default:
			if fallback == nil {
				fallback = make(map[string]any)
			}
			fallback[k] = v
		}
	}
	if !present {
		return nil, fallback, nil
	}
	out := dst
	mask := len(out)
	for range c.maskLen {
		out = append(out, 0)
	}
	for i, f := range c.fields {
		v, ok := delta[f.Name]
		if !ok {
			continue
		}
		out[mask+i>>3] |= 1 << (i & 7)
		if out, err = appendGoValue(out, f.Type, v); err != nil {
			return nil, nil, fmt.Errorf("field %q: %w", f.Name, err)
		}
	}
	return out, fallback, nil
}

// appendGoValue writes the Go value v as wire type t.
func appendGoValue(dst []byte, t WireType, v any) ([]byte, error) {
	var f float64
	switch x := v.(type) {
	case nil:
		return appendSpanValue(dst, t, []byte("null"))
	case bool:
		if t == WireString {
			word := "false"
			if x {
				word = "true"
			}
			return appendWireString(dst, word), nil
		}
		if x {
			f = 1
		}
	case string:
		switch t {
		case WireString:
			return appendWireString(dst, x), nil
		case WireBool:
			return append(dst, boolByte(x != "")), nil
		}
		return appendNumeric(dst, t, jsStringToNumber(x)), nil
	case float64:
		f = x
	case float32:
		f = float64(x)
	case int:
		f = float64(x)
	case int8:
		f = float64(x)
	case int16:
		f = float64(x)
	case int32:
		f = float64(x)
	case int64:
		f = float64(x)
	case uint:
		f = float64(x)
	case uint8:
		f = float64(x)
	case uint16:
		f = float64(x)
	case uint32:
		f = float64(x)
	case uint64:
		f = float64(x)
	case json.Number:
		return appendSpanValue(dst, t, []byte(x))
	default:
		raw, err := json.Marshal(v)
		if err != nil {
			return dst, fmt.Errorf("%w: %w", ErrStateValue, err)
		}
		return appendSpanValue(dst, t, raw)
	}
	switch t {
	case WireBool:
		return append(dst, boolByte(f != 0 && f == f)), nil
	case WireString:
		at := len(dst)
		dst = jsvalue.AppendNumber(append(dst, 0, 0), f)
		binary.LittleEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
		return dst, nil
	}
	return appendNumeric(dst, t, f), nil
}

// appendWireString writes s as a string field: a u16 little-endian byte
// length, wrapping above 65535, then the UTF-8 bytes.
func appendWireString(dst []byte, s string) []byte {
	at := len(dst)
	dst = appendValidUTF8(append(dst, 0, 0), s)
	binary.LittleEndian.PutUint16(dst[at:], uint16(len(dst)-at-2)) // wraps above 65535
	return dst
}

// appendSpanValue writes the JSON value raw as wire type t.
func appendSpanValue(dst []byte, t WireType, raw []byte) ([]byte, error) {
	s := scanner{data: raw}
	v, ok := s.skip(0)
	if ok {
		s.ws()
	}
	if !ok || s.i != len(raw) {
		return dst, fmt.Errorf("%w: invalid JSON value %q", ErrStateValue, raw)
	}
	switch t {
	case WireBool:
		return append(dst, boolByte(truthy(raw, v))), nil
	case WireString:
		at := len(dst)
		dst = append(dst, 0, 0)
		dst = appendSpanToString(dst, raw, v)
		binary.LittleEndian.PutUint16(dst[at:], uint16(len(dst)-at-2))
		return dst, nil
	}
	return appendNumeric(dst, t, spanNumber(raw, v)), nil
}

func boolByte(b bool) byte {
	if b {
		return 1
	}
	return 0
}

// appendValidUTF8 appends s with each byte of invalid UTF-8 replaced by
// U+FFFD (a JavaScript string cannot hold invalid UTF-8).
func appendValidUTF8(dst []byte, s string) []byte {
	if utf8.ValidString(s) {
		return append(dst, s...)
	}
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

// decodedField is one field read from a payload.
type decodedField struct {
	field int
	num   float64
	b     bool
	str   string
}

// decode reads the present fields of payload in field order. Bytes after
// the last field are ignored, like the reference's decoder does (it is how
// a wrapped string length goes unnoticed); missing bytes are an error.
func (c *StateCodec) decode(payload []byte) ([]decodedField, error) {
	if len(payload) < c.maskLen {
		return nil, fmt.Errorf("%w: %d bytes, bitmask needs %d", ErrStatePayload, len(payload), c.maskLen)
	}
	var out []decodedField
	off := c.maskLen
	need := func(n int, f StateField) ([]byte, error) {
		if n > len(payload)-off {
			return nil, fmt.Errorf("%w: field %q (%v) at offset %d needs %d bytes, %d left", ErrStatePayload, f.Name, f.Type, off, n, len(payload)-off)
		}
		b := payload[off : off+n]
		off += n
		return b, nil
	}
	for i, f := range c.fields {
		if payload[i>>3]&(1<<(i&7)) == 0 {
			continue
		}
		d := decodedField{field: i}
		size := f.Type.Size()
		if f.Type == WireString {
			size = 2
		}
		b, err := need(size, f)
		if err != nil {
			return nil, err
		}
		switch f.Type {
		case WireUint8:
			d.num = float64(b[0])
		case WireInt8:
			d.num = float64(int8(b[0]))
		case WireUint16:
			d.num = float64(binary.LittleEndian.Uint16(b))
		case WireInt16:
			d.num = float64(int16(binary.LittleEndian.Uint16(b)))
		case WireUint32:
			d.num = float64(binary.LittleEndian.Uint32(b))
		case WireInt32:
			d.num = float64(int32(binary.LittleEndian.Uint32(b)))
		case WireFloat32:
			d.num = float64(math.Float32frombits(binary.LittleEndian.Uint32(b)))
		case WireFloat64:
			d.num = math.Float64frombits(binary.LittleEndian.Uint64(b))
		case WireBool:
			d.b = b[0] == 1
		case WireString:
			s, err := need(int(binary.LittleEndian.Uint16(b)), f)
			if err != nil {
				return nil, err
			}
			d.str = jsvalue.DecodeText(s)
		}
		out = append(out, d)
	}
	return out, nil
}

// Decode decodes a payload into the delta it carries, as the reference's
// decoder does: numbers as float64, booleans (byte == 1), strings (decoded
// like TextDecoder: a leading byte order mark is dropped, invalid UTF-8
// replaced). Bytes after the last present field are ignored. Unlike the
// reference, which reads undefined or stops short, a payload that ends
// early fails with ErrStatePayload.
func (c *StateCodec) Decode(payload []byte) (map[string]any, error) {
	ds, err := c.decode(payload)
	if err != nil {
		return nil, err
	}
	m := make(map[string]any, len(ds))
	for _, d := range ds {
		f := c.fields[d.field]
		switch f.Type {
		case WireBool:
			m[f.Name] = d.b
		case WireString:
			m[f.Name] = d.str
		default:
			m[f.Name] = d.num
		}
	}
	return m, nil
}

// AppendDecodedJSON decodes a payload like Decode and appends the delta as
// a JSON object, fields in wire order (NaN and ±Infinity are written as
// null, as JSON.stringify does). On error dst is returned unchanged.
func (c *StateCodec) AppendDecodedJSON(dst, payload []byte) ([]byte, error) {
	ds, err := c.decode(payload)
	if err != nil {
		return dst, err
	}
	dst = append(dst, '{')
	for n, d := range ds {
		if n > 0 {
			dst = append(dst, ',')
		}
		f := c.fields[d.field]
		dst = AppendString(dst, f.Name)
		dst = append(dst, ':')
		switch f.Type {
		case WireBool:
			dst = appendBoolJSON(dst, d.b)
		case WireString:
			dst = AppendString(dst, d.str)
		default:
			if math.IsNaN(d.num) || math.IsInf(d.num, 0) {
				dst = append(dst, "null"...)
			} else {
				dst = jsvalue.AppendNumber(dst, d.num)
			}
		}
	}
	return append(dst, '}'), nil
}

func appendBoolJSON(dst []byte, b bool) []byte {
	if b {
		return append(dst, "true"...)
	}
	return append(dst, "false"...)
}
