package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
)

func TestAppendJSONGolden(t *testing.T) {
	for _, g := range goldens {
		t.Run(g.name, func(t *testing.T) {
			want := g.want(t)
			got, err := AppendJSON(nil, []byte(g.json))
			if err != nil {
				t.Fatalf("AppendJSON: %v", err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("AppendJSON(%.60q)\n got % x\nwant % x", g.json, head(got), head(want))
			}
			// Appending keeps the prefix.
			prefix := []byte{0xaa, 0xbb}
			got, err = AppendJSON(prefix, []byte(g.json))
			if err != nil || !bytes.Equal(got, cat([]byte{0xaa, 0xbb}, want)) {
				t.Fatalf("AppendJSON with prefix: % x, %v", head(got), err)
			}
		})
	}
}

// head shortens long byte slices in failure messages.
func head(b []byte) []byte {
	if len(b) > 48 {
		return b[:48]
	}
	return b
}

func TestAppendGolden(t *testing.T) {
	// Values shaped like encoding/json output, plus Go numbers.
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"nil", nil, "c0"},
		{"false", false, "c2"},
		{"true", true, "c3"},
		{"float 127", 127.0, "7f"},
		{"float 128", 128.0, "cc 80"},
		{"float 255", 255.0, "cc ff"},
		{"float 256", 256.0, "cd 01 00"},
		{"float 65535", 65535.0, "cd ff ff"},
		{"float 65536", 65536.0, "ce 00 01 00 00"},
		{"float 2^32-1", 4294967295.0, "ce ff ff ff ff"},
		{"float 2^32", 4294967296.0, "cb 41 f0 00 00 00 00 00 00"},
		{"float -32", -32.0, "e0"},
		{"float -33", -33.0, "d0 df"},
		{"float -128", -128.0, "d0 80"},
		{"float -129", -129.0, "d1 ff 7f"},
		{"float -32768", -32768.0, "d1 80 00"},
		{"float -32769", -32769.0, "d2 ff ff 7f ff"},
		{"float -2^31", -2147483648.0, "d2 80 00 00 00"},
		{"float -2^31-1", -2147483649.0, "cb c1 e0 00 00 00 20 00 00"},
		{"float 3.0", 3.0, "03"},
		{"float 1.5", 1.5, "cb 3f f8 00 00 00 00 00 00"},
		{"negative zero", math.Copysign(0, -1), "00"},
		{"NaN is canonical", math.Float64frombits(0x7ff8000000000001), "cb 7f f8 00 00 00 00 00 00"},
		{"negative NaN is canonical", math.Float64frombits(0xfff0000000000001), "cb 7f f8 00 00 00 00 00 00"},
		{"+Inf", math.Inf(1), "cb 7f f0 00 00 00 00 00 00"},
		{"-Inf", math.Inf(-1), "cb ff f0 00 00 00 00 00 00"},
		{"float32 0.5", float32(0.5), "cb 3f e0 00 00 00 00 00 00"},
		{"int 300", 300, "cd 01 2c"},
		{"int8 -5", int8(-5), "fb"},
		{"int16 -200", int16(-200), "d1 ff 38"},
		{"int32 min", int32(math.MinInt32), "d2 80 00 00 00"},
		{"int64 2^32", int64(1) << 32, "cb 41 f0 00 00 00 00 00 00"},
		{"int64 -2^31-1", int64(-2147483649), "cb c1 e0 00 00 00 20 00 00"},
		{"uint 5", uint(5), "05"},
		{"uint8 200", uint8(200), "cc c8"},
		{"uint16 65535", uint16(65535), "cd ff ff"},
		{"uint32 max", uint32(math.MaxUint32), "ce ff ff ff ff"},
		{"uint64 2^32", uint64(1) << 32, "cb 41 f0 00 00 00 00 00 00"},
		{"json.Number 3.0", json.Number("3.0"), "03"},
		{"json.Number 0.1", json.Number("0.1"), "cb 3f b9 99 99 99 99 99 9a"},
		{"json.Number -33", json.Number("-33"), "d0 df"},
		{"string", "hé", "a3 68 c3 a9"},
		{"invalid UTF-8 string", "a\xffb", "a5 61 ef bf bd 62"},
		{"bytes", []byte{1, 2}, "c4 02 01 02"},
		{"empty bytes", []byte{}, "c4 00"},
		{"nil bytes", []byte(nil), "c0"},
		{"raw JSON keeps order", json.RawMessage(`{"z":1,"a":2}`), "82 a1 7a 01 a1 61 02"},
		{"nil raw JSON", json.RawMessage(nil), "c0"},
		{"array", []any{1.0, "a", nil, true}, "94 01 a1 61 c0 c3"},
		{"nil array", []any(nil), "c0"},
		{"empty array", []any{}, "90"},
		{"map sorted, indices first", map[string]any{"b": 1.0, "a": 2.0, "10": 3.0, "9": 4.0, "01": 5.0},
			"85 a1 39 04 a2 31 30 03 a2 30 31 05 a1 61 02 a1 62 01"},
		{"nil map", map[string]any(nil), "c0"},
		{"nested", map[string]any{"state": map[string]any{"count": 5.0}}, "81 a5 73 74 61 74 65 81 a5 63 6f 75 6e 74 05"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Append(nil, tt.v)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if want := hx(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("Append(%#v)\n got % x\nwant % x", tt.v, got, want)
			}
		})
	}
}

func TestAppendGoldenLarge(t *testing.T) {
	tests := []struct {
		name string
		v    any
		want []byte
	}{
		{"bin8 max", make([]byte, 255), cat(hx(t, "c4 ff"), make([]byte, 255))},
		{"bin16 min", make([]byte, 256), cat(hx(t, "c5 01 00"), make([]byte, 256))},
		{"bin16 max", make([]byte, 65535), cat(hx(t, "c5 ff ff"), make([]byte, 65535))},
		{"bin32 min", make([]byte, 65536), cat(hx(t, "c6 00 01 00 00"), make([]byte, 65536))},
		{"fixarray max", make([]any, 15), cat(hx(t, "9f"), bytes.Repeat([]byte{0xc0}, 15))},
		{"array16 min", make([]any, 16), cat(hx(t, "dc 00 10"), bytes.Repeat([]byte{0xc0}, 16))},
		{"array16 max", make([]any, 65535), cat(hx(t, "dc ff ff"), bytes.Repeat([]byte{0xc0}, 65535))},
		{"array32 min", make([]any, 65536), cat(hx(t, "dd 00 01 00 00"), bytes.Repeat([]byte{0xc0}, 65536))},
		{"str32 min", strings.Repeat("x", 65536), cat(hx(t, "db 00 01 00 00"), bytes.Repeat([]byte{'x'}, 65536))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Append(nil, tt.v)
			if err != nil {
				t.Fatalf("Append: %v", err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("got % x…, want % x…", head(got), head(tt.want))
			}
		})
	}
}

func TestAppendErrors(t *testing.T) {
	cyclic := []any{nil}
	cyclic[0] = cyclic
	cyclicMap := map[string]any{}
	cyclicMap["self"] = cyclicMap
	tests := []struct {
		name string
		v    any
		want error
	}{
		{"channel", make(chan int), ErrUnsupportedType},
		{"struct", struct{ A int }{1}, ErrUnsupportedType},
		{"nested unsupported", map[string]any{"a": []any{1.0, struct{}{}}}, ErrUnsupportedType},
		{"bad json.Number", json.Number("1e"), ErrInvalidJSON},
		{"json.Number NaN", json.Number("NaN"), ErrInvalidJSON},
		{"bad raw JSON", json.RawMessage(`{"a":`), ErrInvalidJSON},
		{"cyclic array", cyclic, ErrTooDeep},
		{"cyclic map", cyclicMap, ErrTooDeep},
		{"too deep", nestArrays(MaxEncodeDepth+1, 1.0), ErrTooDeep},
		{"raw JSON adds to depth", nestArrays(MaxEncodeDepth, json.RawMessage(`[1]`)), ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dst := []byte{0x01}
			got, err := Append(dst, tt.v)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if len(got) != 1 {
				t.Fatalf("dst length changed to %d on error", len(got))
			}
		})
	}
}

// nestArrays wraps v in n single-element arrays.
func nestArrays(n int, v any) any {
	for range n {
		v = []any{v}
	}
	return v
}

func TestAppendDepthLimit(t *testing.T) {
	out, err := Append(nil, nestArrays(MaxEncodeDepth, 1.0))
	if err != nil {
		t.Fatalf("depth %d: %v", MaxEncodeDepth, err)
	}
	want := cat(bytes.Repeat([]byte{0x91}, MaxEncodeDepth), []byte{0x01})
	if !bytes.Equal(out, want) {
		t.Fatalf("got % x", out)
	}
	// An empty container at the limit has no element beyond it.
	if _, err := Append(nil, nestArrays(MaxEncodeDepth, []any{})); err != nil {
		t.Fatalf("empty innermost array: %v", err)
	}
}

func TestWriters(t *testing.T) {
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"nil", AppendNil(nil), "c0"},
		{"bool", AppendBool(AppendBool(nil, true), false), "c3 c2"},
		{"number 0.5", AppendNumber(nil, 0.5), "cb 3f e0 00 00 00 00 00 00"},
		{"number 200", AppendNumber(nil, 200), "cc c8"},
		{"int max uint32", AppendInt(nil, math.MaxUint32), "ce ff ff ff ff"},
		{"int 2^32", AppendInt(nil, 1<<32), "cb 41 f0 00 00 00 00 00 00"},
		{"int -2^31", AppendInt(nil, math.MinInt32), "d2 80 00 00 00"},
		{"int -2^31-1", AppendInt(nil, math.MinInt32-1), "cb c1 e0 00 00 00 20 00 00"},
		{"string", AppendString(nil, "abc"), "a3 61 62 63"},
		{"string invalid UTF-8", AppendString(nil, "\xff\xfe"), "a6 ef bf bd ef bf bd"},
		{"binary", AppendBinary(nil, []byte{9}), "c4 01 09"},
		{"array header 15", AppendArrayHeader(nil, 15), "9f"},
		{"array header 16", AppendArrayHeader(nil, 16), "dc 00 10"},
		{"array header 65535", AppendArrayHeader(nil, 65535), "dc ff ff"},
		{"array header 65536", AppendArrayHeader(nil, 65536), "dd 00 01 00 00"},
		{"array header max", AppendArrayHeader(nil, math.MaxUint32), "dd ff ff ff ff"},
		{"map header 0", AppendMapHeader(nil, 0), "80"},
		{"map header 15", AppendMapHeader(nil, 15), "8f"},
		{"map header 16", AppendMapHeader(nil, 16), "de 00 10"},
		{"map header 65536", AppendMapHeader(nil, 65536), "df 00 01 00 00"},
		{"system payload by hand", AppendNumber(AppendString(AppendString(AppendString(AppendMapHeader(nil, 2),
			"subscriberId"), "abc"), "count"), 2),
			"82 ac 73 75 62 73 63 72 69 62 65 72 49 64 a3 61 62 63 a5 63 6f 75 6e 74 02"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if want := hx(t, tt.want); !bytes.Equal(tt.got, want) {
				t.Fatalf("got % x, want % x", tt.got, want)
			}
		})
	}
}

func TestMarshal(t *testing.T) {
	type event struct {
		Zeta  int      `json:"zeta"`
		Alpha string   `json:"alpha"`
		Skip  string   `json:"-"`
		List  []string `json:"list,omitempty"`
		Ratio float64  `json:"ratio"`
	}
	got, err := Marshal(event{Zeta: 300, Alpha: "<a>", Skip: "x", Ratio: 2})
	if err != nil {
		t.Fatal(err)
	}
	// Struct field order is kept; encoding/json's HTML escaping is undone.
	want := hx(t, "83 a4 7a 65 74 61 cd 01 2c a5 61 6c 70 68 61 a3 3c 61 3e a5 72 61 74 69 6f 02")
	if !bytes.Equal(got, want) {
		t.Fatalf("got % x\nwant % x", got, want)
	}
	if _, err := Marshal(make(chan int)); err == nil {
		t.Fatal("Marshal(chan) succeeded")
	}
	if _, err := Marshal(math.NaN()); err == nil {
		t.Fatal("Marshal(NaN) succeeded: encoding/json rejects it")
	}
}
