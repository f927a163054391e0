package httpwire

import (
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
)

func TestToken(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		tok := NewToken()
		if !ValidToken(tok) {
			t.Fatalf("NewToken() = %q: not a valid token", tok)
		}
		if seen[tok] {
			t.Fatalf("NewToken() repeated %q", tok)
		}
		seen[tok] = true
	}
	tests := []struct {
		in   string
		want bool
	}{
		{strings.Repeat("a", 64), true},
		{strings.Repeat("0123456789abcdef", 4), true},
		{strings.Repeat("a", 63), false},
		{strings.Repeat("a", 65), false},
		{strings.Repeat("A", 64), false}, // lowercase only
		{strings.Repeat("g", 64), false},
		{"", false},
	}
	for _, tt := range tests {
		if got := ValidToken(tt.in); got != tt.want {
			t.Errorf("ValidToken(%q) = %v, want %v", tt.in, got, tt.want)
		}
	}
}

func TestParseToken(t *testing.T) {
	tok := strings.Repeat("ab", 32)
	tests := []struct {
		name string
		in   string
		want string
		err  bool
	}{
		{"ok", `{"token":"` + tok + `"}`, tok, false},
		{"own encoder", string(AppendTokenJSON(nil, tok)), tok, false},
		{"extra field", `{"token":"` + tok + `","x":1}`, tok, false},
		{"missing", `{}`, "", true},
		{"short", `{"token":"abc"}`, "", true},
		{"upper", `{"token":"` + strings.ToUpper(tok) + `"}`, "", true},
		{"number", `{"token":1}`, "", true},
		{"not json", `token`, "", true},
		{"null", `null`, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseToken([]byte(tt.in))
			if (err != nil) != tt.err || got != tt.want {
				t.Fatalf("ParseToken(%s) = %q, %v; want %q, error %v", tt.in, got, err, tt.want, tt.err)
			}
			if err != nil && !errors.Is(err, ErrBadToken) {
				t.Fatalf("error %v does not wrap ErrBadToken", err)
			}
		})
	}
}

func TestClose(t *testing.T) {
	tests := []struct {
		c    Close
		want string
	}{
		{Close{1001, "server shutdown"}, `{"code":1001,"reason":"server shutdown"}`},
		{Close{1008, `say "hi"` + "\n"}, `{"code":1008,"reason":"say \"hi\"\n"}`},
		{Close{4003, ""}, `{"code":4003,"reason":""}`},
	}
	for _, tt := range tests {
		got := string(AppendClose(nil, tt.c))
		if got != tt.want {
			t.Errorf("AppendClose(%+v) = %s, want %s", tt.c, got, tt.want)
		}
		back, err := ParseClose([]byte(got))
		if err != nil || back != tt.c {
			t.Errorf("ParseClose(%s) = %+v, %v", got, back, err)
		}
	}
	for _, bad := range []string{`{}`, `{"code":-1}`, `{"code":5000}`, `{"code":1.5}`, `{"code":"1000"}`, `[]`, ``} {
		if c, err := ParseClose([]byte(bad)); err == nil {
			t.Errorf("ParseClose(%s) = %+v, want an error", bad, c)
		}
	}
	if c, err := ParseClose([]byte(`{"code":1000}`)); err != nil || c != (Close{Code: 1000}) {
		t.Errorf("ParseClose without reason = %+v, %v", c, err)
	}
}

func TestAppendEvent(t *testing.T) {
	tests := []struct {
		name  string
		event string
		data  string
		want  string
	}{
		{"one line", EventMessage, `{"type":"X"}`, "event: message\ndata: {\"type\":\"X\"}\n\n"},
		{"LF", EventMessage, "a\nb", "event: message\ndata: a\ndata: b\n\n"},
		{"CRLF", EventMessage, "a\r\nb", "event: message\ndata: a\ndata: b\n\n"},
		{"CR", EventMessage, "a\rb", "event: message\ndata: a\ndata: b\n\n"},
		{"trailing LF", EventMessage, "a\n", "event: message\ndata: a\ndata: \n\n"},
		{"empty", EventMessage, "", "event: message\ndata: \n\n"},
		{"CR CR", EventMessage, "a\r\rb", "event: message\ndata: a\ndata: \ndata: b\n\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := string(AppendEvent(nil, tt.event, []byte(tt.data)))
			if got != tt.want {
				t.Fatalf("AppendEvent = %q, want %q", got, tt.want)
			}
		})
	}
	if got, want := string(AppendBinaryEvent(nil, []byte{1, 2, 3, 250})), "event: binary\ndata: AQID+g==\n\n"; got != want {
		t.Errorf("AppendBinaryEvent = %q, want %q", got, want)
	}
	if got, want := string(AppendCloseEvent(nil, Close{1008, "SSE backpressure: client too slow"})),
		"event: close\ndata: {\"code\":1008,\"reason\":\"SSE backpressure: client too slow\"}\n\n"; got != want {
		t.Errorf("AppendCloseEvent = %q, want %q", got, want)
	}
	tok := strings.Repeat("0f", 32)
	if got, want := string(AppendSessionEvent(nil, tok)), "event: session\ndata: {\"token\":\""+tok+"\"}\n\n"; got != want {
		t.Errorf("AppendSessionEvent = %q, want %q", got, want)
	}
}

func TestDecoder(t *testing.T) {
	type ev struct{ Type, Data string }
	tests := []struct {
		name    string
		stream  string
		want    []ev
		wantErr error
		pings   int
	}{
		{
			name:   "protocol events",
			stream: "event: session\ndata: {\"token\":\"x\"}\n\n: ping\n\nevent: message\ndata: {}\n\nevent: close\ndata: {\"code\":1001}\n\n",
			want:   []ev{{"session", `{"token":"x"}`}, {"message", "{}"}, {"close", `{"code":1001}`}},
			pings:  1,
		},
		{
			name:   "default type and multi-line data",
			stream: "data: a\ndata: b\n\n",
			want:   []ev{{"message", "a\nb"}},
		},
		{
			name:   "CRLF and CR line ends",
			stream: "event: binary\r\ndata: AQ==\r\n\r\nevent: x\rdata:y\r\r",
			want:   []ev{{"binary", "AQ=="}, {"x", "y"}},
		},
		{
			name:   "BOM, no space after colon, two spaces",
			stream: "\xef\xbb\xbfdata:a\ndata:  b\n\n",
			want:   []ev{{"message", "a\n b"}},
		},
		{
			name:   "event without data is not dispatched",
			stream: "event: close\n\ndata: z\n\n",
			want:   []ev{{"message", "z"}},
		},
		{
			name:   "field without colon and unknown fields",
			stream: "data\nid: 7\nretry: 10\nfoo: bar\n\n",
			want:   []ev{{"message", ""}},
		},
		{
			name:    "partial event at end",
			stream:  "data: a\n\ndata: b\n",
			want:    []ev{{"message", "a"}},
			wantErr: io.ErrUnexpectedEOF,
		},
		{
			name:    "line too long",
			stream:  "data: " + strings.Repeat("x", 100) + "\n\n",
			wantErr: ErrEventTooLarge,
		},
		{
			name:    "event too large across lines",
			stream:  strings.Repeat("data: "+strings.Repeat("x", 30)+"\n", 4) + "\n",
			wantErr: ErrEventTooLarge,
		},
	}
	for _, tt := range tests {
		for _, reader := range []struct {
			name string
			wrap func(io.Reader) io.Reader
		}{
			{"whole", func(r io.Reader) io.Reader { return r }},
			{"byte by byte", iotest.OneByteReader},
		} {
			t.Run(tt.name+"/"+reader.name, func(t *testing.T) {
				d := NewDecoder(reader.wrap(strings.NewReader(tt.stream)), 64)
				var got []ev
				var err error
				for {
					var e Event
					e, err = d.Next()
					if err != nil {
						break
					}
					got = append(got, ev{e.Type, string(e.Data)})
				}
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("events (-want +got):\n%s", diff)
				}
				want := tt.wantErr
				if want == nil {
					want = io.EOF
				}
				if !errors.Is(err, want) {
					t.Errorf("final error %v, want %v", err, want)
				}
				if d.Comments() != tt.pings {
					t.Errorf("Comments() = %d, want %d", d.Comments(), tt.pings)
				}
			})
		}
	}
}

func TestPollBody(t *testing.T) {
	var items []byte
	items = AppendTextFrame(items, []byte(`{"type":"A","s":"q\"\n\u2028`+"\u2028\xff"+`"}`))
	items = append(items, ',')
	items = AppendBinaryFrame(items, []byte{0, 1, 2, 255})
	body := AppendPollBody(nil, items, &Close{1008, "HTTP polling backpressure: client too slow"})

	// The body is plain JSON: check it with encoding/json, independently of
	// ParsePollBody.
	var generic map[string]any
	if err := json.Unmarshal(body, &generic); err != nil {
		t.Fatalf("body %s is not JSON: %v", body, err)
	}
	wantGeneric := map[string]any{
		"frames": []any{
			map[string]any{"t": `{"type":"A","s":"q\"\n\u2028` + "\u2028\ufffd" + `"}`},
			map[string]any{"b": "AAEC/w=="},
		},
		"closed": map[string]any{"code": float64(1008), "reason": "HTTP polling backpressure: client too slow"},
	}
	if diff := cmp.Diff(wantGeneric, generic); diff != "" {
		t.Fatalf("body (-want +got):\n%s", diff)
	}

	got, err := ParsePollBody(body)
	if err != nil {
		t.Fatal(err)
	}
	want := PollBody{
		Frames: []Frame{
			{Data: []byte(`{"type":"A","s":"q\"\n\u2028` + "\u2028\ufffd" + `"}`)},
			{Binary: true, Data: []byte{0, 1, 2, 255}},
		},
		Closed: &Close{1008, "HTTP polling backpressure: client too slow"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Fatalf("ParsePollBody (-want +got):\n%s", diff)
	}

	empty, err := ParsePollBody(AppendPollBody(nil, nil, nil))
	if err != nil || len(empty.Frames) != 0 || empty.Closed != nil {
		t.Fatalf("empty body = %+v, %v", empty, err)
	}
}

func TestParsePollBodyErrors(t *testing.T) {
	tests := []string{
		``,
		`[]`,
		`{}`,
		`{"frames":null}`,
		`{"frames":[{}]}`,
		`{"frames":[{"t":"a","b":"AA=="}]}`,
		`{"frames":[{"b":"!!"}]}`,
		`{"frames":[{"t":1}]}`,
		`{"frames":[],"closed":{}}`,
		`{"frames":[],"closed":{"code":"x"}}`,
		`{"frames":[]`,
	}
	for _, in := range tests {
		if got, err := ParsePollBody([]byte(in)); !errors.Is(err, ErrBadPollBody) {
			t.Errorf("ParsePollBody(%s) = %+v, %v; want ErrBadPollBody", in, got, err)
		}
	}
	if got, err := ParsePollBody([]byte(`{"frames":[],"closed":null}`)); err != nil || got.Closed != nil {
		t.Errorf("closed null = %+v, %v", got, err)
	}
}
