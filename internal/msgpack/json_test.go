package msgpack

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestAppendJSONInvalid(t *testing.T) {
	tests := []string{
		``, ` `, `{`, `}`, `[`, `[1,]`, `[,1]`, `[1 2]`, `{"a"}`, `{"a":}`, `{"a":1,}`, `{,"a":1}`,
		`{a:1}`, `{1:2}`, `{"a" 1}`, `01`, `1.`, `.5`, `-`, `+1`, `1e`, `1e+`, `0x10`, `tru`, `nul`,
		`falsey`, `NaN`, `Infinity`, `"abc`, `"\x"`, `"\u12"`, `"\u12g4"`, "\"\x01\"", "\"a\tb\"",
		`1 2`, `{} {}`, `"a"b`, `[1]]`, `'a'`, "\xef\xbb\xbf1",
	}
	for _, in := range tests {
		t.Run(fmt.Sprintf("%q", in), func(t *testing.T) {
			if json.Valid([]byte(in)) {
				t.Fatalf("test input %q is valid JSON", in)
			}
			dst := make([]byte, 1, 64)
			got, err := AppendJSON(dst, []byte(in))
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("err = %v, want ErrInvalidJSON", err)
			}
			if len(got) != 1 {
				t.Fatalf("dst grew to %d bytes on error", len(got))
			}
		})
	}
}

func TestAppendJSONInvalidUTF8(t *testing.T) {
	tests := []struct{ in, want string }{
		{"\"a\xffb\"", "a5 61 ef bf bd 62"},
		// Each byte of an invalid sequence is replaced, as encoding/json does.
		{"\"\xed\xa0\x80\"", "a9 ef bf bd ef bf bd ef bf bd"},
		{"\"\xc3\"", "a3 ef bf bd"},
		// An escape in the same string takes the slow path too.
		{"\"\\n\xff\"", "a4 0a ef bf bd"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%q", tt.in), func(t *testing.T) {
			got, err := AppendJSON(nil, []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if want := hx(t, tt.want); !bytes.Equal(got, want) {
				t.Fatalf("got % x, want % x", got, want)
			}
		})
	}
}

func TestAppendJSONDepth(t *testing.T) {
	nested := func(n int, inner string) []byte {
		return []byte(strings.Repeat("[", n) + inner + strings.Repeat("]", n))
	}
	tests := []struct {
		name    string
		in      []byte
		wantErr error
	}{
		{"scalar at the limit", nested(MaxEncodeDepth, "1"), nil},
		{"scalar beyond the limit", nested(MaxEncodeDepth+1, "1"), ErrTooDeep},
		{"empty array at the limit", nested(MaxEncodeDepth+1, ""), nil},
		{"empty array beyond the limit", nested(MaxEncodeDepth+2, ""), ErrTooDeep},
		{"objects", []byte(strings.Repeat(`{"a":`, MaxEncodeDepth+1) + "1" + strings.Repeat("}", MaxEncodeDepth+1)), ErrTooDeep},
		{"very deep", nested(100000, ""), ErrTooDeep},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := AppendJSON(nil, tt.in)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}
	// The bytes at the limit.
	got, err := AppendJSON(nil, nested(MaxEncodeDepth, "1"))
	if err != nil {
		t.Fatal(err)
	}
	if want := cat(bytes.Repeat([]byte{0x91}, MaxEncodeDepth), []byte{0x01}); !bytes.Equal(got, want) {
		t.Fatalf("got % x", head(got))
	}
}

func TestAppendJSONKeyOrderLarge(t *testing.T) {
	// 20 members (more than the inline member buffer), with a duplicate and
	// index keys: the slow path must apply JavaScript's order.
	var in, want strings.Builder
	in.WriteString(`{`)
	for i := range 18 {
		fmt.Fprintf(&in, `"k%02d":%d,`, i, i)
	}
	in.WriteString(`"7":100,"k03":"dup"}`)
	// 19 distinct keys: "7" first, then k00..k17 with k03 = "dup".
	want.WriteString("de 00 13 a1 37 64")
	for i := range 18 {
		fmt.Fprintf(&want, " a3 6b 3%d 3%d", i/10, i%10)
		if i == 3 {
			want.WriteString(" a3 64 75 70")
		} else {
			fmt.Fprintf(&want, " %02x", i)
		}
	}
	got, err := AppendJSON(nil, []byte(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if w := hx(t, want.String()); !bytes.Equal(got, w) {
		t.Fatalf("got  % x\nwant % x", got, w)
	}
	// Without index keys or duplicates, 20 members keep their order.
	in.Reset()
	want.Reset()
	in.WriteString(`{`)
	want.WriteString("de 00 14")
	for i := range 20 {
		if i > 0 {
			in.WriteString(",")
		}
		fmt.Fprintf(&in, `"%c":%d`, 'z'-i, i)
		fmt.Fprintf(&want, " a1 %02x %02x", 'z'-i, i)
	}
	in.WriteString(`}`)
	got, err = AppendJSON(nil, []byte(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if w := hx(t, want.String()); !bytes.Equal(got, w) {
		t.Fatalf("got  % x\nwant % x", got, w)
	}
}

func TestAppendJSONNestedReorder(t *testing.T) {
	// A reordered inner object followed by more members of the outer one,
	// and an outer map16 whose header insertion moves everything after it.
	in := `{"x":{"b":1,"0":2,"b":3},"y":[` + strings.Repeat("1,", 15) + `1]}`
	want := "82 a1 78 82 a1 30 02 a1 62 03 a1 79 dc 00 10" + strings.Repeat(" 01", 16)
	got, err := AppendJSON(nil, []byte(in))
	if err != nil {
		t.Fatal(err)
	}
	if w := hx(t, want); !bytes.Equal(got, w) {
		t.Fatalf("got  % x\nwant % x", got, w)
	}
}

func TestAppendJSONNoAllocs(t *testing.T) {
	raw := []byte(`{"from":"AbCdEfGh","text":"hello there, ünïcode","n":[1,-2,3.5],"ok":true,"meta":{"ts":1795773727835,"tag":null}}`)
	dst := make([]byte, 0, 256)
	allocs := testing.AllocsPerRun(100, func() {
		out, err := AppendJSON(dst[:0], raw)
		if err != nil || len(out) == 0 {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Fatalf("AppendJSON allocated %v times per call", allocs)
	}
}

// TestAppendJSONRoundTrip checks, on generated documents, that decoding
// AppendJSON's output gives what encoding/json decodes from the same text.
func TestAppendJSONRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 200 {
		doc := genJSON(r, 0)
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			var want any
			if err := json.Unmarshal([]byte(doc), &want); err != nil {
				t.Fatalf("generated invalid JSON %s: %v", doc, err)
			}
			enc, err := AppendJSON(nil, []byte(doc))
			if err != nil {
				t.Fatalf("AppendJSON(%s): %v", doc, err)
			}
			got, err := Decode(enc)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("round trip of %s\n got %#v\nwant %#v", doc, got, want)
			}
			// Append of the decoded value, whose maps are ordered by key,
			// decodes to the same value as well.
			again, err := Append(nil, want)
			if err != nil {
				t.Fatal(err)
			}
			if got2, err := Decode(again); err != nil || !reflect.DeepEqual(got2, want) {
				t.Fatalf("Append round trip: %#v, %v", got2, err)
			}
		})
	}
}

var genKeys = []string{"a", "b", "count", "0", "1", "10", "é", "k\\n", "\\u00e9", "x y", "01", "2"}

// genJSON returns a random JSON text with numbers that encoding/json can
// decode and no prototype keys.
func genJSON(r *rand.Rand, depth int) string {
	n := r.IntN(10)
	if depth > 4 {
		n = r.IntN(6)
	}
	switch n {
	case 0:
		return "null"
	case 1:
		return strconv.FormatBool(r.IntN(2) == 0)
	case 2:
		return strconv.Itoa(r.IntN(1<<20) - 1<<19)
	case 3:
		return strconv.FormatFloat(r.NormFloat64()*1e6, 'g', -1, 64)
	case 4:
		return strconv.FormatInt(r.Int64N(1<<62)-1<<61, 10)
	case 5:
		return strconv.Quote(strings.Repeat("ab€", r.IntN(20)))
	case 6, 7:
		var sb strings.Builder
		sb.WriteByte('[')
		for i := range r.IntN(12) {
			if i > 0 {
				sb.WriteString(" ,")
			}
			sb.WriteString(genJSON(r, depth+1))
		}
		sb.WriteByte(']')
		return sb.String()
	default:
		var sb strings.Builder
		sb.WriteByte('{')
		for i := range r.IntN(12) {
			if i > 0 {
				sb.WriteByte(',')
			}
			fmt.Fprintf(&sb, `"%s": %s`, genKeys[r.IntN(len(genKeys))], genJSON(r, depth+1))
		}
		sb.WriteByte('}')
		return sb.String()
	}
}
