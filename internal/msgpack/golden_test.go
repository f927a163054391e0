package msgpack

import (
	"encoding/hex"
	"strings"
	"testing"
)

// hx parses hex bytes written with optional spaces.
func hx(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// cat joins byte slices.
func cat(parts ...[]byte) []byte {
	var out []byte
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// golden is one hand-written encoding: the JSON text encoded by AppendJSON,
// the expected bytes, and the JSON text JavaScript's JSON.stringify prints
// for the decoded value ("" = same as json).
type golden struct {
	name string
	json string
	hex  string // expected bytes, unless raw is set
	raw  func(t testing.TB) []byte
	back string
}

func (g golden) want(t testing.TB) []byte {
	t.Helper()
	if g.raw != nil {
		return g.raw(t)
	}
	return hx(t, g.hex)
}

func (g golden) decoded() string {
	if g.back != "" {
		return g.back
	}
	return g.json
}

// goldens are written out by hand from the msgpack specification and the
// reference encoder's rules (spec §1.10.2), never produced by the encoder.
var goldens = []golden{
	// nil and booleans.
	{name: "null", json: `null`, hex: "c0"},
	{name: "false", json: `false`, hex: "c2"},
	{name: "true", json: `true`, hex: "c3"},

	// Positive integers at every boundary.
	{name: "zero", json: `0`, hex: "00"},
	{name: "1", json: `1`, hex: "01"},
	{name: "127 fixint max", json: `127`, hex: "7f"},
	{name: "128 uint8 min", json: `128`, hex: "cc 80"},
	{name: "255 uint8 max", json: `255`, hex: "cc ff"},
	{name: "256 uint16 min", json: `256`, hex: "cd 01 00"},
	{name: "65535 uint16 max", json: `65535`, hex: "cd ff ff"},
	{name: "65536 uint32 min", json: `65536`, hex: "ce 00 01 00 00"},
	{name: "2^32-1 uint32 max", json: `4294967295`, hex: "ce ff ff ff ff"},
	{name: "2^32 float64", json: `4294967296`, hex: "cb 41 f0 00 00 00 00 00 00"},
	{name: "2^53 float64", json: `9007199254740992`, hex: "cb 43 40 00 00 00 00 00 00"},

	// Negative integers at every boundary.
	{name: "-1", json: `-1`, hex: "ff"},
	{name: "-32 negative fixint min", json: `-32`, hex: "e0"},
	{name: "-33 int8", json: `-33`, hex: "d0 df"},
	{name: "-128 int8 min", json: `-128`, hex: "d0 80"},
	{name: "-129 int16", json: `-129`, hex: "d1 ff 7f"},
	{name: "-32768 int16 min", json: `-32768`, hex: "d1 80 00"},
	{name: "-32769 int32", json: `-32769`, hex: "d2 ff ff 7f ff"},
	{name: "-2^31 int32 min", json: `-2147483648`, hex: "d2 80 00 00 00"},
	{name: "-2^31-1 float64", json: `-2147483649`, hex: "cb c1 e0 00 00 00 20 00 00"},

	// Integral values written as floats are integers (Number.isInteger).
	{name: "3.0", json: `3.0`, hex: "03", back: `3`},
	{name: "1e2", json: `1e2`, hex: "64", back: `100`},
	{name: "100e-2", json: `100e-2`, hex: "01", back: `1`},
	{name: "-0", json: `-0`, hex: "00", back: `0`},
	{name: "-0.0", json: `-0.0`, hex: "00", back: `0`},
	{name: "-128.0", json: `-128.0`, hex: "d0 80", back: `-128`},
	{name: "65536.0E0", json: `65536.0E0`, hex: "ce 00 01 00 00", back: `65536`},

	// Non-integers and out-of-range values are float64, big-endian.
	{name: "1.5", json: `1.5`, hex: "cb 3f f8 00 00 00 00 00 00"},
	{name: "-0.5", json: `-0.5`, hex: "cb bf e0 00 00 00 00 00 00"},
	{name: "0.1", json: `0.1`, hex: "cb 3f b9 99 99 99 99 99 9a"},
	{name: "0.25e1", json: `0.25e1`, hex: "cb 40 04 00 00 00 00 00 00", back: `2.5`},
	{name: "1e400 is Infinity", json: `1e400`, hex: "cb 7f f0 00 00 00 00 00 00", back: `null`},
	{name: "-1e400 is -Infinity", json: `-1e400`, hex: "cb ff f0 00 00 00 00 00 00", back: `null`},
	{name: "1e-400 underflows to 0", json: `1e-400`, hex: "00", back: `0`},

	// Strings, by UTF-8 byte length.
	{name: "empty string", json: `""`, hex: "a0"},
	{name: "a", json: `"a"`, hex: "a1 61"},
	{name: "é is 2 bytes", json: `"é"`, hex: "a2 c3 a9"},
	{name: "emoji is 4 bytes", json: `"😀"`, hex: "a4 f0 9f 98 80"},
	{name: "31 bytes fixstr max", json: `"` + strings.Repeat("é", 15) + `a"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "bf"), []byte(strings.Repeat("é", 15)+"a")) }},
	{name: "32 bytes str8", json: `"` + strings.Repeat("é", 16) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "d9 20"), []byte(strings.Repeat("é", 16))) }},
	{name: "11 runes 33 bytes str8", json: `"` + strings.Repeat("€", 11) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "d9 21"), []byte(strings.Repeat("€", 11))) }},
	{name: "255 bytes str8 max", json: `"` + strings.Repeat("x", 255) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "d9 ff"), []byte(strings.Repeat("x", 255))) }},
	{name: "256 bytes str16", json: `"` + strings.Repeat("x", 256) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "da 01 00"), []byte(strings.Repeat("x", 256))) }},
	{name: "65535 bytes str16 max", json: `"` + strings.Repeat("x", 65535) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "da ff ff"), []byte(strings.Repeat("x", 65535))) }},
	{name: "65536 bytes str32", json: `"` + strings.Repeat("x", 65536) + `"`,
		raw: func(t testing.TB) []byte { return cat(hx(t, "db 00 01 00 00"), []byte(strings.Repeat("x", 65536))) }},

	// Escapes are resolved before measuring.
	{name: "escaped é", json: `"\u00e9"`, hex: "a2 c3 a9", back: `"é"`},
	{name: "surrogate pair", json: `"\ud83d\ude00"`, hex: "a4 f0 9f 98 80", back: `"😀"`},
	{name: "lone high surrogate", json: `"\ud800x"`, hex: "a4 ef bf bd 78", back: `"�x"`},
	{name: "lone low surrogate", json: `"\udc00"`, hex: "a3 ef bf bd", back: `"�"`},
	{name: "simple escapes", json: `"\"\\\/\b\f\n\r\t"`, hex: "a8 22 5c 2f 08 0c 0a 0d 09", back: `"\"\\/\b\f\n\r\t"`},
	{name: "control escape", json: `"\u0001"`, hex: "a1 01"},
	{name: "31 bytes after unescaping", json: `"` + strings.Repeat(`\u00e9`, 15) + `a"`,
		raw:  func(t testing.TB) []byte { return cat(hx(t, "bf"), []byte(strings.Repeat("é", 15)+"a")) },
		back: `"` + strings.Repeat("é", 15) + `a"`},
	{name: "32 bytes after unescaping", json: `"` + strings.Repeat(`\u00e9`, 16) + `"`,
		raw:  func(t testing.TB) []byte { return cat(hx(t, "d9 20"), []byte(strings.Repeat("é", 16))) },
		back: `"` + strings.Repeat("é", 16) + `"`},

	// Arrays.
	{name: "empty array", json: `[]`, hex: "90"},
	{name: "array", json: `[1,"a",null,true]`, hex: "94 01 a1 61 c0 c3"},
	{name: "15 elements fixarray max", json: `[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]`, hex: "9f" + strings.Repeat(" 00", 15)},
	{name: "16 elements array16", json: `[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]`, hex: "dc 00 10" + strings.Repeat(" 00", 16)},
	{name: "65536 elements array32", json: "[" + strings.Repeat("0,", 65535) + "0]",
		raw: func(t testing.TB) []byte { return cat(hx(t, "dd 00 01 00 00"), make([]byte, 65536)) }},
	{name: "nested arrays", json: `[[],[[1]]]`, hex: "92 90 91 91 01"},

	// Objects: keys in text order.
	{name: "empty object", json: `{}`, hex: "80"},
	{name: "one key", json: `{"a":1}`, hex: "81 a1 61 01"},
	{name: "text order kept", json: `{"b":1,"a":2}`, hex: "82 a1 62 01 a1 61 02"},
	{name: "state payload", json: `{"state":{"count":5}}`, hex: "81 a5 73 74 61 74 65 81 a5 63 6f 75 6e 74 05"},
	{name: "system payload", json: `{"subscriberId":"abc","count":2}`,
		hex: "82 ac 73 75 62 73 63 72 69 62 65 72 49 64 a3 61 62 63 a5 63 6f 75 6e 74 02"},
	{name: "escaped key", json: `{"\u0061":1}`, hex: "81 a1 61 01", back: `{"a":1}`},
	{name: "15 keys fixmap max", json: `{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0}`,
		hex: "8f a1 61 00 a1 62 00 a1 63 00 a1 64 00 a1 65 00 a1 66 00 a1 67 00 a1 68 00 a1 69 00 a1 6a 00 a1 6b 00 a1 6c 00 a1 6d 00 a1 6e 00 a1 6f 00"},
	{name: "16 keys map16", json: `{"a":0,"b":0,"c":0,"d":0,"e":0,"f":0,"g":0,"h":0,"i":0,"j":0,"k":0,"l":0,"m":0,"n":0,"o":0,"p":0}`,
		hex: "de 00 10 a1 61 00 a1 62 00 a1 63 00 a1 64 00 a1 65 00 a1 66 00 a1 67 00 a1 68 00 a1 69 00 a1 6a 00 a1 6b 00 a1 6c 00 a1 6d 00 a1 6e 00 a1 6f 00 a1 70 00"},

	// JavaScript property order: array indices first, ascending; a
	// duplicated key keeps its first place and its last value.
	{name: "index keys first", json: `{"b":1,"2":2,"1":3}`, hex: "83 a1 31 03 a1 32 02 a1 62 01", back: `{"1":3,"2":2,"b":1}`},
	{name: "leading zero is not an index", json: `{"01":1,"1":2}`, hex: "82 a1 31 02 a2 30 31 01", back: `{"1":2,"01":1}`},
	{name: "2^32-2 is an index", json: `{"x":1,"4294967294":2}`, hex: "82 aa 34 32 39 34 39 36 37 32 39 34 02 a1 78 01", back: `{"4294967294":2,"x":1}`},
	{name: "2^32-1 is not an index", json: `{"x":1,"4294967295":2}`, hex: "82 a1 78 01 aa 34 32 39 34 39 36 37 32 39 35 02"},
	{name: "numeric order not text order", json: `{"10":1,"9":2}`, hex: "82 a1 39 02 a2 31 30 01", back: `{"9":2,"10":1}`},
	{name: "duplicate key", json: `{"a":1,"b":2,"a":3}`, hex: "82 a1 61 03 a1 62 02", back: `{"a":3,"b":2}`},
	{name: "duplicate escaped key", json: `{"a":1,"\u0061":[2]}`, hex: "81 a1 61 91 02", back: `{"a":[2]}`},

	// Whitespace around tokens.
	{name: "whitespace", json: " {\n\t\"a\" : [ 1 , 2 ] ,\r\"b\":\"c\" } ", hex: "82 a1 61 92 01 02 a1 62 a1 63", back: `{"a":[1,2],"b":"c"}`},
}
