package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"
)

// codecOf builds a codec with one field of type t named "x".
func codecOf(t *testing.T, typ WireType) *StateCodec {
	t.Helper()
	c, err := NewStateCodecFields([]StateField{{"x", typ}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// roundTrip encodes {"x": value} given as JSON and decodes it back.
func roundTrip(t *testing.T, c *StateCodec, deltaJSON string) map[string]any {
	t.Helper()
	bin, _, err := c.EncodeJSON(nil, []byte(deltaJSON))
	if err != nil || bin == nil {
		t.Fatalf("EncodeJSON(%s) = %x, %v", deltaJSON, bin, err)
	}
	got, err := c.Decode(bin)
	if err != nil {
		t.Fatalf("Decode(% x): %v", bin, err)
	}
	return got
}

func TestStateCodecGolden(t *testing.T) {
	c, err := NewStateCodecFields([]StateField{
		{"hp", WireUint8}, {"x", WireFloat32}, {"name", WireString}, {"alive", WireBool},
		{"score", WireUint32}, {"dx", WireInt16}, {"t", WireFloat64}, {"lvl", WireInt32},
		{"id", WireUint16}, {"dir", WireInt8},
	}, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		delta string
		want  string
	}{
		// bits 0,2,4,5 = 0x35; hp c8; name 02 00 c3 a9; score LE; dx -2 LE.
		{"sparse", `{"hp":200,"name":"é","score":16909060,"dx":-2}`, "35 00 c8 02 00 c3 a9 04 03 02 01 fe ff"},
		// bits 1,3,6 = 0x4a; 1.5f = 3fc00000; true; 1.5 = 3ff8000000000000.
		{"floats and bool", `{"t":1.5,"alive":true,"x":1.5}`, "4a 00 00 00 c0 3f 01 00 00 00 00 00 00 f8 3f"},
		// bits 7,8,9: 0x80 then 0x03; -2^31 LE; 65535 LE; -128.
		{"second mask byte", `{"dir":-128,"id":65535,"lvl":-2147483648}`, "80 03 00 00 00 80 ff ff 80"},
		{"empty string", `{"name":""}`, "04 00 00 00"},
		{"key order irrelevant", `{"dx":1,"hp":1}`, "21 00 01 01 00"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, fb, err := c.EncodeJSON([]byte{0xee}, []byte(tt.delta))
			if err != nil || fb != nil {
				t.Fatalf("EncodeJSON: %v, fallback %s", err, fb)
			}
			if want := append([]byte{0xee}, hx(t, tt.want)...); !bytes.Equal(bin, want) {
				t.Fatalf("got  % x\nwant % x", bin, want)
			}
		})
	}
}

// TestStateCodecRoundTripPerType is the reference's "round trip for every
// wire type" group (spec §6.6).
func TestStateCodecRoundTripPerType(t *testing.T) {
	tests := []struct {
		typ    WireType
		values []string
	}{
		{WireUint8, []string{"0", "1", "127", "128", "255"}},
		{WireUint16, []string{"0", "256", "65535"}},
		{WireUint32, []string{"0", "65536", "4294967295"}},
		{WireInt8, []string{"-128", "0", "127"}},
		{WireInt16, []string{"-32768", "32767"}},
		{WireInt32, []string{"-2147483648", "2147483647"}},
		{WireFloat64, []string{"3.14159265358979", "-0.1", "1e300", "5e-324"}},
		{WireBool, []string{"true", "false"}},
		{WireString, []string{`""`, `"hello"`, `"ñ"`, `"🎮 emoji"`, `"café"`}},
	}
	for _, tt := range tests {
		t.Run(tt.typ.String(), func(t *testing.T) {
			c := codecOf(t, tt.typ)
			for _, v := range tt.values {
				var want any
				if err := json.Unmarshal([]byte(v), &want); err != nil {
					t.Fatal(err)
				}
				if got := roundTrip(t, c, `{"x":`+v+`}`); !reflect.DeepEqual(got, map[string]any{"x": want}) {
					t.Errorf("%s: got %#v", v, got)
				}
			}
		})
	}
	t.Run("float32 loses precision", func(t *testing.T) {
		got := roundTrip(t, codecOf(t, WireFloat32), `{"x":3.14159265358979}`)["x"].(float64)
		if math.Abs(got-3.14159265358979) >= 1e-6 || got == 3.14159265358979 {
			t.Fatalf("got %v", got)
		}
		if got != float64(float32(3.14159265358979)) {
			t.Fatalf("got %v, want the float32 rounding", got)
		}
	})
}

// TestStateCodecWrapAround checks the documented silent wrap-around of the
// reference (spec §1.10.1, §6.6).
func TestStateCodecWrapAround(t *testing.T) {
	tests := []struct {
		name  string
		typ   WireType
		value string // JSON
		want  any
	}{
		{"uint8 256 → 0", WireUint8, "256", 0.0},
		{"uint8 257 → 1", WireUint8, "257", 1.0},
		{"uint8 -1 → 255", WireUint8, "-1", 255.0},
		{"uint8 3.7 truncates", WireUint8, "3.7", 3.0},
		{"uint8 -3.7 truncates then wraps", WireUint8, "-3.7", 253.0},
		{"int8 128 → -128", WireInt8, "128", -128.0},
		{"int8 255 → -1", WireInt8, "255", -1.0},
		{"uint16 65536 → 0", WireUint16, "65536", 0.0},
		{"int16 40000 → -25536", WireInt16, "40000", -25536.0},
		{"uint32 2^32 → 0", WireUint32, "4294967296", 0.0},
		{"uint32 -1 → 2^32-1", WireUint32, "-1", 4294967295.0},
		{"uint32 1e10 mod 2^32", WireUint32, "1e10", 1410065408.0},
		{"uint32 1e300 → 0", WireUint32, "1e300", 0.0},
		{"int32 2^31 → -2^31", WireInt32, "2147483648", -2147483648.0},
		{"uint8 1e400 (Infinity) → 0", WireUint8, "1e400", 0.0},
		{"float32 overflow → Infinity", WireFloat32, "1e39", math.Inf(1)},
		{"float32 -1e39 → -Infinity", WireFloat32, "-1e39", math.Inf(-1)},
		{"float32 max stays", WireFloat32, "3.4028234663852886e38", float64(math.MaxFloat32)},
		{"float32 just below overflow rounds to max", WireFloat32, "3.4028235677973362e38", float64(math.MaxFloat32)},
		{"float32 overflow threshold → Infinity", WireFloat32, "3.4028235677973366e38", math.Inf(1)},
		{"bool truthy string → true", WireBool, `"yes"`, true},
		{"bool 0 → false", WireBool, "0", false},
		{"bool -0 → false", WireBool, "-0", false},
		{"bool 2 → true", WireBool, "2", true},
		{"bool empty string → false", WireBool, `""`, false},
		{"bool \"0\" → true", WireBool, `"0"`, true},
		{"bool null → false", WireBool, "null", false},
		{"bool [] → true", WireBool, "[]", true},
		{"bool {} → true", WireBool, "{}", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, codecOf(t, tt.typ), `{"x":`+tt.value+`}`)
			if !reflect.DeepEqual(got["x"], tt.want) {
				t.Fatalf("got %#v, want %#v", got["x"], tt.want)
			}
		})
	}
}

// TestStateCodecGoValues covers the values JSON cannot carry.
func TestStateCodecGoValues(t *testing.T) {
	tests := []struct {
		name string
		typ  WireType
		v    any
		want any
	}{
		{"uint8 NaN → 0", WireUint8, math.NaN(), 0.0},
		{"uint32 NaN → 0", WireUint32, math.NaN(), 0.0},
		{"int16 -Inf → 0", WireInt16, math.Inf(-1), 0.0},
		{"float32 Infinity preserved", WireFloat32, math.Inf(1), math.Inf(1)},
		{"float64 -Infinity preserved", WireFloat64, math.Inf(-1), math.Inf(-1)},
		{"bool NaN → false", WireBool, math.NaN(), false},
		{"string NaN", WireString, math.NaN(), "NaN"},
		{"string Infinity", WireString, math.Inf(1), "Infinity"},
		{"uint8 int 257", WireUint8, 257, 1.0},
		{"int32 int64", WireInt32, int64(-5), -5.0},
		{"uint16 uint", WireUint16, uint(70000), 4464.0},
		{"float32 float32", WireFloat32, float32(0.1), float64(float32(0.1))},
		{"uint8 json.Number", WireUint8, json.Number("300"), 44.0},
		{"uint8 bool", WireUint8, true, 1.0},
		{"uint8 nil", WireUint8, nil, 0.0},
		{"uint8 string", WireUint8, " 0x1F ", 31.0},
		{"string bool", WireString, false, "false"},
		{"string nil", WireString, nil, "null"},
		{"string int", WireString, 42, "42"},
		{"string float", WireString, 0.000001, "0.000001"},
		{"string []any", WireString, []any{1.0, []any{2.0, nil}, "a"}, "1,2,,a"},
		{"string map", WireString, map[string]any{"a": 1.0}, "[object Object]"},
		{"uint8 []any{7}", WireUint8, []any{7.0}, 7.0},
		{"string invalid UTF-8", WireString, "a\xffb", "a\ufffdb"},
		{"bool string", WireBool, "x", true},
		{"bool empty map", WireBool, map[string]any{}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := codecOf(t, tt.typ)
			bin, fb, err := c.Encode(nil, map[string]any{"x": tt.v, "other": 1})
			if err != nil || fb != nil {
				t.Fatalf("Encode: %v, fallback %v", err, fb)
			}
			got, err := c.Decode(bin)
			if err != nil {
				t.Fatal(err)
			}
			g := got["x"]
			if f, ok := tt.want.(float64); ok && math.IsNaN(f) {
				if gf, ok := g.(float64); !ok || !math.IsNaN(gf) {
					t.Fatalf("got %#v, want NaN", g)
				}
				return
			}
			if !reflect.DeepEqual(g, tt.want) {
				t.Fatalf("got %#v, want %#v", g, tt.want)
			}
		})
	}
	// NaN is written as the canonical NaN, as V8 does.
	bin, _, _ := codecOf(t, WireFloat64).Encode(nil, map[string]any{"x": math.Float64frombits(0x7ff0000000000001)})
	if want := hx(t, "01 00 00 00 00 00 00 f8 7f"); !bytes.Equal(bin, want) {
		t.Fatalf("float64 NaN: % x", bin)
	}
	bin, _, _ = codecOf(t, WireFloat32).Encode(nil, map[string]any{"x": math.NaN()})
	if want := hx(t, "01 00 00 c0 7f"); !bytes.Equal(bin, want) {
		t.Fatalf("float32 NaN: % x", bin)
	}
	if _, _, err := codecOf(t, WireUint8).Encode(nil, map[string]any{"x": make(chan int)}); !errors.Is(err, ErrStateValue) {
		t.Fatalf("chan: %v", err)
	}
}

// TestStateCodecCoercion checks JavaScript's Number() and String() of
// values given to fields of another type.
func TestStateCodecCoercion(t *testing.T) {
	tests := []struct {
		name  string
		typ   WireType
		value string
		want  any
	}{
		{"numeric string", WireUint8, `"12"`, 12.0},
		{"padded hex string", WireUint8, `" 0x10 "`, 16.0},
		{"octal string", WireUint8, `"0o17"`, 15.0},
		{"binary string", WireUint8, `"0b101"`, 5.0},
		{"signed hex is NaN", WireUint8, `"-0x10"`, 0.0},
		{"exponent string", WireUint16, `"1e3"`, 1000.0},
		{"fraction-only string", WireFloat64, `".5"`, 0.5},
		{"trailing dot string", WireFloat64, `"5."`, 5.0},
		{"Infinity string", WireFloat64, `"-Infinity"`, math.Inf(-1)},
		{"inf is NaN", WireUint8, `"inf"`, 0.0},
		{"empty string is 0", WireFloat64, `""`, 0.0},
		{"blank string is 0", WireFloat64, `" \n\t"`, 0.0},
		{"text is NaN", WireFloat64, `"abc"`, math.NaN()},
		{"underscore is NaN", WireFloat64, `"1_000"`, math.NaN()},
		{"true", WireUint8, `true`, 1.0},
		{"false", WireUint8, `false`, 0.0},
		{"null", WireUint8, `null`, 0.0},
		{"empty array", WireUint8, `[]`, 0.0},
		{"one-element array", WireUint8, `[7]`, 7.0},
		{"nested one-element array", WireUint8, `[["8"]]`, 8.0},
		{"two-element array is NaN", WireFloat64, `[1,2]`, math.NaN()},
		{"object is NaN", WireFloat64, `{"a":1}`, math.NaN()},
		{"number to string", WireString, `12.50`, "12.5"},
		{"large number to string", WireString, `1e21`, "1e+21"},
		{"integer-valued to string", WireString, `100.0`, "100"},
		{"true to string", WireString, `true`, "true"},
		{"null to string", WireString, `null`, "null"},
		{"array to string", WireString, `[1,[2,null],"a",{}]`, "1,2,,a,[object Object]"},
		{"object to string", WireString, `{"a":1}`, "[object Object]"},
		{"escaped string", WireString, `"a\n\u00e9\ud83d\ude00"`, "a\né😀"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := roundTrip(t, codecOf(t, tt.typ), `{"x":`+tt.value+`}`)["x"]
			if f, ok := tt.want.(float64); ok && math.IsNaN(f) {
				if g, ok := got.(float64); !ok || !math.IsNaN(g) {
					t.Fatalf("got %#v, want NaN", got)
				}
				return
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestStateCodecBitmask(t *testing.T) {
	many := func(n int) *StateCodec {
		fields := make([]StateField, n)
		for i := range fields {
			fields[i] = StateField{string(rune('a' + i)), WireUint8}
		}
		c, err := NewStateCodecFields(fields, nil)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	// 9 fields, one present: 2 mask bytes + 1 value.
	bin, _, err := many(9).EncodeJSON(nil, []byte(`{"a":1}`))
	if err != nil || !bytes.Equal(bin, hx(t, "01 00 01")) {
		t.Fatalf("9 fields: % x, %v", bin, err)
	}
	// 20 fields: a 3-byte mask; field 19 is byte 2, bit 3.
	c := many(20)
	if c.BitmaskLen() != 3 {
		t.Fatalf("BitmaskLen = %d", c.BitmaskLen())
	}
	bin, _, err = c.EncodeJSON(nil, []byte(`{"t":42}`))
	if err != nil || !bytes.Equal(bin, hx(t, "00 00 08 2a")) {
		t.Fatalf("20 fields: % x, %v", bin, err)
	}
	if got, err := c.Decode(bin); err != nil || !reflect.DeepEqual(got, map[string]any{"t": 42.0}) {
		t.Fatalf("Decode = %v, %v", got, err)
	}
	for n, want := range map[int]int{0: 1, 1: 1, 8: 1, 9: 2, 16: 2, 17: 3, 64: 8, 65: 9} {
		if got := many(n).BitmaskLen(); got != want {
			t.Errorf("%d fields: BitmaskLen %d, want %d", n, got, want)
		}
	}
	// Bits past the last field and bytes after the last value are ignored.
	got, err := many(3).Decode(hx(t, "f9 05 ff ff"))
	if err != nil || !reflect.DeepEqual(got, map[string]any{"a": 5.0}) {
		t.Fatalf("Decode = %v, %v", got, err)
	}
}

func TestStateCodecEmptyAndFallback(t *testing.T) {
	c, err := NewStateCodec([]byte(`{"n":0,"obj":{"nested":1},"label":"","list":[],"gone":null}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		delta    string
		bin      string // "" = nil
		fallback string // "" = nil
	}{
		{"empty delta", `{}`, "", ""},
		{"unknown keys only", `{"y":99,"z":{}}`, "", ""},
		{"unsupported only", `{"obj":{"nested":2}}`, "", `{"obj":{"nested":2}}`},
		{"mixed", `{"n":5,"obj":{"nested":2},"y":1}`, "01 00 00 00 00 00 00 14 40", `{"obj":{"nested":2}}`},
		{"fallback in delta order, duplicate last wins", `{"list":[1],"n":1,"obj":1,"list":[2, 3]}`,
			"01 00 00 00 00 00 00 f0 3f", `{"list":[2, 3],"obj":1}`},
		{"duplicate field last wins", `{"label":"a","label":"bc"}`, "02 02 00 62 63", ""},
		{"null of unsupported key", `{"gone":null}`, "", `{"gone":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bin, fb, err := c.EncodeJSON(nil, []byte(tt.delta))
			if err != nil {
				t.Fatal(err)
			}
			if tt.bin == "" {
				if bin != nil {
					t.Fatalf("bin = % x, want nil", bin)
				}
			} else if !bytes.Equal(bin, hx(t, tt.bin)) {
				t.Fatalf("bin = % x, want %s", bin, tt.bin)
			}
			if string(fb) != tt.fallback {
				t.Fatalf("fallback = %s, want %s", fb, tt.fallback)
			}
		})
	}
	// The Go-value path returns the fallback values themselves.
	bin, fb, err := c.Encode([]byte{1}, map[string]any{"obj": []any{1.0}, "unknown": 2})
	if err != nil || bin != nil || !reflect.DeepEqual(fb, map[string]any{"obj": []any{1.0}}) {
		t.Fatalf("Encode = %x, %v, %v", bin, fb, err)
	}
	bin, fb, err = c.Encode(nil, map[string]any{})
	if err != nil || bin != nil || fb != nil {
		t.Fatalf("Encode(empty) = %x, %v, %v", bin, fb, err)
	}
}

func TestStateCodecDeltaErrors(t *testing.T) {
	c := codecOf(t, WireUint8)
	tests := []struct {
		delta string
		err   error
	}{
		{``, ErrInvalidJSON},
		{`{`, ErrInvalidJSON},
		{`{"x":}`, ErrInvalidJSON},
		{`{"x":1} x`, ErrInvalidJSON},
		{`[]`, ErrNotObject},
		{`null`, ErrNotObject},
		{` "x" `, ErrNotObject},
	}
	for _, tt := range tests {
		if _, _, err := c.EncodeJSON(nil, []byte(tt.delta)); !errors.Is(err, tt.err) {
			t.Errorf("EncodeJSON(%q) err = %v, want %v", tt.delta, err, tt.err)
		}
	}
}

func TestStateCodecLongStrings(t *testing.T) {
	c := codecOf(t, WireString)
	for _, n := range []int{60000, 65535} {
		s := strings.Repeat("a", n)
		if got := roundTrip(t, c, `{"x":"`+s+`"}`); got["x"] != s {
			t.Fatalf("%d bytes: got %d bytes back", n, len(got["x"].(string)))
		}
	}
	// 65536 bytes: the u16 length wraps to 0, all bytes are still written,
	// and the decoder reads an empty string (documented limitation).
	bin, _, err := c.EncodeJSON(nil, []byte(`{"x":"`+strings.Repeat("a", 65536)+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	if len(bin) != 1+2+65536 || bin[1] != 0 || bin[2] != 0 {
		t.Fatalf("payload of %d bytes, prefix % x", len(bin), bin[:3])
	}
	if got, err := c.Decode(bin); err != nil || got["x"] != "" {
		t.Fatalf("Decode = %.20v, %v; want an empty string", got, err)
	}
	// 65537 bytes wraps to 1.
	bin, _, _ = c.EncodeJSON(nil, []byte(`{"x":"b`+strings.Repeat("a", 65536)+`"}`))
	if got, err := c.Decode(bin); err != nil || got["x"] != "b" {
		t.Fatalf("Decode = %.20v, %v; want \"b\"", got, err)
	}
}

func TestNewStateCodec(t *testing.T) {
	c, err := NewStateCodec([]byte(` {"count":0,"label":"","on":false,"obj":{},"arr":[],"nil":null,"hp":1.5} `),
		map[string]WireType{"count": WireUint8, "missing": WireInt8, "arr": WireString})
	if err != nil {
		t.Fatal(err)
	}
	wantFields := []StateField{{"count", WireUint8}, {"label", WireString}, {"on", WireBool}, {"arr", WireString}, {"hp", WireFloat64}}
	if !reflect.DeepEqual(c.Fields(), wantFields) {
		t.Fatalf("Fields = %v", c.Fields())
	}
	if !reflect.DeepEqual(c.Unsupported(), []string{"obj", "nil"}) || c.FullCoverage() || !c.HasFields() {
		t.Fatalf("Unsupported = %v, FullCoverage %v", c.Unsupported(), c.FullCoverage())
	}
	// A duplicated key keeps its first place and its last value.
	c, err = NewStateCodec([]byte(`{"a":1,"b":true,"a":"x","\u0062":2}`), nil)
	if err != nil {
		t.Fatal(err)
	}
	if want := []StateField{{"a", WireString}, {"b", WireFloat64}}; !reflect.DeepEqual(c.Fields(), want) {
		t.Fatalf("Fields = %v", c.Fields())
	}
	if c, err := NewStateCodec([]byte(`{}`), nil); err != nil || c.HasFields() || !c.FullCoverage() || c.BitmaskLen() != 1 {
		t.Fatalf("empty state: %v", err)
	}
	// Explicit uint8 beats the float64 inference: 1 byte instead of 8.
	auto, _ := NewStateCodec([]byte(`{"x":0}`), nil)
	explicit, _ := NewStateCodec([]byte(`{"x":0}`), map[string]WireType{"x": WireUint8})
	a, _, _ := auto.EncodeJSON(nil, []byte(`{"x":5}`))
	e, _, _ := explicit.EncodeJSON(nil, []byte(`{"x":5}`))
	if len(a) != 9 || len(e) != 2 {
		t.Fatalf("auto %d bytes, explicit %d bytes", len(a), len(e))
	}

	for _, bad := range []string{``, `[]`, `{"a":}`, `{"a":1}}`, `null`} {
		if _, err := NewStateCodec([]byte(bad), nil); !errors.Is(err, ErrStateSchema) {
			t.Errorf("NewStateCodec(%q) err = %v", bad, err)
		}
	}
	if _, err := NewStateCodec([]byte(`{"a":1}`), map[string]WireType{"a": 10}); !errors.Is(err, ErrStateSchema) {
		t.Errorf("invalid type: %v", err)
	}
	if _, err := NewStateCodecFields([]StateField{{"a", WireUint8}, {"a", WireInt8}}, nil); !errors.Is(err, ErrStateSchema) {
		t.Errorf("duplicate field: %v", err)
	}
	if _, err := NewStateCodecFields([]StateField{{"a", WireUint8}}, []string{"a"}); !errors.Is(err, ErrStateSchema) {
		t.Errorf("field also unsupported: %v", err)
	}
}

func TestWireTypeNames(t *testing.T) {
	names := []string{"uint8", "uint16", "uint32", "int8", "int16", "int32", "float32", "float64", "boolean", "string"}
	sizes := []int{1, 2, 4, 1, 2, 4, 4, 8, 1, 0}
	for i, n := range names {
		typ, err := ParseWireType(n)
		if err != nil || typ != WireType(i) || typ.String() != n || typ.Size() != sizes[i] {
			t.Errorf("%s: %v, %v, %q, %d", n, typ, err, typ.String(), typ.Size())
		}
	}
	if _, err := ParseWireType("bool"); !errors.Is(err, ErrStateSchema) {
		t.Errorf("ParseWireType(bool) err = %v", err)
	}
	if s := WireType(42).String(); s != "WireType(42)" {
		t.Errorf("String = %q", s)
	}
}

func TestStateCodecDecodeErrors(t *testing.T) {
	c, err := NewStateCodecFields([]StateField{{"a", WireUint16}, {"s", WireString}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []string{"", "01", "01 00", "02", "02 01", "02 03 00 61 62", "03 01 00 05 00"} {
		if _, err := c.Decode(hx(t, in)); !errors.Is(err, ErrStatePayload) {
			t.Errorf("Decode(%s) err = %v", in, err)
		}
		if out, err := c.AppendDecodedJSON([]byte("x"), hx(t, in)); err == nil || string(out) != "x" {
			t.Errorf("AppendDecodedJSON(%s) = %q, %v", in, out, err)
		}
	}
	// Strings decode as TextDecoder does: BOM dropped, invalid UTF-8 replaced.
	got, err := c.Decode(hx(t, "02 05 00 ef bb bf 61 ff"))
	if err != nil || got["s"] != "a\ufffd" {
		t.Fatalf("Decode = %q, %v", got["s"], err)
	}
	got, err = c.Decode(hx(t, "02 02 00 e2 82"))
	if err != nil || got["s"] != "\ufffd" {
		t.Fatalf("Decode = %q, %v", got["s"], err)
	}
}

func TestStateCodecAppendDecodedJSON(t *testing.T) {
	c, err := NewStateCodecFields([]StateField{{"n", WireFloat64}, {"ok", WireBool}, {"s", WireString}, {"f", WireFloat32}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	bin, _, err := c.Encode(nil, map[string]any{"n": 1e21, "ok": true, "s": "a\"b", "f": math.Inf(1)})
	if err != nil {
		t.Fatal(err)
	}
	got, err := c.AppendDecodedJSON([]byte("x"), bin)
	if err != nil {
		t.Fatal(err)
	}
	if want := `x{"n":1e+21,"ok":true,"s":"a\"b","f":null}`; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
}

func TestStateCodecEncodeNoAllocs(t *testing.T) {
	c, err := NewStateCodec([]byte(`{"x":0,"y":0,"name":"","alive":true,"inv":[]}`),
		map[string]WireType{"x": WireFloat32, "y": WireFloat32})
	if err != nil {
		t.Fatal(err)
	}
	delta := []byte(`{"x":12.5,"y":-3,"name":"p\u00e9","alive":false}`)
	dst := make([]byte, 0, 64)
	allocs := testing.AllocsPerRun(100, func() {
		bin, fb, err := c.EncodeJSON(dst[:0], delta)
		if err != nil || bin == nil || fb != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("EncodeJSON allocated %v times", allocs)
	}
}

func TestJSStringToNumber(t *testing.T) {
	tests := []struct {
		in   string
		want float64
	}{
		{"0", 0}, {"-0", math.Copysign(0, -1)}, {"+5", 5}, {"1e3", 1000}, {"1E-3", 0.001}, {".5", 0.5}, {"5.", 5},
		{"\u00a0\ufeff 7 \u2028", 7}, {"0x1f", 31}, {"0XFF", 255}, {"0b11", 3}, {"0o777", 511},
		{"0x10000000000000001", 18446744073709551616}, {"Infinity", math.Inf(1)}, {"+Infinity", math.Inf(1)},
		{"1e400", math.Inf(1)}, {"00012", 12},
	}
	for _, tt := range tests {
		if got := jsStringToNumber(tt.in); got != tt.want || math.Signbit(got) != math.Signbit(tt.want) {
			t.Errorf("jsStringToNumber(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
	for _, in := range []string{"abc", "1e", "e1", ".", "+", "0x", "0xg", "-0x1", "0x_1", "1_0", "infinity", "NaN", "1 2", "0b2", "--1", "1e+", "0x1.8"} {
		if got := jsStringToNumber(in); !math.IsNaN(got) {
			t.Errorf("jsStringToNumber(%q) = %v, want NaN", in, got)
		}
	}
}
