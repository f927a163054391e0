package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var (
	ownerA = Owner{ConnID: "connA", UserID: ""}
	ownerB = Owner{ConnID: "connB", UserID: ""}
)

// newTestManager returns a Manager with its temp and storage directories
// under t.TempDir(), closed at the end of the test.
func newTestManager(t *testing.T, cfg Config) (*Manager, string) {
	t.Helper()
	if cfg.TempDir == "" {
		cfg.TempDir = filepath.Join(t.TempDir(), "tmp")
	}
	store := filepath.Join(t.TempDir(), "store")
	if cfg.Storage == nil {
		cfg.Storage = LocalDir{Dir: store}
	}
	m, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m, store
}

// start begins an upload and fails the test on error.
func start(t *testing.T, m *Manager, o Owner, s Start) StartResult {
	t.Helper()
	res, err := m.Start(o, s)
	if err != nil {
		t.Fatalf("Start(%+v): %v", s, err)
	}
	return res
}

func pngStart(id string, size, chunk int64) Start {
	return Start{UploadID: id, ComponentID: "comp1", Filename: "pic.PNG", FileType: "image/png", FileSize: size, ChunkSize: chunk}
}

// pngData returns size bytes starting with the PNG signature.
func pngData(size int) []byte {
	b := make([]byte, size)
	for i := range b {
		b[i] = byte(i*7 + i>>8)
	}
	copy(b, []byte{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A})
	return b
}

func binChunk(id string, i int64, data []byte) Chunk {
	return Chunk{UploadID: id, Index: i, IndexOK: true, Data: data, Binary: true}
}

func jsonChunk(id string, i int64, data []byte) Chunk {
	return Chunk{UploadID: id, Index: i, IndexOK: true, Base64: []byte(base64.StdEncoding.EncodeToString(data)), HasBase64: true}
}

// slice returns chunk i of data.
func slice(data []byte, cs, i int64) []byte {
	end := min((i+1)*cs, int64(len(data)))
	return data[i*cs : end]
}

// tempFiles lists the files in the manager's temp dir.
func tempFiles(t *testing.T, m *Manager) []string {
	t.Helper()
	ents, err := os.ReadDir(m.cfg.TempDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), "live-upload-") {
			names = append(names, e.Name())
		}
	}
	return names
}

// wantErr fails unless err's client message is want.
func wantErr(t *testing.T, err error, want string) {
	t.Helper()
	if err == nil {
		t.Fatalf("got no error, want %q", want)
	}
	if got := ClientMessage(err); got != want {
		t.Fatalf("error %q, want %q (err: %v)", got, want, err)
	}
}

// complete finishes an upload and checks the stored file against data.
func complete(t *testing.T, m *Manager, store string, o Owner, id string, data []byte) File {
	t.Helper()
	f, err := m.Complete(context.Background(), o, Complete{UploadID: id})
	if err != nil {
		t.Fatalf("Complete: %v", err)
	}
	if f.SHA256 != sha256.Sum256(data) {
		t.Errorf("SHA256 %x, want %x", f.SHA256, sha256.Sum256(data))
	}
	name, ok := strings.CutPrefix(f.URL, "/uploads/")
	if !ok {
		t.Fatalf("URL %q lacks /uploads/", f.URL)
	}
	got, err := os.ReadFile(filepath.Join(store, name))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, data) {
		t.Errorf("stored %d bytes differ from the %d sent", len(got), len(data))
	}
	return f
}
