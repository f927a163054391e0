package signing

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseSignedState(t *testing.T) {
	const base = `"data":"{\"a\":1}","signature":"ab","timestamp":1795773727840,"version":3,"componentId":"c1"`
	full := SignedState{Data: `{"a":1}`, Signature: "ab", Timestamp: 1795773727840, Version: 3, ComponentID: "c1"}
	with := func(f func(*SignedState)) SignedState {
		s := full
		f(&s)
		return s
	}
	tests := []struct {
		name string
		in   string
		want SignedState
	}{
		{"minimal", `{` + base + `}`, full},
		{"all fields", `{` + base + `,"nonce":"n","compressed":true,"encrypted":false}`, with(func(s *SignedState) { s.Nonce, s.Compressed = "n", true })},
		{"whitespace and order", " {\n\"componentId\" : \"c1\", \"version\":3 ,\"timestamp\":1795773727840,\"signature\":\"ab\",\"data\":\"{\\\"a\\\":1}\"}\t", full},
		{"unknown keys ignored", `{"extra":{"deep":[1,2,{"x":null}]},` + base + `,"Data":5}`, full},
		{"escapes", `{` + strings.Replace(base, `"c1"`, `"c\u0031\n\u00e9\ud83d\ude00"`, 1) + `}`, with(func(s *SignedState) { s.ComponentID = "c1\né😀" })},
		{"lone surrogate becomes U+FFFD", `{` + strings.Replace(base, `"c1"`, `"\ud800x"`, 1) + `}`, with(func(s *SignedState) { s.ComponentID = "\ufffdx" })},
		{"integral float forms", `{` + strings.Replace(strings.Replace(base, `:3,`, `:3.0,`, 1), `1795773727840`, `1.79577372784e12`, 1) + `}`, full},
		{"2^53", `{` + strings.Replace(base, `:3,`, `:9007199254740992,`, 1) + `}`, with(func(s *SignedState) { s.Version = 1 << 53 })},
		{"-2^53", `{` + strings.Replace(base, `:3,`, `:-9007199254740992,`, 1) + `}`, with(func(s *SignedState) { s.Version = -(1 << 53) })},
		{"negative zero", `{` + strings.Replace(base, `:3,`, `:-0,`, 1) + `}`, with(func(s *SignedState) { s.Version = 0 })},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseSignedState([]byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("(-want +got):\n%s", diff)
			}
		})
	}

	bad := []struct{ name, in string }{
		{"empty", ``},
		{"invalid JSON", `{` + base},
		{"trailing garbage", `{` + base + `}x`},
		{"array", `[` + base + `]`},
		{"null", `null`},
		{"missing data", `{"signature":"ab","timestamp":1,"version":3,"componentId":"c1"}`},
		{"missing signature", `{"data":"","timestamp":1,"version":3,"componentId":"c1"}`},
		{"missing timestamp", `{"data":"","signature":"ab","version":3,"componentId":"c1"}`},
		{"missing version", `{"data":"","signature":"ab","timestamp":1,"componentId":"c1"}`},
		{"missing componentId", `{"data":"","signature":"ab","timestamp":1,"version":3}`},
		{"data number", `{` + strings.Replace(base, `"{\"a\":1}"`, `1`, 1) + `}`},
		{"data object", `{` + strings.Replace(base, `"{\"a\":1}"`, `{"a":1}`, 1) + `}`},
		{"signature null", `{` + strings.Replace(base, `"ab"`, `null`, 1) + `}`},
		{"timestamp string", `{` + strings.Replace(base, `1795773727840`, `"1795773727840"`, 1) + `}`},
		{"version bool", `{` + strings.Replace(base, `:3,`, `:true,`, 1) + `}`},
		{"version fraction", `{` + strings.Replace(base, `:3,`, `:3.5,`, 1) + `}`},
		{"version above 2^53", `{` + strings.Replace(base, `:3,`, `:9007199254740993,`, 1) + `}`},
		{"version huge exponent", `{` + strings.Replace(base, `:3,`, `:1e400,`, 1) + `}`},
		{"version beyond int64", `{` + strings.Replace(base, `:3,`, `:99999999999999999999,`, 1) + `}`},
		{"componentId array", `{` + strings.Replace(base, `"c1"`, `["c1"]`, 1) + `}`},
		{"nonce null", `{` + base + `,"nonce":null}`},
		{"nonce number", `{` + base + `,"nonce":1}`},
		{"compressed string", `{` + base + `,"compressed":"true"}`},
		{"encrypted null", `{` + base + `,"encrypted":null}`},
		{"duplicate data", `{` + base + `,"data":"x"}`},
		{"duplicate nonce", `{` + base + `,"nonce":"a","nonce":"b"}`},
		{"too large", `{` + base + `,"pad":"` + strings.Repeat("x", MaxSignedStateSize) + `"}`},
	}
	for _, tt := range bad {
		t.Run("reject "+tt.name, func(t *testing.T) {
			_, err := ParseSignedState([]byte(tt.in))
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("err = %v, want %v", err, ErrMalformed)
			}
		})
	}
}

func TestAppendJSON(t *testing.T) {
	tests := []struct {
		name string
		in   SignedState
		want string
	}{
		{"zero", SignedState{}, `{"data":"","signature":"","timestamp":0,"version":0,"componentId":"","compressed":false,"encrypted":false}`},
		{"nonce and flags", SignedState{Data: "d", Signature: "s", Timestamp: -5, Version: 1 << 53, ComponentID: "c", Nonce: "1:a:b", Compressed: true, Encrypted: true},
			`{"data":"d","signature":"s","timestamp":-5,"version":9007199254740992,"componentId":"c","nonce":"1:a:b","compressed":true,"encrypted":true}`},
		{"escaping", SignedState{Data: "\"\\/\b\f\n\r\t\x00\x1f\x7f<>&\u2028é😀"},
			`{"data":"\"\\/\b\f\n\r\t\u0000\u001f` + "\x7f<>&\u2028é😀" + `","signature":"","timestamp":0,"version":0,"componentId":"","compressed":false,"encrypted":false}`},
		{"invalid UTF-8", SignedState{ComponentID: "a\xffb\xc3"},
			`{"data":"","signature":"","timestamp":0,"version":0,"componentId":"a` + "\ufffd" + `b` + "\ufffd" + `","compressed":false,"encrypted":false}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.AppendJSON([]byte("prefix:"))
			if string(got) != "prefix:"+tt.want {
				t.Fatalf("got  %s\nwant prefix:%s", got, tt.want)
			}
			// Same content as encoding/json produces.
			var viaStd, viaOurs map[string]any
			std, _ := json.Marshal(struct{ S SignedState }{tt.in}) // non-addressable: reflection path
			var wrapper struct{ S json.RawMessage }
			json.Unmarshal(std, &wrapper)
			json.Unmarshal(wrapper.S, &viaStd)
			if err := json.Unmarshal(got[len("prefix:"):], &viaOurs); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(viaStd, viaOurs); diff != "" {
				t.Fatalf("differs from encoding/json (-std +ours):\n%s", diff)
			}
		})
	}
}

func TestSignedStateJSONMethods(t *testing.T) {
	type msg struct {
		SignedState *SignedState `json:"signedState"`
	}
	in := msg{&SignedState{Data: "d", Signature: "s", Timestamp: 1, Version: 2, ComponentID: "c", Nonce: "n"}}
	b, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	const want = `{"signedState":{"data":"d","signature":"s","timestamp":1,"version":2,"componentId":"c","nonce":"n","compressed":false,"encrypted":false}}`
	if string(b) != want {
		t.Fatalf("Marshal = %s", b)
	}
	var out msg
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(in, out); diff != "" {
		t.Fatalf("(-want +got):\n%s", diff)
	}
	err = json.Unmarshal([]byte(`{"signedState":{"data":1}}`), &out)
	if !errors.Is(err, ErrMalformed) {
		t.Fatalf("Unmarshal of bad shape: err = %v, want %v", err, ErrMalformed)
	}
}

func TestDecodeString(t *testing.T) {
	for _, lit := range []string{`""`, `"abc"`, `"\"\\\/\b\f\n\r\t"`, `"\u00e9\u4e16\ud83d\ude00"`, `"\ud800"`, `"\udc00\ud800x"`, `"\ud83d\u0041"`, "\"a\xffb\"", `"é"`} {
		t.Run(lit, func(t *testing.T) {
			var want string
			if err := json.Unmarshal([]byte(lit), &want); err != nil {
				t.Fatal(err)
			}
			got, ok := decodeString([]byte(lit))
			if !ok || got != want {
				t.Fatalf("decodeString(%s) = %q, %v; want %q", lit, got, ok, want)
			}
		})
	}
	for _, bad := range []string{`"`, `"\x"`, `"\u12"`, `"\u12g4"`, `"a` + "\n" + `"`, `abc`} {
		if _, ok := decodeString([]byte(bad)); ok {
			t.Errorf("decodeString(%q) accepted", bad)
		}
	}
}
