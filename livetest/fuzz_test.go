package livetest

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzParseFrame checks that any server frame is recorded without a panic:
// a text frame yields messages whose Raw is JSON (or one TypeInvalid
// message), a binary frame exactly one binary message holding the frame.
func FuzzParseFrame(f *testing.F) {
	f.Add(false, []byte(`{"type":"STATE_DELTA","componentId":"c1","payload":{"delta":{"n":1}},"seq":1}`))
	f.Add(false, []byte(`[{"type":"A","componentId":"c"},{"type":"ERROR","payload":{"action":"x","error":"y"}}]`))
	f.Add(false, []byte(`{"type":"BROADCAST","payload":{"type":"e","data":null},"room":"r"}`))
	f.Add(false, []byte(`[1,"x",null]`))
	f.Add(true, []byte("\x02\x02c1\x01r\x00\x01e\x81\xa1x\x01"))
	f.Add(true, []byte("\x03\x02c1\x01r\x00\x01e{\"a\":1}"))
	f.Add(true, []byte("\x01\x02c1\x00"))
	f.Add(true, []byte("\x02\x00\x00\x00\x00\xc1"))
	f.Fuzz(func(t *testing.T, binary bool, data []byte) {
		in := bytes.Clone(data)
		msgs := parseFrame(binary, data)
		if !bytes.Equal(in, data) {
			t.Fatal("parseFrame modified its input")
		}
		if binary {
			if len(msgs) != 1 || !msgs[0].Binary || !bytes.Equal(msgs[0].Raw, data) {
				t.Fatalf("binary frame gave %v", msgs)
			}
			if d := msgs[0].Data; d != nil && !json.Valid(d) {
				t.Fatalf("binary frame data %q is not JSON", d)
			}
			return
		}
		for _, m := range msgs {
			if m.Binary {
				t.Fatal("text frame gave a binary message")
			}
			if m.Type == TypeInvalid {
				if m.Error == "" {
					t.Fatalf("invalid message without an error: %v", msgs)
				}
				continue
			}
			if !json.Valid(m.Raw) {
				t.Fatalf("message raw %q is not JSON", m.Raw)
			}
			if m.Data != nil && !json.Valid(m.Data) {
				t.Fatalf("message data %q is not JSON", m.Data)
			}
		}
	})
}
