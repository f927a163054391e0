package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"runtime"
	"strings"
	"testing"
)

func TestDecodeGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			enc := g.want(t)
			got, err := DecodeToJSON([]byte("prefix:"), enc)
			if err != nil {
				t.Fatalf("DecodeToJSON: %v", err)
			}
			if want := "prefix:" + g.decoded(); string(got) != want {
				t.Fatalf("DecodeToJSON = %.80s, want %.80s", got, want)
			}
			v, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if g.decoded() == "null" && v != nil {
				return // ±Infinity: JSON.stringify prints null
			}
			var want any
			if err := json.Unmarshal([]byte(g.decoded()), &want); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(v, want) {
				t.Fatalf("Decode = %#v, want %#v", v, want)
			}
		})
	}
}

func TestDecodeValues(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want any
	}{
		{"positive fixint", "7f", 127.0},
		{"negative fixint", "e0", -32.0},
		{"uint8", "cc ff", 255.0},
		{"uint16", "cd ff ff", 65535.0},
		{"uint32", "ce ff ff ff ff", 4294967295.0},
		{"int8", "d0 80", -128.0},
		{"int16", "d1 80 00", -32768.0},
		{"int32", "d2 80 00 00 00", -2147483648.0},
		{"float64", "cb 3f f8 00 00 00 00 00 00", 1.5},
		{"str8 short", "d9 01 61", "a"},
		{"str16 short", "da 00 01 61", "a"},
		{"str32 short", "db 00 00 00 01 61", "a"},
		{"bin8", "c4 02 01 02", []byte{1, 2}},
		{"bin16", "c5 00 01 ff", []byte{0xff}},
		{"bin32", "c6 00 00 00 00", []byte{}},
		{"array16", "dc 00 02 c3 c2", []any{true, false}},
		{"array32", "dd 00 00 00 01 c0", []any{nil}},
		{"map16", "de 00 01 a1 61 01", map[string]any{"a": 1.0}},
		{"map32", "df 00 00 00 01 a1 61 01", map[string]any{"a": 1.0}},
		{"duplicate key, last wins", "82 a1 61 01 a1 61 02", map[string]any{"a": 2.0}},
		// Prototype keys are dropped; their values are still consumed.
		{"__proto__ dropped", "82 a9 5f 5f 70 72 6f 74 6f 5f 5f 81 a5 61 64 6d 69 6e c3 a2 6f 6b 01", map[string]any{"ok": 1.0}},
		{"constructor dropped", "82 ab 63 6f 6e 73 74 72 75 63 74 6f 72 01 a1 61 02", map[string]any{"a": 2.0}},
		{"prototype dropped", "81 a9 70 72 6f 74 6f 74 79 70 65 01", map[string]any{}},
		// Non-string keys are converted as String() does.
		{"int key", "81 01 a1 61", map[string]any{"1": "a"}},
		{"negative key", "81 ff 01", map[string]any{"-1": 1.0}},
		{"float key", "81 cb 3f f8 00 00 00 00 00 00 01", map[string]any{"1.5": 1.0}},
		{"big float key", "81 cb 44 4b 1a e4 d6 e2 ef 50 01", map[string]any{"1e+21": 1.0}},
		{"negative zero key", "81 cb 80 00 00 00 00 00 00 00 01", map[string]any{"0": 1.0}},
		{"NaN key", "81 cb 7f f8 00 00 00 00 00 00 01", map[string]any{"NaN": 1.0}},
		{"nil key", "81 c0 01", map[string]any{"null": 1.0}},
		{"bool key", "82 c3 01 c2 02", map[string]any{"true": 1.0, "false": 2.0}},
		{"array key", "81 92 01 02 03", map[string]any{"1,2": 3.0}},
		{"array key with nil", "81 93 c0 01 90 05", map[string]any{",1,": 5.0}},
		{"map key", "81 80 01", map[string]any{"[object Object]": 1.0}},
		{"bin key", "81 c4 02 01 02 03", map[string]any{"1,2": 3.0}},
		{"key __proto__ from array", "81 91 a9 5f 5f 70 72 6f 74 6f 5f 5f 01", map[string]any{}},
		// TextDecoder: a leading BOM goes, invalid UTF-8 is replaced per
		// maximal subpart.
		{"BOM only", "a3 ef bb bf", ""},
		{"leading BOM", "a4 ef bb bf 61", "a"},
		{"inner BOM kept", "a4 61 ef bb bf", "a\ufeff"},
		{"invalid byte", "a1 ff", "\ufffd"},
		{"truncated sequence", "a2 e2 82", "\ufffd"},
		{"bad continuation", "a2 c3 28", "\ufffd("},
		{"surrogate bytes", "a3 ed a0 80", "\ufffd\ufffd\ufffd"},
		{"overlong", "a2 c0 80", "\ufffd\ufffd"},
		{"truncated 4-byte", "a4 f0 9f 98 41", "\ufffdA"},
		{"above U+10FFFF", "a4 f4 90 80 80", "\ufffd\ufffd\ufffd\ufffd"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Decode(hx(t, tt.in))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("Decode = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestDecodeToJSON(t *testing.T) {
	tests := []struct{ name, in, want string }{
		{"NaN is null", "cb 7f f8 00 00 00 00 00 00", "null"},
		{"1e21", "cb 44 4b 1a e4 d6 e2 ef 50", "1e+21"},
		{"1e-7", "cb 3e 7a d7 f2 9a bc af 48", "1e-7"},
		{"1e-6", "cb 3e b0 c6 f7 a0 b5 ed 8d", "0.000001"},
		{"bin as object", "c4 03 00 07 ff", `{"0":0,"1":7,"2":255}`},
		{"index keys first", "83 a1 62 01 a2 31 30 02 a1 39 03", `{"9":3,"10":2,"b":1}`},
		{"duplicate keeps first place", "83 a1 61 01 a1 62 02 a1 61 03", `{"a":3,"b":2}`},
		{"numeric key becomes index", "82 a1 62 01 05 02", `{"5":2,"b":1}`},
		{"proto key dropped", "82 a9 5f 5f 70 72 6f 74 6f 5f 5f 01 a1 61 02", `{"a":2}`},
		{"escapes", "a5 22 5c 0a 01 7f", `"\"\\\n\u0001` + "\x7f" + `"`},
		{"nested", "92 81 a1 61 90 c0", `[{"a":[]},null]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := DecodeToJSON(nil, hx(t, tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
		})
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", ErrTruncated},
		{"uint8", "cc", ErrTruncated},
		{"uint16", "cd 01", ErrTruncated},
		{"uint32", "ce 00 00 00", ErrTruncated},
		{"float64", "cb 00 00 00 00 00 00 00", ErrTruncated},
		{"int8", "d0", ErrTruncated},
		{"int16", "d1 00", ErrTruncated},
		{"int32", "d2 00 00 00", ErrTruncated},
		{"fixstr", "a2 61", ErrTruncated},
		{"str8 length", "d9", ErrTruncated},
		{"str8 data", "d9 02 61", ErrTruncated},
		{"str16 length", "da 00", ErrTruncated},
		{"str16 data", "da 00 02 61", ErrTruncated},
		{"str32 length", "db 00 00 00", ErrTruncated},
		{"str32 huge", "db ff ff ff ff 61", ErrTruncated},
		{"bin8 length", "c4", ErrTruncated},
		{"bin8 data", "c4 01", ErrTruncated},
		{"bin16 data", "c5 00 02 01", ErrTruncated},
		{"bin32 huge", "c6 80 00 00 00 01", ErrTruncated},
		{"array16 count", "dc 00", ErrTruncated},
		{"array32 count", "dd 00 00 00", ErrTruncated},
		{"map16 count", "de 00", ErrTruncated},
		{"map32 count", "df 00 00 00", ErrTruncated},
		{"element truncated", "92 cd 01", ErrTruncated},
		{"map value missing", "81 a1 61", ErrTruncated},
		{"fixarray count", "91", ErrCountExceedsRemaining},
		{"fixarray short", "93 01 02", ErrCountExceedsRemaining},
		{"fixmap short", "82 a1 61 01", ErrCountExceedsRemaining},
		{"array32 bomb", "dd ff ff ff ff", ErrCountExceedsRemaining},
		{"array32 2^31", "dd 80 00 00 00 01 02", ErrCountExceedsRemaining},
		{"map32 bomb", "df ff ff ff ff", ErrCountExceedsRemaining},
		{"map16 count times two", "de 00 03 01 02 03 04 05", ErrCountExceedsRemaining},
		{"array16 nested bomb", "91 dc ff ff", ErrCountExceedsRemaining},
		{"0xc1", "c1", ErrUnknownType},
		{"ext8", "c7 01 01 00", ErrUnknownType},
		{"ext16", "c8 00 01 01 00", ErrUnknownType},
		{"ext32", "c9 00 00 00 01 01 00", ErrUnknownType},
		{"float32", "ca 3f c0 00 00", ErrUnknownType},
		{"uint64", "cf 00 00 00 00 00 00 00 01", ErrUnknownType},
		{"int64", "d3 00 00 00 00 00 00 00 01", ErrUnknownType},
		{"fixext1", "d4 01 00", ErrUnknownType},
		{"fixext2", "d5 01 00 00", ErrUnknownType},
		{"fixext4", "d6 01 00 00 00 00", ErrUnknownType},
		{"fixext8", "d7 01 00 00 00 00 00 00 00 00", ErrUnknownType},
		{"fixext16", "d8 01" + strings.Repeat(" 00", 16), ErrUnknownType},
		{"nested unknown", "92 01 ca 00 00 00 00", ErrUnknownType},
		{"unknown map key", "81 cf 00 00 00 00 00 00 00 01 01", ErrUnknownType},
		{"trailing", "01 02", ErrTrailingBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := hx(t, tt.in)
			_, err := Decode(in)
			if !errors.Is(err, tt.want) {
				t.Fatalf("Decode err = %v, want %v", err, tt.want)
			}
			// The reference's messages, which its tests match.
			if tt.want == ErrCountExceedsRemaining && !strings.Contains(err.Error(), "exceeds remaining") {
				t.Fatalf("error %q lacks \"exceeds remaining\"", err)
			}
			dst := []byte("x")
			got, err := DecodeToJSON(dst, in)
			if !errors.Is(err, tt.want) || string(got) != "x" {
				t.Fatalf("DecodeToJSON = %q, %v; want %v", got, err, tt.want)
			}
		})
	}
}

func TestDecodePrefix(t *testing.T) {
	v, n, err := DecodePrefix(hx(t, "92 01 02 ff ff"))
	if err != nil || n != 3 || !reflect.DeepEqual(v, []any{1.0, 2.0}) {
		t.Fatalf("DecodePrefix = %#v, %d, %v", v, n, err)
	}
	if _, _, err := DecodePrefix(hx(t, "c1 00")); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v", err)
	}
}

func TestDecodeDepth(t *testing.T) {
	nest := func(n int, inner byte) []byte {
		return append(bytes.Repeat([]byte{0x91}, n), inner)
	}
	tests := []struct {
		name string
		in   []byte
		ok   bool
	}{
		{"scalar at depth 64", nest(MaxDepth, 0x01), true},
		{"scalar at depth 65", nest(MaxDepth+1, 0x01), false},
		{"empty array at depth 64", nest(MaxDepth, 0x90), true},
		{"empty map at depth 65", nest(MaxDepth+1, 0x80), false},
		{"reference test: MaxDepth+10 fixarrays", nest(MaxDepth+9, 0x01), false},
		{"maps", append(bytes.Repeat([]byte{0x81, 0xa1, 0x61}, MaxDepth+1), 0x01), false},
		{"key nested at depth 64", append(append([]byte{0x81}, nest(MaxDepth-1, 0x01)...), 0xc0), true},
		{"key nested at depth 65", append(append([]byte{0x81}, nest(MaxDepth, 0x01)...), 0xc0), false},
		{"20 levels", nest(20, 0x01), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.in)
			if tt.ok {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				return
			}
			if !errors.Is(err, ErrTooDeep) || !strings.Contains(err.Error(), "Nesting too deep") {
				t.Fatalf("err = %v, want ErrTooDeep (\"Nesting too deep\")", err)
			}
		})
	}
}

// TestDecodeLengthBombNoAllocation checks that lying counts and lengths
// fail before anything of their size is allocated.
func TestDecodeLengthBombNoAllocation(t *testing.T) {
	bombs := []string{
		"dd ff ff ff ff", "df ff ff ff ff", "db ff ff ff ff", "c6 ff ff ff ff",
		"dd 80 00 00 00", "91 91 91 df 7f ff ff ff 00",
	}
	for _, b := range bombs {
		in := hx(t, b)
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		for range 100 {
			if _, err := Decode(in); err == nil {
				t.Fatalf("Decode(% x) succeeded", in)
			}
		}
		runtime.ReadMemStats(&after)
		if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
			t.Fatalf("Decode(% x) ×100 allocated %d bytes", in, grew)
		}
	}
}

func TestDecodeBinaryIsCopy(t *testing.T) {
	in := hx(t, "c4 02 01 02")
	v, err := Decode(in)
	if err != nil {
		t.Fatal(err)
	}
	in[2] = 9
	if b := v.([]byte); b[0] != 1 {
		t.Fatalf("decoded bytes alias the input: %v", b)
	}
}

func TestDecodeFloatSpecials(t *testing.T) {
	v, err := Decode(hx(t, "93 cb 7f f8 00 00 00 00 00 00 cb ff f0 00 00 00 00 00 00 cb 80 00 00 00 00 00 00 00"))
	if err != nil {
		t.Fatal(err)
	}
	a := v.([]any)
	if f := a[0].(float64); !math.IsNaN(f) {
		t.Errorf("a[0] = %v, want NaN", f)
	}
	if f := a[1].(float64); !math.IsInf(f, -1) {
		t.Errorf("a[1] = %v, want -Inf", f)
	}
	if f := a[2].(float64); f != 0 || !math.Signbit(f) {
		t.Errorf("a[2] = %v, want -0", f)
	}
}
