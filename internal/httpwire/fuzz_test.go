package httpwire

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// FuzzDecoder feeds arbitrary bytes to the event-stream decoder: it must
// never panic, never return data over its limit, and end with an error.
// The stream is also cut into events that are re-encoded with AppendEvent
// and decoded again: the round trip must preserve type and data.
func FuzzDecoder(f *testing.F) {
	f.Add([]byte("event: session\ndata: {\"token\":\"x\"}\n\n: ping\n\nevent: message\ndata: {}\n\n"))
	f.Add([]byte("data: a\r\ndata: b\r\rdata\n\n"))
	f.Add([]byte("\xef\xbb\xbfevent: close\ndata:{\"code\":1001}\n\n"))
	f.Add([]byte("data: " + strings.Repeat("y", 300) + "\n\n"))
	f.Add([]byte("event: binary\ndata: AQID\n"))
	f.Fuzz(func(t *testing.T, stream []byte) {
		const limit = 256
		d := NewDecoder(bytes.NewReader(stream), limit)
		var events []Event
		for range len(stream) + 1 {
			e, err := d.Next()
			if err != nil {
				if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, ErrEventTooLarge) {
					t.Fatalf("unexpected error %v", err)
				}
				break
			}
			if len(e.Data) > limit {
				t.Fatalf("event data of %d bytes over the %d limit", len(e.Data), limit)
			}
			events = append(events, Event{Type: e.Type, Data: bytes.Clone(e.Data)})
		}
		var enc []byte
		for _, e := range events {
			if strings.ContainsAny(e.Type, "\r\n") {
				return // not an event name AppendEvent accepts
			}
			enc = AppendEvent(enc, e.Type, e.Data)
		}
		d2 := NewDecoder(bytes.NewReader(enc), 4*limit)
		for i, want := range events {
			got, err := d2.Next()
			if err != nil {
				t.Fatalf("re-decoding event %d: %v", i, err)
			}
			if got.Type != want.Type || !bytes.Equal(got.Data, want.Data) {
				t.Fatalf("event %d round trip: got %q %q, want %q %q", i, got.Type, got.Data, want.Type, want.Data)
			}
		}
		if _, err := d2.Next(); err != io.EOF {
			t.Fatalf("after the re-encoded events: %v, want EOF", err)
		}
	})
}

// FuzzParsePollBody decodes arbitrary poll bodies: no panic, and a body
// that parses re-encodes to one that parses to the same value.
func FuzzParsePollBody(f *testing.F) {
	f.Add([]byte(`{"frames":[{"t":"{\"type\":\"X\"}"},{"b":"AQID"}],"closed":{"code":1001,"reason":"server shutdown"}}`))
	f.Add([]byte(`{"frames":[]}`))
	f.Add([]byte(`{"frames":[{"t":"a","b":"AA=="}]}`))
	f.Add([]byte(`{"frames":[{"b":"A"}],"closed":null}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := ParsePollBody(body)
		if err != nil {
			if !errors.Is(err, ErrBadPollBody) {
				t.Fatalf("error %v does not wrap ErrBadPollBody", err)
			}
			return
		}
		var items []byte
		for i, fr := range got.Frames {
			if i > 0 {
				items = append(items, ',')
			}
			if fr.Binary {
				items = AppendBinaryFrame(items, fr.Data)
			} else {
				items = AppendTextFrame(items, fr.Data)
			}
		}
		again, err := ParsePollBody(AppendPollBody(nil, items, got.Closed))
		if err != nil {
			t.Fatalf("re-encoded body does not parse: %v", err)
		}
		if diff := cmp.Diff(got, again); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

// FuzzParseClose checks the close-status decoder: no panic, codes in
// range, and a re-encoded status parses to itself.
func FuzzParseClose(f *testing.F) {
	f.Add([]byte(`{"code":1008,"reason":"SSE backpressure: client too slow"}`))
	f.Add([]byte(`{"code":4003}`))
	f.Add([]byte(`{"code":1e3,"reason":"\ud800"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := ParseClose(b)
		if err != nil {
			return
		}
		if c.Code < 0 || c.Code > 4999 {
			t.Fatalf("code %d out of range", c.Code)
		}
		back, err := ParseClose(AppendClose(nil, c))
		if err != nil || back != c {
			t.Fatalf("round trip of %+v: %+v, %v", c, back, err)
		}
	})
}

// FuzzParseToken checks the token decoder: whatever it accepts is a valid
// token.
func FuzzParseToken(f *testing.F) {
	f.Add([]byte(`{"token":"` + strings.Repeat("a1", 32) + `"}`))
	f.Add([]byte(`{"token":"abc"}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		tok, err := ParseToken(b)
		if err != nil {
			return
		}
		if !ValidToken(tok) {
			t.Fatalf("accepted invalid token %q", tok)
		}
		if again, err := ParseToken(AppendTokenJSON(nil, tok)); err != nil || again != tok {
			t.Fatalf("round trip: %q, %v", again, err)
		}
	})
}
