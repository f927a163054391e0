package upload

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/live-go/live/internal/protocol"
)

// FuzzParse feeds arbitrary frames to the JSON readers: they must not
// panic, and whatever ParseStart accepts must satisfy its contract.
func FuzzParse(f *testing.F) {
	for _, s := range []string{
		`{"type":"FILE_UPLOAD_START","uploadId":"u","componentId":"c","filename":"a.png","fileType":"image/png","fileSize":10,"chunkSize":4}`,
		`{"uploadId":"u","chunkIndex":1,"data":"AAEC"}`,
		`{"uploadId":"u","chunkIndex":1.5,"data":"A\u0041EC"}`,
		`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":0,"requestId":"r"}`,
		`{"uploadId":1e999,"fileSize":-0,"chunkSize":[1,[2]]}`,
		`{}`, `[]`, `null`, `"x"`, `{"uploadId":"`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		if s, err := ParseStart(frame); err == nil {
			if s.UploadID == "" || utf16Len(s.UploadID) > MaxUploadIDLen || s.Filename == "" || s.FileType == "" ||
				s.FileSize <= 0 || s.FileSize > maxSafeInteger || s.ChunkSize < MinChunkSize || s.ChunkSize > MaxChunkSize {
				t.Fatalf("ParseStart accepted %+v", s)
			}
		}
		if c, err := ParseChunk(frame); err == nil {
			if c.IndexOK && (c.Index < 0 || c.Index > maxSafeInteger) {
				t.Fatalf("index %d accepted", c.Index)
			}
			if c.HasBase64 && len(c.Base64) > len(frame) {
				t.Fatal("base64 longer than the frame")
			}
		}
		_, _, _ = ParseChunkHeader(frame)
		_, _ = ParseComplete(frame)
		_ = jsString(frame)
	})
}

// FuzzBinaryChunk runs arbitrary binary frames through the whole binary
// chunk path (framing, header, Manager.Chunk) of one open upload: no
// panic, and an accepted chunk lands at its offset.
func FuzzBinaryChunk(f *testing.F) {
	hdr := func(s string) []byte { return []byte(s) }
	frame := func(h []byte, data []byte) []byte {
		b, _ := protocol.AppendUploadChunk(nil, h, data)
		return b
	}
	good := hdr(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":0,"requestId":"r"}`)
	f.Add(frame(good, []byte("hello")))
	f.Add(frame(hdr(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":3}`), []byte("tail")))
	f.Add(frame(hdr(`{"type":"OTHER"}`), nil))
	f.Add(frame(good, nil))                          // empty tail
	f.Add([]byte{0, 0, 0, 0})                        // header length 0
	f.Add([]byte{1, 0, 0, 0, '{'})                   // header length 1
	f.Add([]byte{0xFF, 0xFF, 0xFF, 0xFF, '{', '}'})  // header length 0xFFFFFFFF
	f.Add(frame(good, []byte("x"))[:10])             // truncated header
	f.Add([]byte{5, 0, 0})                           // truncated length
	f.Add(binary.LittleEndian.AppendUint32(nil, 80)) // length, nothing else
	// One Manager for the whole run: a fresh one per input would make the
	// fuzzer measure directory creation.
	m, err := New(Config{TempDir: f.TempDir(), Storage: LocalDir{Dir: f.TempDir()}})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	f.Fuzz(func(t *testing.T, b []byte) {
		const size, cs = 20, 5
		if _, err := m.Start(ownerA, Start{UploadID: "u", Filename: "a.txt", FileType: "text/plain", FileSize: size, ChunkSize: cs}); err != nil {
			t.Fatal(err)
		}
		defer m.Cancel(ownerA, "u")
		h, data, err := protocol.ParseUploadChunk(b)
		if err != nil {
			return
		}
		typ, c, err := ParseChunkHeader(h)
		if err != nil || typ != protocol.TypeFileUploadChunk {
			return
		}
		c.Data = data
		p, err := m.Chunk(ownerA, c)
		if err != nil {
			if ClientMessage(err) == internalMessage {
				t.Fatalf("internal error on client input: %v", err)
			}
			return
		}
		if p.BytesUploaded != int64(len(data)) || len(data) > cs {
			t.Fatalf("progress %+v for %d bytes", p, len(data))
		}
		m.mu.Lock()
		u := m.uploads["u"]
		m.mu.Unlock()
		got := make([]byte, len(data))
		if _, err := u.f.ReadAt(got, c.Index*cs); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("chunk %d not at its offset: %v", c.Index, err)
		}
	})
}

// FuzzChunkSequence drives one upload with an arbitrary sequence of chunk
// operations (in or out of order, duplicated, short, too long, base64 or
// binary, from the owner or a stranger) and checks the Manager against a
// model: byte counts, errors, and finally the stored content.
func FuzzChunkSequence(f *testing.F) {
	f.Add(uint16(100), uint8(10), []byte{0, 0, 0, 1, 0, 0, 2, 0, 0, 3, 0, 0, 4, 0, 0, 5, 0, 0, 6, 0, 0, 7, 0, 0, 8, 0, 0, 9, 0, 0})
	f.Add(uint16(95), uint8(10), []byte{9, 0, 0, 0, 1, 0, 1, 2, 0, 9, 3, 0, 0, 0, 0})
	f.Add(uint16(7), uint8(3), []byte{2, 0x80, 0, 0, 0x40, 0, 1, 0x20, 0, 2, 0, 0})
	f.Add(uint16(1), uint8(1), []byte{0, 0, 0, 0, 0, 1, 1, 0, 0})
	f.Add(uint16(300), uint8(1), []byte{255, 255, 255})
	m, err := New(Config{TempDir: f.TempDir(), Storage: LocalDir{Dir: f.TempDir()}, AllowedTypes: []string{"*"}, MaxBytesPerUser: -1})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = m.Close() })
	f.Fuzz(func(t *testing.T, size16 uint16, cs8 uint8, ops []byte) {
		size, cs := int64(size16%512)+1, int64(cs8%64)+1
		num := (size + cs - 1) / cs
		if _, err := m.Start(ownerA, Start{UploadID: "u", Filename: "f.bin", FileType: "application/octet-stream", FileSize: size, ChunkSize: cs}); err != nil {
			t.Fatal(err)
		}
		defer m.Cancel(ownerA, "u") // after an incomplete COMPLETE
		content := make([]byte, size)
		for i := range content {
			content[i] = byte(i*31 + 7)
		}
		got := map[int64]int64{} // chunk → length accepted first
		var received int64
		for len(ops) >= 3 {
			op, idx8, flags := ops[0], ops[1], ops[2]
			ops = ops[3:]
			idx := int64(op) % (num + 2) // sometimes out of range
			if idx8&1 == 1 {
				idx = -idx
			}
			full := min(cs, size-max(0, idx)*cs)
			length := full
			switch flags & 0xC0 {
			case 0x40:
				length = full / 2 // short
			case 0x80:
				length = full + 1 // too long for the slot
			}
			var data []byte
			if idx >= 0 && idx < num {
				start := idx * cs
				data = bytes.Repeat([]byte{0xEE}, int(max(length, 0)))
				copy(data, content[start:min(start+max(length, 0), size)])
			}
			owner := ownerA
			if flags&0x20 != 0 {
				owner = ownerB
			}
			c := Chunk{UploadID: "u", Index: idx, IndexOK: idx >= 0, IndexText: fmt.Sprint(idx), Binary: true, Data: data}
			if flags&0x10 != 0 {
				c = Chunk{UploadID: "u", Index: idx, IndexOK: idx >= 0, IndexText: fmt.Sprint(idx), Base64: []byte(base64.StdEncoding.EncodeToString(data)), HasBase64: true}
			}
			p, err := m.Chunk(owner, c)
			var want string
			switch {
			case owner != ownerA:
				want = "Upload u not found"
			case idx < 0 || idx >= num:
				want = fmt.Sprintf("Invalid chunk index: %d", idx)
			case int64(len(data)) > cs:
				want = fmt.Sprintf("Chunk too large: %d > %d", len(data), cs)
			case idx*cs+int64(len(data)) > size:
				want = fmt.Sprintf("Upload exceeds declared fileSize (%d bytes)", size)
			}
			if want != "" {
				wantErr(t, err, want)
				continue
			}
			if err != nil {
				t.Fatalf("chunk %d (%d bytes): %v", idx, len(data), err)
			}
			if _, dup := got[idx]; !dup {
				got[idx] = int64(len(data))
				received += int64(len(data))
			}
			if p.BytesUploaded != received {
				t.Fatalf("bytesUploaded %d, model %d", p.BytesUploaded, received)
			}
		}
		file, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
		if received != size {
			wantErr(t, err, fmt.Sprintf("Incomplete upload: received %d/%d bytes", received, size))
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(m.cfg.Storage.(LocalDir).Dir, strings.TrimPrefix(file.URL, "/uploads/"))
		stored, err := os.ReadFile(path)
		_ = os.Remove(path)
		if err != nil || !bytes.Equal(stored, content) {
			t.Fatalf("stored content differs (%v)", err)
		}
	})
}

// Hostile binary frames cost a bounded, small amount of memory whatever
// lengths they announce: nothing is allocated from a length field before
// it is checked against the frame.
func TestBinaryFrameBoundedAllocation(t *testing.T) {
	m, err := New(Config{TempDir: t.TempDir(), Storage: LocalDir{Dir: t.TempDir()}})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if _, err := m.Start(ownerA, Start{UploadID: "u", Filename: "a.txt", FileType: "text/plain", FileSize: 20, ChunkSize: 5}); err != nil {
		t.Fatal(err)
	}
	hdr := func(s string, data []byte) []byte {
		b, _ := protocol.AppendUploadChunk(nil, []byte(s), data)
		return b
	}
	big := make([]byte, 4<<20)
	tests := []struct {
		name  string
		frame []byte
	}{
		{"header length 0xFFFFFFFF", []byte{0xFF, 0xFF, 0xFF, 0xFF, '{', '}'}},
		{"header length 0x80000000", []byte{0, 0, 0, 0x80, '{', '}'}},
		{"header length 0", []byte{0, 0, 0, 0}},
		{"header length 1", []byte{1, 0, 0, 0, '{'}},
		{"truncated length", []byte{9, 0}},
		{"huge index", hdr(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":1e300}`, nil)},
		{"4 MiB for a 5-byte chunk", hdr(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":0}`, big)},
		{"unknown upload", hdr(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"zzz","chunkIndex":0}`, big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			run := func() {
				h, data, err := protocol.ParseUploadChunk(tt.frame)
				if err != nil {
					return
				}
				_, c, err := ParseChunkHeader(h)
				if err != nil {
					return
				}
				c.Data = data
				if _, err := m.Chunk(ownerA, c); err == nil {
					t.Fatal("hostile frame accepted")
				}
			}
			run()
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			const n = 50
			for range n {
				run()
			}
			runtime.ReadMemStats(&after)
			if per := (after.TotalAlloc - before.TotalAlloc) / n; per > 4<<10 {
				t.Errorf("%d bytes allocated per frame, want at most 4 KiB", per)
			}
		})
	}
}
