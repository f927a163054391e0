package protocol

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"math"
	"testing"
)

// refRoomFrame is the reference client's parseRoomFrame written out
// directly: ok is false where it returns null. Where the reference reads a
// length byte past the end it gets undefined and goes on with NaN offsets
// (returning the whole frame as payload); the model rejects that case, as
// ParseRoomFrame does.
func refRoomFrame(buf []byte) (comp, room, event, payload []byte, ok bool) {
	if len(buf) < 6 {
		return nil, nil, nil, nil, false
	}
	off := 1
	n := int(buf[off])
	off++
	if off+n > len(buf) {
		return nil, nil, nil, nil, false
	}
	comp = buf[off : off+n]
	off += n
	if off >= len(buf) {
		return nil, nil, nil, nil, false
	}
	n = int(buf[off])
	off++
	if off+n > len(buf) {
		return nil, nil, nil, nil, false
	}
	room = buf[off : off+n]
	off += n
	if off+2 > len(buf) {
		return nil, nil, nil, nil, false
	}
	n = int(buf[off])<<8 | int(buf[off+1])
	off += 2
	if off+n > len(buf) {
		return nil, nil, nil, nil, false
	}
	return comp, room, buf[off : off+n], buf[off+n:], true
}

func FuzzParseRoomFrame(f *testing.F) {
	f.Add([]byte{0x02, 0x08, 'A', 'b', 'C', 'd', 'E', 'f', 'G', 'h', 0x05, 'l', 'o', 'b', 'b', 'y', 0x00, 0x04, 'c', 'h', 'a', 't', 0x81, 0xa1, 'a', 0x01})
	f.Add([]byte{0x03, 0x00, 0x00, 0x00, 0x00, 0xc0})
	f.Add([]byte{0x02, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x02, 0xff, 0x00, 0x00, 0x00, 0x00})
	f.Add([]byte{0x02, 0x00, 0x00, 0x01, 0x00, 0x61, 0xc0})
	f.Add([]byte{0x02, 0x01, 0x61})
	f.Fuzz(func(t *testing.T, frame []byte) {
		got, err := ParseRoomFrame(frame)
		comp, room, event, payload, ok := refRoomFrame(frame)
		kindOK := len(frame) > 0 && (frame[0] == FrameRoomEvent || frame[0] == FrameRoomState)
		if ok && kindOK {
			if err != nil {
				t.Fatalf("reference accepts % x, ParseRoomFrame: %v", frame, err)
			}
			if got.Kind != frame[0] || !bytes.Equal(got.ComponentID, comp) || !bytes.Equal(got.RoomID, room) ||
				!bytes.Equal(got.Event, event) || !bytes.Equal(got.Payload, payload) {
				t.Fatalf("ParseRoomFrame(% x) = %+v", frame, got)
			}
			// Rebuilding the frame gives the same bytes.
			tail, err := AppendRoomFrameTail(nil, string(room), string(event), payload)
			if err != nil {
				t.Fatal(err)
			}
			again, err := AppendRoomFrame(nil, frame[0], string(comp), tail)
			if err != nil || !bytes.Equal(again, frame) {
				t.Fatalf("rebuilt % x, %v; want % x", again, err, frame)
			}
			return
		}
		if err == nil {
			t.Fatalf("ParseRoomFrame accepted % x (reference ok %v, kind ok %v)", frame, ok, kindOK)
		}
		if !errors.Is(err, ErrFrameShort) && !errors.Is(err, ErrFrameType) && !errors.Is(err, ErrFrameTruncated) {
			t.Fatalf("unexpected error %v", err)
		}
	})
}

func FuzzParseComponentDelta(f *testing.F) {
	f.Add([]byte{0x01, 0x02, 'c', '1', 0x01, 0x2a})
	f.Add([]byte{0x01, 0x00})
	f.Add([]byte{0x01, 0x05, 'a'})
	f.Add([]byte{0x02, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, frame []byte) {
		id, payload, err := ParseComponentDelta(frame)
		valid := len(frame) >= 3 && frame[0] == 0x01 && 2+int(frame[1]) <= len(frame)
		if valid != (err == nil) {
			t.Fatalf("ParseComponentDelta(% x) err = %v, want valid=%v", frame, err, valid)
		}
		if err != nil {
			return
		}
		again, err := AppendComponentDelta(nil, string(id), payload)
		if err != nil || !bytes.Equal(again, frame) {
			t.Fatalf("rebuilt % x, %v; want % x", again, err, frame)
		}
	})
}

func FuzzParseUploadChunk(f *testing.F) {
	f.Add(append([]byte{0x02, 0, 0, 0}, `{}`...))
	f.Add(append([]byte{0x07, 0, 0, 0}, `{"a":1}abc`...))
	f.Add([]byte{0xff, 0xff, 0xff, 0xff, '{', '}'})
	f.Add([]byte{0x00, 0x00, 0x00, 0x80, '{', '}'})
	f.Add([]byte{0, 0, 0, 0})
	f.Add([]byte{1, 0})
	f.Add(append([]byte{0x03, 0, 0, 0}, `[1]xyz`...))
	f.Fuzz(func(t *testing.T, frame []byte) {
		header, data, err := ParseUploadChunk(frame)
		if len(frame) < 4 {
			if !errors.Is(err, ErrFrameShort) {
				t.Fatalf("short frame: %v", err)
			}
			return
		}
		n := uint64(binary.LittleEndian.Uint32(frame))
		if n > uint64(len(frame)-4) {
			if !errors.Is(err, ErrFrameTruncated) {
				t.Fatalf("header length %d past %d bytes: %v", n, len(frame), err)
			}
			return
		}
		h := frame[4 : 4+n]
		if !isJSONObject(h) {
			if !errors.Is(err, ErrUploadChunkHeader) {
				t.Fatalf("header %q: err = %v", h, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("valid chunk rejected: %v", err)
		}
		again, err := AppendUploadChunk(nil, header, data)
		if err != nil || !bytes.Equal(again, frame) {
			t.Fatalf("rebuilt % x, %v", again, err)
		}
	})
}

// isJSONObject reports whether b is valid JSON whose value is an object.
func isJSONObject(b []byte) bool {
	return json.Valid(b) && bytes.HasPrefix(bytes.TrimLeft(b, " \t\r\n"), []byte("{"))
}

// fuzzCodec has one field of every wire type, and two strings.
func fuzzCodec(t testing.TB) *StateCodec {
	t.Helper()
	c, err := NewStateCodecFields([]StateField{
		{"u8", WireUint8}, {"u16", WireUint16}, {"u32", WireUint32}, {"i8", WireInt8}, {"i16", WireInt16},
		{"i32", WireInt32}, {"f32", WireFloat32}, {"f64", WireFloat64}, {"b", WireBool}, {"s", WireString},
		{"t", WireString},
	}, []string{"obj"})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// sameDelta compares decoded deltas, NaN equal to NaN.
func sameDelta(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok {
			return false
		}
		if f, isF := v.(float64); isF {
			g, isG := w.(float64)
			if !isG || (f != g && !(math.IsNaN(f) && math.IsNaN(g))) {
				return false
			}
			continue
		}
		if v != w {
			return false
		}
	}
	return true
}

func FuzzStateCodecDecode(f *testing.F) {
	f.Add([]byte{0xff, 0x07, 1, 2, 0, 3, 0, 0, 0, 0xff, 0xfe, 0xff, 0, 0, 0, 0x80, 0, 0, 0xc0, 0x3f, 0, 0, 0, 0, 0, 0, 0xf8, 0x3f, 1, 1, 0, 'a', 0, 0})
	f.Add([]byte{0x00, 0x02, 0x05, 0x00, 0xef, 0xbb, 0xbf, 'a', 0xff})
	f.Add([]byte{0x00, 0x02, 0xff, 0xff, 'a'})
	f.Add([]byte{0x01})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		c := fuzzCodec(t)
		m, err := c.Decode(payload)
		js, jerr := c.AppendDecodedJSON(nil, payload)
		if (err == nil) != (jerr == nil) {
			t.Fatalf("Decode err %v, AppendDecodedJSON err %v", err, jerr)
		}
		if err != nil {
			if !errors.Is(err, ErrStatePayload) {
				t.Fatalf("unexpected error %v", err)
			}
			return
		}
		if !json.Valid(js) {
			t.Fatalf("AppendDecodedJSON wrote invalid JSON %q", js)
		}
		// Decoding is stable: what decodes re-encodes to the same delta.
		bin, fb, err := c.Encode(nil, m)
		if err != nil || fb != nil {
			t.Fatalf("Encode(decoded): %v, fallback %v", err, fb)
		}
		if len(m) == 0 {
			if bin != nil {
				t.Fatalf("empty delta encoded to % x", bin)
			}
			return
		}
		again, err := c.Decode(bin)
		if err != nil || !sameDelta(m, again) {
			t.Fatalf("re-decoded %v, %v; want %v", again, err, m)
		}
	})
}

func FuzzStateCodecEncodeJSON(f *testing.F) {
	f.Add([]byte(`{"u8":256,"u16":"0x10","u32":-1,"i8":128,"i16":[7],"i32":null,"f32":1e39,"f64":"x","b":"yes","s":12.5,"t":[1,[2,null]],"obj":{}}`))
	f.Add([]byte(`{"s":"\ud800\u00e9","s":true,"obj":1,"obj":2,"zzz":3}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"u8":`))
	f.Fuzz(func(t *testing.T, delta []byte) {
		c := fuzzCodec(t)
		bin, fb, err := c.EncodeJSON([]byte{0xee}, delta)
		if !isJSONObject(delta) {
			if err == nil {
				t.Fatalf("EncodeJSON accepted %q", delta)
			}
			return
		}
		var obj map[string]any
		if json.Unmarshal(delta, &obj) != nil {
			return // a number beyond float64: encoding/json refuses it
		}
		if err != nil {
			t.Fatalf("EncodeJSON(%q): %v", delta, err)
		}
		if fb != nil && !json.Valid(fb) {
			t.Fatalf("fallback %q is not JSON", fb)
		}
		if _, has := obj["obj"]; has != (fb != nil) {
			t.Fatalf("fallback %q for delta %q", fb, delta)
		}
		present := false
		for _, f := range c.Fields() {
			if _, ok := obj[f.Name]; ok {
				present = true
			}
		}
		if present != (bin != nil) {
			t.Fatalf("bin % x for delta %q", bin, delta)
		}
		if bin == nil {
			return
		}
		if bin[0] != 0xee {
			t.Fatal("dst prefix lost")
		}
		long := false
		for _, k := range []string{"s", "t"} {
			if s, ok := obj[k].(string); ok && len(s) > 0xffff {
				long = true
			}
		}
		m, err := c.Decode(bin[1:])
		if err != nil && !long {
			t.Fatalf("Decode(EncodeJSON(%q)): %v", delta, err)
		}
		if err == nil && !long && len(m) == 0 {
			t.Fatalf("no field decoded from % x", bin)
		}
	})
}
