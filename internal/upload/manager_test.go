package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestStartValidation(t *testing.T) {
	base := Start{UploadID: "u1", ComponentID: "c", Filename: "doc.pdf", FileType: "application/pdf", FileSize: 100, ChunkSize: 10}
	with := func(f func(*Start)) Start { s := base; f(&s); return s }
	tests := []struct {
		name  string
		cfg   Config
		prior []Start // started first by ownerA
		owner Owner
		req   Start
		err   string
	}{
		{"ok", Config{}, nil, ownerA, base, ""},
		{"too large", Config{MaxFileSize: 99}, nil, ownerA, base, "File too large: 100 bytes. Max: 99 bytes"},
		{"quota", Config{MaxBytesPerUser: 150}, []Start{with(func(s *Start) { s.UploadID = "p" })}, ownerA, base, MsgQuotaExceeded},
		{"anonymous quota is per connection", Config{MaxBytesPerUser: 150},
			[]Start{with(func(s *Start) { s.UploadID = "p" })}, Owner{ConnID: "other", UserID: ""}, base, ""},
		{"quota disabled", Config{MaxBytesPerUser: -1, MaxFileSize: 1 << 40},
			[]Start{with(func(s *Start) { s.UploadID = "p"; s.FileSize = 1 << 39 })}, ownerA, with(func(s *Start) { s.FileSize = 1 << 39 }), ""},
		{"type not allowed", Config{}, nil, ownerA, with(func(s *Start) { s.FileType = "application/x-msdownload" }), "File type not allowed: application/x-msdownload"},
		{"type case-insensitive", Config{}, nil, ownerA, with(func(s *Start) { s.FileType = "Application/PDF" }), ""},
		{"type wildcard", Config{AllowedTypes: []string{"image/*"}}, nil, ownerA, with(func(s *Start) { s.FileType = "image/avif"; s.Filename = "a.avif" }), ""},
		{"type wildcard no match", Config{AllowedTypes: []string{"image/*"}}, nil, ownerA, base, "File type not allowed: application/pdf"},
		{"all types", Config{AllowedTypes: []string{"*"}}, nil, ownerA, with(func(s *Start) { s.FileType = "x/y" }), ""},
		{"blocked extension", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "run.EXE" }), "File extension not allowed: .exe"},
		{"blocked extension after path", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = `C:\x.y\evil.sh` }), "File extension not allowed: .sh"},
		{"double extension", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "invoice.Js.pdf" }), "Suspicious double extension detected: .js in invoice.Js.pdf"},
		{"triple extension", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "a.tar.dll.gz.pdf" }), "Suspicious double extension detected: .dll in a.tar.dll.gz.pdf"},
		{"trailing dot", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "x.pdf.exe " }), "File extension not allowed: .exe"},
		{"leading dot is not an extension", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = ".exe" }), ""},
		{"custom blocked list", Config{BlockedExtensions: []string{".PDF"}}, nil, ownerA, base, "File extension not allowed: .pdf"},
		{"empty blocked list", Config{BlockedExtensions: []string{}}, nil, ownerA, with(func(s *Start) { s.Filename = "a.exe" }), ""},
		{"filename too long", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "dir/" + strings.Repeat("a", 252) + ".pdf" }), MsgFilenameTooLong},
		{"filename 255", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "dir/" + strings.Repeat("a", 251) + ".pdf" }), ""},
		{"filename only a directory", Config{}, nil, ownerA, with(func(s *Start) { s.Filename = "../" }), MsgInvalidNameOrType},
		{"already in progress", Config{}, []Start{base}, ownerB, base, "Upload u1 already in progress"},
		{"already in progress, other parameters", Config{}, []Start{base}, ownerA, with(func(s *Start) { s.FileSize = 50 }), "Upload u1 already in progress"},
		{"too many", Config{MaxConcurrent: 2}, []Start{with(func(s *Start) { s.UploadID = "p1" }), with(func(s *Start) { s.UploadID = "p2" })},
			ownerA, base, "Too many concurrent uploads (max 2 per connection)"},
		{"limit is per connection", Config{MaxConcurrent: 1}, []Start{with(func(s *Start) { s.UploadID = "p1" })}, ownerB, base, ""},
		{"invalid size from Go", Config{}, nil, ownerA, with(func(s *Start) { s.FileSize = 0 }), "Invalid fileSize: 0"},
		{"invalid chunk size from Go", Config{}, nil, ownerA, with(func(s *Start) { s.ChunkSize = 0 }), "Invalid chunkSize: 0 (allowed 1-1048576)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, _ := newTestManager(t, tt.cfg)
			for _, p := range tt.prior {
				start(t, m, ownerA, p)
			}
			res, err := m.Start(tt.owner, tt.req)
			if tt.err != "" {
				wantErr(t, err, tt.err)
				if n := len(tempFiles(t, m)); n != len(tt.prior) {
					t.Errorf("%d temp files after a refused start, want %d", n, len(tt.prior))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if want := (tt.req.FileSize + tt.req.ChunkSize - 1) / tt.req.ChunkSize; res.TotalChunks != want || res.Resumed {
				t.Errorf("result %+v, want %d chunks, not resumed", res, want)
			}
		})
	}
}

func TestQuotaResets(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newTestManager(t, Config{MaxBytesPerUser: 100, QuotaInterval: time.Hour, ChunkTimeout: 10 * time.Hour})
		u := Owner{ConnID: "c1", UserID: "alice"}
		start(t, m, u, Start{UploadID: "a", Filename: "a.txt", FileType: "text/plain", FileSize: 80, ChunkSize: 80})
		// Same user on another connection shares the quota; completing
		// or cancelling refunds nothing.
		if err := m.Cancel(u, "a"); err != nil {
			t.Fatal(err)
		}
		_, err := m.Start(Owner{ConnID: "c2", UserID: "alice"}, Start{UploadID: "b", Filename: "b.txt", FileType: "text/plain", FileSize: 21, ChunkSize: 21})
		wantErr(t, err, MsgQuotaExceeded)
		start(t, m, Owner{ConnID: "c2", UserID: "bob"}, Start{UploadID: "b", Filename: "b.txt", FileType: "text/plain", FileSize: 100, ChunkSize: 100})
		time.Sleep(time.Hour)
		start(t, m, Owner{ConnID: "c2", UserID: "alice"}, Start{UploadID: "c", Filename: "c.txt", FileType: "text/plain", FileSize: 100, ChunkSize: 100})
	})
}

func TestChunkErrors(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	start(t, m, ownerA, pngStart("up", 25, 10)) // chunks of 10, 10, 5
	data := pngData(25)
	tests := []struct {
		name  string
		owner Owner
		c     Chunk
		err   string
	}{
		{"unknown upload", ownerA, binChunk("nope", 0, data[:10]), "Upload nope not found"},
		{"unknown non-string id", ownerA, Chunk{UploadIDText: "12", Index: 0, IndexOK: true, Binary: true}, "Upload 12 not found"},
		{"other connection", ownerB, binChunk("up", 0, data[:10]), "Upload up not found"},
		{"same user other connection", Owner{ConnID: "connC", UserID: ""}, binChunk("up", 0, data[:10]), "Upload up not found"},
		{"negative index", ownerA, Chunk{UploadID: "up", IndexText: "-1", Binary: true}, "Invalid chunk index: -1"},
		{"fractional index", ownerA, Chunk{UploadID: "up", IndexText: "1.5", Binary: true}, "Invalid chunk index: 1.5"},
		{"index past the end", ownerA, Chunk{UploadID: "up", Index: 3, IndexOK: true, IndexText: "3", Binary: true}, "Invalid chunk index: 3"},
		{"index past the end from Go", ownerA, Chunk{UploadID: "up", Index: 3, IndexOK: true, Binary: true}, "Invalid chunk index: 3"},
		{"no data", ownerA, Chunk{UploadID: "up", Index: 0, IndexOK: true}, MsgInvalidChunkData},
		{"bad base64", ownerA, Chunk{UploadID: "up", Index: 0, IndexOK: true, Base64: []byte("@@@@"), HasBase64: true}, MsgInvalidChunkData},
		{"binary too large", ownerA, binChunk("up", 0, make([]byte, 11)), "Chunk too large: 11 > 10"},
		{"base64 too large", ownerA, jsonChunk("up", 0, make([]byte, 12)), "Chunk too large: 12 > 10"},
		{"last chunk too long", ownerA, binChunk("up", 2, make([]byte, 6)), "Upload exceeds declared fileSize (25 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := m.Chunk(tt.owner, tt.c)
			wantErr(t, err, tt.err)
		})
	}
	// None of them changed the upload.
	missing, n, err := m.Missing(ownerA, "up", 10)
	if err != nil || n != 3 || !slices.Equal(missing, []int64{0, 1, 2}) {
		t.Errorf("Missing = %v, %d, %v; want [0 1 2], 3", missing, n, err)
	}
}

func TestUploadOrders(t *testing.T) {
	const size, cs = 1000, 64 // 16 chunks, the last of 40 bytes
	data := pngData(size)
	num := int64((size + cs - 1) / cs)
	inOrder := make([]int64, num)
	for i := range inOrder {
		inOrder[i] = int64(i)
	}
	reversed := slices.Clone(inOrder)
	slices.Reverse(reversed)
	tests := []struct {
		name  string
		order []int64
		json  bool
	}{
		{"in order binary", inOrder, false},
		{"in order base64", inOrder, true},
		{"reversed", reversed, false},
		{"duplicates", []int64{0, 0, 1, 3, 2, 3, 1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 15, 0}, false},
		{"shuffled base64", []int64{5, 1, 0, 2, 3, 4, 15, 9, 8, 7, 6, 14, 13, 10, 11, 12}, true},
		{"last first", append([]int64{15}, inOrder[:15]...), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, store := newTestManager(t, Config{})
			start(t, m, ownerA, pngStart("u", size, cs))
			var last int64
			for _, i := range tt.order {
				c := binChunk("u", i, slice(data, cs, i))
				if tt.json {
					c = jsonChunk("u", i, slice(data, cs, i))
				}
				p, err := m.Chunk(ownerA, c)
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
				if p.BytesUploaded < last || p.ChunkIndex != i || p.TotalChunks != num || p.TotalBytes != size || p.ComponentID != "comp1" {
					t.Fatalf("chunk %d: progress %+v after %d bytes", i, p, last)
				}
				if want := float64(p.BytesUploaded) / size * 100; p.Percent != want {
					t.Fatalf("percent %v, want %v", p.Percent, want)
				}
				last = p.BytesUploaded
			}
			if last != size {
				t.Fatalf("bytesUploaded %d at the end, want %d", last, size)
			}
			f := complete(t, m, store, ownerA, "u", data)
			want := File{UploadID: "u", ComponentID: "comp1", Name: "pic.PNG", Ext: ".png", Type: "image/png", Size: size, SHA256: sha256.Sum256(data), URL: f.URL}
			if diff := cmp.Diff(want, f); diff != "" {
				t.Errorf("File (-want +got):\n%s", diff)
			}
			if !regexp.MustCompile(`^/uploads/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}\.png$`).MatchString(f.URL) {
				t.Errorf("URL %q", f.URL)
			}
			if n := len(tempFiles(t, m)); n != 0 || m.Active() != 0 {
				t.Errorf("%d temp files and %d uploads left", n, m.Active())
			}
			// The upload is gone: a second COMPLETE does not find it.
			_, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
			wantErr(t, err, "Upload u not found")
		})
	}
}

func TestCompleteErrors(t *testing.T) {
	t.Run("incomplete keeps the upload", func(t *testing.T) {
		m, store := newTestManager(t, Config{})
		data := pngData(25)
		start(t, m, ownerA, pngStart("u", 25, 10))
		for _, i := range []int64{0, 2} {
			if _, err := m.Chunk(ownerA, binChunk("u", i, slice(data, 10, i))); err != nil {
				t.Fatal(err)
			}
		}
		_, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
		wantErr(t, err, "Incomplete upload: received 15/25 bytes")
		if _, err := m.Chunk(ownerA, binChunk("u", 1, slice(data, 10, 1))); err != nil {
			t.Fatal(err)
		}
		complete(t, m, store, ownerA, "u", data)
	})
	t.Run("short chunk never completes", func(t *testing.T) {
		m, _ := newTestManager(t, Config{})
		data := pngData(25)
		start(t, m, ownerA, pngStart("u", 25, 10))
		for _, c := range []Chunk{binChunk("u", 0, data[:10]), binChunk("u", 1, data[10:15]), binChunk("u", 1, data[10:20]), binChunk("u", 2, data[20:])} {
			if _, err := m.Chunk(ownerA, c); err != nil {
				t.Fatal(err)
			}
		}
		_, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
		wantErr(t, err, "Incomplete upload: received 20/25 bytes")
	})
	t.Run("foreign connection", func(t *testing.T) {
		m, _ := newTestManager(t, Config{})
		start(t, m, ownerA, pngStart("u", 8, 8))
		if _, err := m.Chunk(ownerA, binChunk("u", 0, pngData(8))); err != nil {
			t.Fatal(err)
		}
		_, err := m.Complete(context.Background(), ownerB, Complete{UploadID: "u"})
		wantErr(t, err, "Upload u not found")
		_, err = m.Complete(context.Background(), ownerA, Complete{UploadIDText: "undefined"})
		wantErr(t, err, "Upload undefined not found")
		if m.Active() != 1 {
			t.Error("a foreign COMPLETE removed the upload")
		}
	})
	t.Run("storage failure", func(t *testing.T) {
		m, _ := newTestManager(t, Config{Storage: failingStorage{}})
		start(t, m, ownerA, pngStart("u", 8, 8))
		if _, err := m.Chunk(ownerA, binChunk("u", 0, pngData(8))); err != nil {
			t.Fatal(err)
		}
		_, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
		if !errors.Is(err, errStorage) || ClientMessage(err) != internalMessage {
			t.Fatalf("err %v (client %q)", err, ClientMessage(err))
		}
		if n := len(tempFiles(t, m)); n != 0 || m.Active() != 0 {
			t.Errorf("%d temp files and %d uploads left", n, m.Active())
		}
	})
}

var errStorage = errors.New("disk full")

type failingStorage struct{}

func (failingStorage) Store(context.Context, File, string) (string, error) { return "", errStorage }

func TestMagicBytes(t *testing.T) {
	tests := []struct {
		name      string
		typ       string
		chunks    [][]byte // chunk size = len(chunks[0])
		chunkErr  int      // index of the chunk that fails (-1: none)
		complete  string   // Complete's error ("" = success)
		checkSize bool
	}{
		{"png ok", "image/png", [][]byte{pngData(16)}, -1, "", false},
		{"jpeg ok", "image/jpeg", [][]byte{{0xFF, 0xD8, 0xFF, 0xE0}}, -1, "", false},
		{"gif87a", "image/gif", [][]byte{[]byte("GIF87a..")}, -1, "", false},
		{"gif89a", "image/gif", [][]byte{[]byte("GIF89a..")}, -1, "", false},
		{"webp", "image/webp", [][]byte{[]byte("RIFFxxxxWEBP")}, -1, "", false},
		{"pdf", "application/pdf", [][]byte{[]byte("%PDF-1.7")}, -1, "", false},
		{"zip", "application/zip", [][]byte{{'P', 'K', 3, 4, 0}}, -1, "", false},
		{"empty zip", "application/zip", [][]byte{{'P', 'K', 5, 6, 0}}, -1, "", false},
		{"gzip", "application/gzip", [][]byte{{0x1F, 0x8B, 8}}, -1, "", false},
		{"text not checked", "text/plain", [][]byte{[]byte("MZ\x90\x00")}, -1, "", false},
		{"exe as png rejected at first chunk", "image/png", [][]byte{[]byte("MZ\x90\x00\x03\x00\x00\x00"), []byte("more")}, 0,
			"File content does not match claimed type 'image/png'. The file may be disguised as a different format.", false},
		{"html as gif rejected at first chunk", "image/gif", [][]byte{[]byte("<html>..")}, 0,
			"File content does not match claimed type 'image/gif'. The file may be disguised as a different format.", false},
		{"tiny first chunk checked at complete", "image/png", [][]byte{{0x89, 'P'}, {'X', 'G'}, {0x0D, 0x0A}, {0x1A, 0x0A}}, -1,
			"File content does not match claimed type 'image/png'. The file may be disguised as a different format.", false},
		{"tiny first chunk ok", "image/png", [][]byte{{0x89, 'P'}, {'N', 'G'}, {0x0D, 0x0A}, {0x1A, 0x0A}}, -1, "", false},
		{"file shorter than the signature", "application/pdf", [][]byte{[]byte("%P")}, 0,
			"File content does not match claimed type 'application/pdf'. The file may be disguised as a different format.", false},
		{"second chunk out of order first", "image/jpeg", [][]byte{{0xFF, 0xD8}, {0xFF, 0}}, -1, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, store := newTestManager(t, Config{})
			cs := int64(len(tt.chunks[0]))
			var all []byte
			for _, c := range tt.chunks {
				all = append(all, c...)
			}
			start(t, m, ownerA, Start{UploadID: "u", Filename: "f.bin", FileType: tt.typ, FileSize: int64(len(all)), ChunkSize: cs})
			// Send chunk 0 last when there are several, except when it
			// is the one expected to fail.
			order := make([]int, len(tt.chunks))
			for i := range order {
				order[i] = (i + 1) % len(order)
			}
			if tt.chunkErr == 0 {
				order = []int{0}
			}
			for _, i := range order {
				_, err := m.Chunk(ownerA, binChunk("u", int64(i), tt.chunks[i]))
				if i == tt.chunkErr {
					wantErr(t, err, tt.complete)
					if m.Active() != 0 || len(tempFiles(t, m)) != 0 {
						t.Fatal("a mismatching upload was kept")
					}
					_, err := m.Chunk(ownerA, binChunk("u", 1, []byte{0}))
					wantErr(t, err, "Upload u not found")
					return
				}
				if err != nil {
					t.Fatalf("chunk %d: %v", i, err)
				}
			}
			if tt.complete != "" {
				_, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "u"})
				wantErr(t, err, tt.complete)
				if m.Active() != 0 || len(tempFiles(t, m)) != 0 {
					t.Fatal("a mismatching upload was kept")
				}
				return
			}
			complete(t, m, store, ownerA, "u", all)
		})
	}
}

func TestResume(t *testing.T) {
	data := pngData(100)
	const cs = 10
	alice1 := Owner{ConnID: "c1", UserID: "alice"}
	alice2 := Owner{ConnID: "c2", UserID: "alice"}
	bob := Owner{ConnID: "c3", UserID: "bob"}
	anon := Owner{ConnID: "c4"}
	s := pngStart("u", 100, cs)

	setup := func(t *testing.T, o Owner) (*Manager, string) {
		t.Helper()
		m, store := newTestManager(t, Config{})
		start(t, m, o, s)
		for _, i := range []int64{0, 1, 2, 5, 9} {
			if _, err := m.Chunk(o, binChunk("u", i, slice(data, cs, i))); err != nil {
				t.Fatal(err)
			}
		}
		return m, store
	}
	finish := func(t *testing.T, m *Manager, store string, o Owner, res StartResult) {
		t.Helper()
		want := StartResult{TotalChunks: 10, Resumed: true, BytesUploaded: 50, Missing: []int64{3, 4, 6, 7, 8}, MissingCount: 5}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Fatalf("resume (-want +got):\n%s", diff)
		}
		for _, i := range res.Missing {
			if _, err := m.Chunk(o, binChunk("u", i, slice(data, cs, i))); err != nil {
				t.Fatal(err)
			}
		}
		complete(t, m, store, o, "u", data)
	}

	t.Run("same connection retries START", func(t *testing.T) {
		m, store := setup(t, alice1)
		finish(t, m, store, alice1, start(t, m, alice1, s))
	})
	t.Run("same user after reconnect", func(t *testing.T) {
		m, store := setup(t, alice1)
		m.ReleaseConn("c1")
		_, err := m.Chunk(alice1, binChunk("u", 3, slice(data, cs, 3)))
		wantErr(t, err, "Upload u not found") // detached: nobody may write
		finish(t, m, store, alice2, start(t, m, alice2, s))
		_, err = m.Chunk(alice1, binChunk("u", 3, slice(data, cs, 3)))
		wantErr(t, err, "Upload u not found")
	})
	t.Run("anonymous upload after reconnect", func(t *testing.T) {
		m, store := setup(t, anon)
		m.ReleaseConn("c4")
		finish(t, m, store, Owner{ConnID: "c5"}, start(t, m, Owner{ConnID: "c5"}, s))
	})
	t.Run("other user cannot", func(t *testing.T) {
		m, _ := setup(t, alice1)
		m.ReleaseConn("c1")
		_, err := m.Start(bob, s)
		wantErr(t, err, "Upload u already in progress")
		_, err = m.Start(anon, s)
		wantErr(t, err, "Upload u already in progress")
	})
	t.Run("not while attached elsewhere", func(t *testing.T) {
		m, _ := setup(t, alice1)
		_, err := m.Start(alice2, s)
		wantErr(t, err, "Upload u already in progress")
	})
	t.Run("parameters must match", func(t *testing.T) {
		m, _ := setup(t, alice1)
		m.ReleaseConn("c1")
		for _, f := range []func(*Start){
			func(s *Start) { s.ComponentID = "other" },
			func(s *Start) { s.Filename = "x.png" },
			func(s *Start) { s.FileType = "image/gif" },
			func(s *Start) { s.FileSize = 99 },
			func(s *Start) { s.ChunkSize = 20 },
		} {
			r := s
			f(&r)
			_, err := m.Start(alice2, r)
			wantErr(t, err, "Upload u already in progress")
		}
	})
	t.Run("resume counts against the limit", func(t *testing.T) {
		m, _ := setup(t, alice1)
		m.ReleaseConn("c1")
		start(t, m, Owner{ConnID: "c9", UserID: "alice"}, Start{UploadID: "other", Filename: "a.txt", FileType: "text/plain", FileSize: 1, ChunkSize: 1})
		m.cfg.MaxConcurrent = 1
		_, err := m.Start(Owner{ConnID: "c9", UserID: "alice"}, s)
		wantErr(t, err, "Too many concurrent uploads (max 1 per connection)")
	})
	t.Run("missing report is capped", func(t *testing.T) {
		m, _ := newTestManager(t, Config{})
		big := Start{UploadID: "big", Filename: "a.txt", FileType: "text/plain", FileSize: 5000, ChunkSize: 1}
		start(t, m, anon, big)
		res := start(t, m, anon, big)
		if len(res.Missing) != DefaultMissingReportLimit || res.MissingCount != 5000 || res.Missing[1023] != 1023 {
			t.Errorf("missing %d entries (last %d), count %d", len(res.Missing), res.Missing[len(res.Missing)-1], res.MissingCount)
		}
	})
}

func TestIdleSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newTestManager(t, Config{ChunkTimeout: 30 * time.Second})
		data := pngData(20)
		start(t, m, ownerA, pngStart("active", 20, 10))
		start(t, m, ownerA, pngStart("abandoned", 20, 10))
		start(t, m, ownerB, pngStart("detached", 20, 10))
		for _, id := range []string{"active", "abandoned"} {
			if _, err := m.Chunk(ownerA, binChunk(id, 0, data[:10])); err != nil {
				t.Fatal(err)
			}
		}
		m.ReleaseConn(ownerB.ConnID)
		if n := len(tempFiles(t, m)); n != 3 {
			t.Fatalf("%d temp files, want 3", n)
		}
		// Keep "active" busy with duplicate chunks: activity counts,
		// not progress.
		// Idle uploads go between 30 s (ChunkTimeout) and 45 s.
		for i, want := range []int{3, 3, 1, 1} {
			time.Sleep(20 * time.Second)
			synctest.Wait()
			if n := len(tempFiles(t, m)); n != want || m.Active() != want {
				t.Fatalf("after %d s: %d temp files and %d uploads, want %d", 20*(i+1), n, m.Active(), want)
			}
			if _, err := m.Chunk(ownerA, binChunk("active", 0, data[:10])); err != nil {
				t.Fatalf("active upload: %v", err)
			}
		}
		_, err := m.Chunk(ownerA, binChunk("abandoned", 1, data[10:]))
		wantErr(t, err, "Upload abandoned not found")
		_, err = m.Start(ownerB, pngStart("detached", 20, 10)) // not resumable any more: a new upload
		if err != nil {
			t.Fatal(err)
		}
		if _, err := m.Chunk(ownerA, binChunk("active", 1, data[10:])); err != nil {
			t.Fatal(err)
		}
		if _, err := m.Complete(context.Background(), ownerA, Complete{UploadID: "active"}); err != nil {
			t.Fatal(err)
		}
		if err := m.Cancel(ownerB, "detached"); err != nil {
			t.Fatal(err)
		}
		// With no upload left the timer stops: no goroutine, no timer.
		m.mu.Lock()
		armed := m.timer != nil
		m.mu.Unlock()
		time.Sleep(time.Minute)
		synctest.Wait()
		m.mu.Lock()
		armedAfter := m.timer != nil
		m.mu.Unlock()
		if !armed || armedAfter {
			t.Errorf("timer armed %v with uploads, %v after they were gone", armed, armedAfter)
		}
	})
}

// The resume window of a detached upload starts when its connection
// closes, not at its last chunk.
func TestResumeWindowStartsAtRelease(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		m, _ := newTestManager(t, Config{ChunkTimeout: 30 * time.Second})
		s := pngStart("u", 20, 10)
		start(t, m, ownerA, s)
		time.Sleep(20 * time.Second)
		m.ReleaseConn(ownerA.ConnID)
		time.Sleep(28 * time.Second) // 48 s after the last chunk
		synctest.Wait()
		if res := start(t, m, Owner{ConnID: "new"}, s); !res.Resumed {
			t.Fatalf("not resumed: %+v", res)
		}
		time.Sleep(46 * time.Second)
		synctest.Wait()
		if m.Active() != 0 {
			t.Error("idle resumed upload not removed")
		}
	})
}

func TestClose(t *testing.T) {
	m, _ := newTestManager(t, Config{})
	start(t, m, ownerA, pngStart("u", 20, 10))
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	if n := len(tempFiles(t, m)); n != 0 {
		t.Errorf("%d temp files after Close", n)
	}
	if _, err := m.Start(ownerA, pngStart("v", 20, 10)); !errors.Is(err, ErrClosed) {
		t.Errorf("Start after Close: %v", err)
	}
	if _, err := m.Chunk(ownerA, binChunk("u", 0, pngData(10))); !errors.Is(err, ErrClosed) {
		t.Errorf("Chunk after Close: %v", err)
	}
	if err := m.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestConfigValidation(t *testing.T) {
	tests := []Config{
		{MaxFileSize: -1},
		{QuotaInterval: -1},
		{ChunkTimeout: -1},
		{MaxConcurrent: -1},
		{BlockedExtensions: []string{"exe"}},
		{TempDir: "/dev/null/x"},
	}
	for i, c := range tests {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			if _, err := New(c); err == nil {
				t.Errorf("New(%+v) accepted", c)
			}
		})
	}
	m, err := New(Config{TempDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	got := m.Config()
	if got.MaxFileSize != 50<<20 || got.ChunkTimeout != 30*time.Second || got.MaxBytesPerUser != 500<<20 ||
		got.QuotaInterval != 24*time.Hour || got.MaxConcurrent != 4 || len(got.AllowedTypes) != 12 ||
		len(got.BlockedExtensions) != 25 || got.Storage != (LocalDir{}) {
		t.Errorf("defaults: %+v", got)
	}
}

func TestLocalDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "b")
	l := LocalDir{Dir: dir, URLPrefix: "/files/"}
	src := filepath.Join(t.TempDir(), "src")
	if err := os.WriteFile(src, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, err := l.Store(context.Background(), File{Ext: ".TXT\x00"}, src)
	if err != nil {
		t.Fatal(err)
	}
	name, ok := strings.CutPrefix(url, "/files/")
	if !ok || strings.Contains(name, ".") {
		t.Fatalf("URL %q: an unsafe extension must be dropped", url)
	}
	if b, err := os.ReadFile(filepath.Join(dir, name)); err != nil || string(b) != "hello" {
		t.Fatalf("stored %q, %v", b, err)
	}
	for _, bad := range []string{"/other/" + name, "/files/../x", "/files/", "/files/a/b"} {
		if err := l.Remove(context.Background(), bad); err == nil {
			t.Errorf("Remove(%q) accepted", bad)
		}
	}
	if err := l.Remove(context.Background(), url); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, name)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("file still there: %v", err)
	}
	if err := l.Remove(context.Background(), url); err != nil {
		t.Errorf("second Remove: %v", err)
	}
}

func TestCopyFile(t *testing.T) {
	src := filepath.Join(t.TempDir(), "src")
	data := bytes.Repeat([]byte("x"), 100_000)
	if err := os.WriteFile(src, data, 0o600); err != nil {
		t.Fatal(err)
	}
	dst := filepath.Join(t.TempDir(), "dst")
	if err := copyFile(context.Background(), src, dst); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(dst); !bytes.Equal(got, data) {
		t.Error("copy differs")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dst2 := filepath.Join(t.TempDir(), "dst2")
	if err := copyFile(ctx, src, dst2); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled copy: %v", err)
	}
	if _, err := os.Stat(dst2); !errors.Is(err, os.ErrNotExist) {
		t.Error("a failed copy left its destination")
	}
}

func TestSafeExt(t *testing.T) {
	tests := []struct{ in, want string }{
		{".png", ".png"}, {".tar+gz", ".tar+gz"}, {"", ""}, {".", ""}, {"png", ""},
		{".PNG", ""}, {".p g", ""}, {"./", ""}, {"." + strings.Repeat("a", 16), "." + strings.Repeat("a", 16)},
		{"." + strings.Repeat("a", 17), ""},
	}
	for _, tt := range tests {
		if got := safeExt(tt.in); got != tt.want {
			t.Errorf("safeExt(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestNames(t *testing.T) {
	tests := []struct{ in, base, ext string }{
		{"a.png", "a.png", ".png"},
		{"/x/y/a.tar.gz", "a.tar.gz", ".gz"},
		{`C:\fakepath\a.JPG`, "a.JPG", ".JPG"},
		{"dir/", "dir", ""},
		{".bashrc", ".bashrc", ""},
		{"file.", "file.", "."},
		{"", "", ""},
	}
	for _, tt := range tests {
		b := baseName(tt.in)
		if b != tt.base || extName(b) != tt.ext {
			t.Errorf("%q: base %q ext %q, want %q %q", tt.in, b, extName(b), tt.base, tt.ext)
		}
	}
}

func TestBitmap(t *testing.T) {
	const n = 4*pageBits + 5
	b := newBitmap(n)
	marks := []int64{0, 1, 63, 64, pageBits - 1, pageBits, 3*pageBits + 7, n - 1}
	for _, i := range marks {
		if !b.add(i) || b.add(i) || !b.has(i) {
			t.Fatalf("add/has %d", i)
		}
	}
	if b.set != int64(len(marks)) || b.pages[2] != nil {
		t.Errorf("set %d; page 2 (no marks) allocated: %v", b.set, b.pages[2] != nil)
	}
	if b.pages[1] == nil || b.pages[3] == nil {
		t.Error("pages with marks not allocated")
	}
	got := b.missing(nil, 5)
	if want := []int64{2, 3, 4, 5, 6}; !slices.Equal(got, want) {
		t.Errorf("missing(5) = %v, want %v", got, want)
	}
	all := b.missing(nil, n)
	if int64(len(all)) != n-b.set || all[len(all)-1] != n-2 {
		t.Errorf("missing(all): %d entries, last %d", len(all), all[len(all)-1])
	}
	for _, i := range all {
		if b.has(i) || slices.Contains(marks, i) {
			t.Fatalf("%d reported missing", i)
		}
	}
	// A bitmap of a huge upload costs its page table only.
	big := newBitmap(1 << 30)
	if len(big.pages) != (1<<30)/pageBits {
		t.Errorf("%d pages", len(big.pages))
	}
	if got := big.missing(nil, 3); !slices.Equal(got, []int64{0, 1, 2}) {
		t.Errorf("missing of empty bitmap %v", got)
	}
}
