package upload

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/live-go/live/internal/jsvalue"
	"github.com/live-go/live/internal/protocol"
)

// benchUpload starts an upload big enough for b.N chunks of cs bytes.
func benchUpload(b *testing.B, cs int64) *Manager {
	b.Helper()
	m, err := New(Config{TempDir: b.TempDir(), Storage: LocalDir{Dir: b.TempDir()}, MaxFileSize: 1 << 40, MaxBytesPerUser: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = m.Close() })
	if _, err := m.Start(ownerA, Start{UploadID: "u", Filename: "a.bin", FileType: "text/plain", FileSize: 1 << 40, ChunkSize: cs}); err != nil {
		b.Fatal(err)
	}
	return m
}

// BenchmarkChunkBinary measures the hot path of a binary upload: one
// 64 KiB chunk written in order (WriteAt, bitmap, running digest).
func BenchmarkChunkBinary(b *testing.B) {
	const cs = 64 << 10
	m := benchUpload(b, cs)
	data := pngData(cs)
	b.SetBytes(cs)
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		if _, err := m.Chunk(ownerA, binChunk("u", i, data)); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkChunkBase64 is BenchmarkChunkBinary for JSON chunks, from the
// frame: ParseChunk, base64 decoding into a pooled buffer, write.
func BenchmarkChunkBase64(b *testing.B) {
	const cs = 64 << 10
	m := benchUpload(b, cs)
	enc := base64.StdEncoding.EncodeToString(pngData(cs))
	frames := make([][]byte, 0, 64)
	for i := range 64 {
		frames = append(frames, []byte(`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":`+itoa(i)+`,"totalChunks":9,"data":"`+enc+`"}`))
	}
	b.SetBytes(cs)
	b.ReportAllocs()
	var i int64
	for b.Loop() {
		c, err := ParseChunk(frames[i%64])
		if err != nil {
			b.Fatal(err)
		}
		c.Index = i
		if _, err := m.Chunk(ownerA, c); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkParseBinaryFrame measures reading a binary chunk's framing and
// header.
func BenchmarkParseBinaryFrame(b *testing.B) {
	frame, _ := protocol.AppendUploadChunk(nil,
		[]byte(`{"type":"FILE_UPLOAD_CHUNK","componentId":"c0mp0nen","uploadId":"abcdefgh","chunkIndex":12,"totalChunks":800,"requestId":"chunk-abcdefgh-12"}`),
		make([]byte, 64<<10))
	b.ReportAllocs()
	for b.Loop() {
		h, _, err := protocol.ParseUploadChunk(frame)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := ParseChunkHeader(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSmallUpload is a whole 4 KiB upload: start, one chunk,
// complete into LocalDir.
func BenchmarkSmallUpload(b *testing.B) {
	m, err := New(Config{TempDir: b.TempDir(), Storage: LocalDir{Dir: b.TempDir()}, MaxBytesPerUser: -1})
	if err != nil {
		b.Fatal(err)
	}
	defer m.Close()
	data := pngData(4096)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Start(ownerA, pngStart("u", 4096, 4096)); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Chunk(ownerA, binChunk("u", 0, data)); err != nil {
			b.Fatal(err)
		}
		if _, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"}); err != nil {
			b.Fatal(err)
		}
	}
}

func itoa(i int) string { return jsvalue.Number(float64(i)) }
