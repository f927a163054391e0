package protocol

import (
	"encoding/json"
	"testing"
)

func TestAppendString(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", `""`},
		{"increment", `"increment"`},
		{`a"b\c`, `"a\"b\\c"`},
		{"\b\f\n\r\t", `"\b\f\n\r\t"`},
		{"\x00\x01\x1f", `"\u0000\u0001\u001f"`},
		{"\x7f", "\"\x7f\""},
		{"<a href='x'>&amp;</a>", `"<a href='x'>&amp;</a>"`},
		{"/", `"/"`},
		{"\u2028x\u2029", `"\u2028x\u2029"`},
		{"é日😀", `"é日😀"`},
		{"a\xffb", `"a\ufffdb"`},
		{"\xc3", `"\ufffd"`},
		{"\xed\xa0\x80", `"\ufffd\ufffd\ufffd"`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := string(AppendString([]byte("x"), tt.in)); got != "x"+tt.want {
				t.Errorf("AppendString(%q) = %s, want %s", tt.in, got[1:], tt.want)
			}
		})
	}
}

func TestObj(t *testing.T) {
	o := Object([]byte("["))
	o.Str("type", TypeStateDelta)
	o.StrIfSet("componentId", "c\n1")
	o.StrIfSet("userId", "")
	o.Raw("payload", []byte(`{"delta":{"count":1}}`))
	o.Raw("result", nil)
	o.RawIfSet("absent", nil)
	o.RawIfSet("present", []byte(`[1]`))
	o.Bool("t", true)
	o.Bool("f", false)
	o.Int("n", -42)
	o.Int("big", 1<<53)
	got := string(o.Close())
	want := `[{"type":"STATE_DELTA","componentId":"c\n1","payload":{"delta":{"count":1}},"result":null,"present":[1],"t":true,"f":false,"n":-42,"big":9007199254740992}`
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !json.Valid([]byte(got[1:])) {
		t.Errorf("not valid JSON: %s", got)
	}
	empty := Object(nil)
	if got := string(empty.Close()); got != "{}" {
		t.Errorf("empty object = %s", got)
	}
}

func TestObjAllocs(t *testing.T) {
	buf := make([]byte, 0, 256)
	result := []byte(`{"success":true}`)
	n := testing.AllocsPerRun(100, func() {
		o := Object(buf[:0])
		o.Str("type", TypeActionResponse)
		o.Str("componentId", "AbCdEfGh")
		o.Bool("success", true)
		o.Raw("result", result)
		o.Str("requestId", "r1")
		buf = o.Close()
	})
	if n != 0 {
		t.Errorf("building ACTION_RESPONSE allocates %v times", n)
	}
}
