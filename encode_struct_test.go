package live

import (
	"bytes"
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"
)

type esInner struct {
	A int    `json:"a"`
	S string `json:"s,omitempty"`
}

type esLevel string

type esAll struct {
	B      bool
	I      int     `json:"i"`
	I8     int8    `json:"i8"`
	U      uint64  `json:"u,omitempty"`
	F32    float32 `json:"f32"`
	F      float64 `json:"f,omitempty"`
	S      string  `json:"s"`
	Skip   int     `json:"-"`
	hidden int
	P      *string        `json:"p"`
	PO     *int           `json:"po,omitempty"`
	Any    any            `json:"any,omitempty"`
	M      map[string]int `json:"m"`
	Sl     []int          `json:"sl,omitempty"`
	Bs     []byte         `json:"bs"`
	In     esInner        `json:"in"`
	T      time.Time      `json:"t"`
	Level  esLevel        `json:"level,omitempty"`
	Arr    [2]uint8       `json:"arr"`
}

// jsonText is what encoding/json writes for v with HTML escaping off: the
// output structEncoder must reproduce.
func jsonText(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

var esStrings = []string{"", "plain", "héllo wörld", "<a href='x'>&amp;</a>", "\u2028\u2029", "\x00\x01\x1f\x7f",
	"\xff\xfe invalid", "quote \" backslash \\ slash /", "emoji 🎉", "\t\n\r\b\f"}

var esFloats = []float64{0, math.Copysign(0, -1), 1, -1.5, 123.456, 1e20, 1e21, 1e-6, 1e-7, 5e-324, math.MaxFloat64, 0.1 + 0.2}

func randomEsAll(r *rand.Rand) esAll {
	v := esAll{
		B: r.IntN(2) == 0, I: r.IntN(2000) - 1000, I8: int8(r.IntN(256) - 128), F32: float32(esFloats[r.IntN(len(esFloats)-2)]),
		F: esFloats[r.IntN(len(esFloats))], S: esStrings[r.IntN(len(esStrings))], Skip: 7,
		hidden: 3, In: esInner{A: r.IntN(10), S: esStrings[r.IntN(len(esStrings))]}, Arr: [2]uint8{uint8(r.IntN(256)), 9},
	}
	if r.IntN(2) == 0 {
		v.U = math.MaxUint64 - uint64(r.IntN(10))
	}
	if r.IntN(2) == 0 {
		s := esStrings[r.IntN(len(esStrings))]
		v.P = &s
	}
	if r.IntN(2) == 0 {
		n := r.IntN(5)
		v.PO = &n
	}
	switch r.IntN(3) {
	case 0:
		v.Any = map[string]any{"k": esStrings[r.IntN(len(esStrings))], "n": 1.5}
	case 1:
		v.Any = esInner{A: 1}
	}
	if r.IntN(2) == 0 {
		v.M = map[string]int{"b": 2, "a": 1}
	}
	if r.IntN(2) == 0 {
		v.Sl = []int{1, 2, 3}[:r.IntN(4)]
	}
	if r.IntN(2) == 0 {
		v.Bs = []byte(esStrings[r.IntN(len(esStrings))])
	}
	if r.IntN(2) == 0 {
		v.T = time.Date(2026, 11, 27, 19, 0, 0, r.IntN(1e9), time.UTC)
	}
	if r.IntN(2) == 0 {
		v.Level = esLevel(esStrings[r.IntN(len(esStrings))])
	}
	return v
}

// structEncoder writes byte for byte what encoding/json writes (HTML
// escaping off), for every field kind it handles itself and those it
// hands to encodeGeneric, through encoderFor and marshalValue alike.
func TestStructEncoderMatchesEncodingJSON(t *testing.T) {
	enc := structEncoder(reflect.TypeFor[esAll]())
	if enc == nil {
		t.Fatal("esAll: no compiled encoder")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 2000 {
		v := randomEsAll(r)
		want, err := jsonText(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := enc(nil, reflect.ValueOf(v))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("value %d:\n got %s (%v)\nwant %s", i, got, err, want)
		}
		if got, err := marshalValue(nil, v); err != nil || !bytes.Equal(got, want) {
			t.Fatalf("marshalValue, value %d:\n got %s (%v)\nwant %s", i, got, err, want)
		}
	}
	// The tag "-," names the key "-" (built at run time: staticcheck
	// rejects the literal tag, rightly for hand-written code).
	dash := reflect.StructOf([]reflect.StructField{{Name: "Dash", Type: reflect.TypeFor[string](), Tag: `json:"-,"`}})
	dv := reflect.New(dash).Elem()
	dv.Field(0).SetString("x")
	want, err := jsonText(dv.Interface())
	if err != nil {
		t.Fatal(err)
	}
	if enc := structEncoder(dash); enc == nil {
		t.Error(`tag "-,": no compiled encoder`)
	} else if got, err := enc(nil, dv); err != nil || !bytes.Equal(got, want) {
		t.Errorf(`tag "-,": got %s (%v), want %s`, got, err, want)
	}
	// Unsupported values fail as they do in encoding/json.
	if _, err := enc(nil, reflect.ValueOf(esAll{F: math.NaN()})); err == nil {
		t.Error("NaN encoded without error")
	}
	if _, err := enc(nil, reflect.ValueOf(esAll{Any: func() {}})); err == nil {
		t.Error("func value encoded without error")
	}
}

// Struct shapes whose encoding/json rules structEncoder does not model get
// no compiled encoder, so encodeGeneric keeps them exact.
func TestStructEncoderDeclines(t *testing.T) {
	type embedded struct{ esInner }
	type stringOpt struct {
		N int `json:"n,string"`
	}
	type omitZero struct {
		N int `json:"n,omitzero"`
	}
	// Two fields with one key (built at run time: vet rejects the literal).
	duplicate := reflect.StructOf([]reflect.StructField{
		{Name: "A", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
		{Name: "B", Type: reflect.TypeFor[int](), Tag: `json:"x"`},
	})
	type oddName struct {
		A int `json:"a b"`
	}
	for name, typ := range map[string]reflect.Type{
		"embedded":  reflect.TypeFor[embedded](),
		"string":    reflect.TypeFor[stringOpt](),
		"omitzero":  reflect.TypeFor[omitZero](),
		"duplicate": duplicate,
		"odd name":  reflect.TypeFor[oddName](),
	} {
		if structEncoder(typ) != nil {
			t.Errorf("%s: compiled, want encoding/json", name)
		}
		v := reflect.New(typ).Elem()
		want, err := jsonText(v.Interface())
		if err != nil {
			t.Fatal(err)
		}
		if got, err := encoderFor(typ)(nil, v); err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: encoderFor wrote %s (%v), want %s", name, got, err, want)
		}
	}
}

// FuzzStructEncoder compares structEncoder with encoding/json on arbitrary
// strings, numbers and flags.
func FuzzStructEncoder(f *testing.F) {
	for _, s := range esStrings {
		f.Add(s, 1.5, int64(-3), true)
	}
	f.Add("", 1e21, int64(math.MinInt64), false)
	enc := structEncoder(reflect.TypeFor[esAll]())
	f.Fuzz(func(t *testing.T, s string, fl float64, n int64, b bool) {
		if math.IsNaN(fl) || math.IsInf(fl, 0) {
			return
		}
		v := esAll{B: b, I: int(n), F: fl, F32: float32(fl), S: s, In: esInner{A: int(n), S: s}, Level: esLevel(s)}
		if b {
			v.P, v.Any, v.Bs = &s, s, []byte(s)
		}
		want, err := jsonText(v)
		if err != nil {
			if math.IsInf(float64(float32(fl)), 0) {
				return // float32 overflow: both fail
			}
			t.Fatal(err)
		}
		got, err := enc(nil, reflect.ValueOf(v))
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("\n got %s (%v)\nwant %s", got, err, want)
		}
	})
}

type esResult struct {
	Success bool `json:"success"`
	Count   int  `json:"count"`
}

// BenchmarkEncodeResult compares an action result's encoding through
// encoding/json (encodeGeneric, the path before structEncoder) with the
// compiled encoder.
func BenchmarkEncodeResult(b *testing.B) {
	v := reflect.ValueOf(esResult{Success: true, Count: 12345})
	b.Run("encoding-json", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := encodeGeneric(nil, v); err != nil {
				b.Fatal(err)
			}
		}
	})
	enc := structEncoder(v.Type())
	b.Run("compiled", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := enc(make([]byte, 0, 32), v); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// Pointers to scalars (optional state fields) are encoded without
// encoding/json, and exactly as it does: null, or the value. A pointer to
// a scalar type with its own marshaler still goes to encoding/json.
func TestEncoderForPointerToScalar(t *testing.T) {
	s, n, f, b, u := "a\"<b>\u2028\x01é", -42, 1e21, true, uint8(7)
	lvl, up := esLevel("x"), esUpper("shout")
	for _, v := range []any{&s, (*string)(nil), &n, (*int)(nil), &f, &b, &u, (*float32)(nil), &lvl, (*esLevel)(nil), &up, (*esUpper)(nil)} {
		typ := reflect.TypeOf(v)
		want, err := jsonText(v)
		if err != nil {
			t.Fatal(err)
		}
		got, err := encoderFor(typ)(nil, reflect.ValueOf(v))
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: got %s (%v), want %s", typ, got, err, want)
		}
	}
	if reflect.ValueOf(encoderFor(reflect.TypeFor[*string]())).Pointer() == reflect.ValueOf(encodeGeneric).Pointer() {
		t.Error("*string goes through encoding/json")
	}
	if reflect.ValueOf(encoderFor(reflect.TypeFor[*esUpper]())).Pointer() != reflect.ValueOf(encodeGeneric).Pointer() {
		t.Error("*esUpper (a marshaler) does not go through encoding/json")
	}
}

// esUpper is a string type with its own text encoding.
type esUpper string

func (u esUpper) MarshalText() ([]byte, error) { return []byte(strings.ToUpper(string(u))), nil }
