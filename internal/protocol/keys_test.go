package protocol

import (
	"errors"
	"strings"
	"testing"
)

func TestForbiddenKey(t *testing.T) {
	tests := []struct {
		name     string
		raw      string
		maxDepth int
		want     string // "" = not found
	}{
		{"clean", `{"a":{"b":[1,{"c":null}]}}`, 32, ""},
		{"top-level proto", `{"__proto__":{"admin":true}}`, 32, "__proto__"},
		{"top-level constructor", `{"x":1,"constructor":{"prototype":{}}}`, 32, "constructor"},
		{"nested prototype", `{"a":{"prototype":1}}`, 32, "prototype"},
		{"inside array", `[1,[{"ok":1},{"__proto__":1}]]`, 32, "__proto__"},
		{"escaped name", `{"__pro\u0074o__":1}`, 32, "__proto__"},
		{"fully escaped name", `{"\u0063\u006f\u006e\u0073\u0074\u0072\u0075\u0063\u0074\u006f\u0072":1}`, 32, "constructor"},
		{"first in document order", `{"a":{"constructor":1},"__proto__":2}`, 32, "constructor"},
		{"values do not count", `{"k":"__proto__","l":["constructor"],"m":{"n":"prototype"}}`, 32, ""},
		{"case matters", `{"__Proto__":1,"Constructor":2,"PROTOTYPE":3}`, 32, ""},
		{"longer names", `{"__proto__x":1,"xprototype":2,"constructors":3}`, 32, ""},
		{"long escaped key", `{"` + strings.Repeat(`\u0061`, 20) + `":1}`, 32, ""},
		{"escaped key with invalid utf8", "{\"\\u0061\xff\xff\xff\xff\xff\xff\xff\":1}", 32, ""},
		{"at the depth limit", `{"a":[{"__proto__":1}]}`, 2, "__proto__"},
		{"below the depth limit", `{"a":[{"__proto__":1}]}`, 1, ""},
		{"root only", `{"__proto__":1}`, 0, "__proto__"},
		{"root only misses nested", `{"a":{"__proto__":1}}`, 0, ""},
		{"negative depth checks everything", strings.Repeat(`{"a":`, 100) + `{"prototype":1}` + strings.Repeat(`}`, 100), -1, "prototype"},
		{"scalar", `"__proto__"`, 32, ""},
		{"empty containers", `{"a":{},"b":[]}`, 32, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, found := ForbiddenKey([]byte(tt.raw), tt.maxDepth)
			if key != tt.want || found != (tt.want != "") {
				t.Errorf("ForbiddenKey(%s, %d) = %q, %v; want %q", tt.raw, tt.maxDepth, key, found, tt.want)
			}
		})
	}
}

func TestForbiddenKeyInvalidInput(t *testing.T) {
	for _, raw := range []string{``, `{`, `{"a"`, `{"a":}`, `[1,`, `"\u12`, strings.Repeat("[", 20000)} {
		if key, found := ForbiddenKey([]byte(raw), -1); found {
			t.Errorf("ForbiddenKey(%q) = %q on invalid input", raw, key)
		}
	}
}

func TestForbiddenKeyAllocs(t *testing.T) {
	raw := []byte(`{"a":{"b":[1,2,{"c":"d"}]},"e":"\u0066"}`)
	if n := testing.AllocsPerRun(100, func() { ForbiddenKey(raw, SanitizeDepth) }); n != 0 {
		t.Errorf("ForbiddenKey allocates %v times", n)
	}
}

func dropRoomKey(k string) bool {
	return strings.HasPrefix(k, "$") || k == "__proto__" || k == "constructor" || k == "prototype"
}

func TestStripKeys(t *testing.T) {
	tests := []struct {
		name, raw, want string
		aliased         bool
	}{
		{"nothing dropped", `{"a":1,"b":{"$c":2}}`, `{"a":1,"b":{"$c":2}}`, true},
		{"nothing dropped keeps whitespace", ` { "a" : 1 } `, ` { "a" : 1 } `, true},
		{"empty object", `{}`, `{}`, true},
		{"drop first", `{"$x":1,"a":2,"b":3}`, `{"a":2,"b":3}`, false},
		{"drop middle", `{"a":1, "__proto__":{"p":1}, "b":[1, 2]}`, `{"a":1,"b":[1, 2]}`, false},
		{"drop last", `{ "a" : 1 , "b" : 2 , "constructor" : 3 }`, `{"a" : 1 , "b" : 2}`, false},
		{"drop all", `{"$a":1,"$b":2}`, `{}`, false},
		{"drop escaped", `{"\u0024secret":1,"ok":"\u0024"}`, `{"ok":"\u0024"}`, false},
		{"drop duplicates", `{"$a":1,"b":2,"$a":3}`, `{"b":2}`, false},
		{"keep duplicates in order", `{"b":1,"$x":0,"b":2}`, `{"b":1,"b":2}`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw := []byte(tt.raw)
			got, err := StripKeys(raw, dropRoomKey)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("StripKeys(%s) = %s, want %s", tt.raw, got, tt.want)
			}
			if aliased := &got[0] == &raw[0]; aliased != tt.aliased {
				t.Errorf("aliased = %v, want %v", aliased, tt.aliased)
			}
		})
	}
}

func TestStripKeysErrors(t *testing.T) {
	tests := []struct {
		raw  string
		want error
	}{
		{``, ErrInvalidJSON},
		{`{"a":1`, ErrInvalidJSON},
		{`{"a":1}x`, ErrInvalidJSON},
		{`{"a" 1}`, ErrInvalidJSON},
		{`[1]`, ErrNotObject},
		{` null `, ErrNotObject},
		{`"x"`, ErrNotObject},
		{`[1`, ErrInvalidJSON},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if _, err := StripKeys([]byte(tt.raw), dropRoomKey); !errors.Is(err, tt.want) {
				t.Errorf("StripKeys(%q) error = %v, want %v", tt.raw, err, tt.want)
			}
		})
	}
}
