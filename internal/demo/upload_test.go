package demo

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	live "github.com/live-go/live"
)

func TestFileStoreAsUploadStorage(t *testing.T) {
	s := newFileStore()
	tmp := filepath.Join(t.TempDir(), "upload.part")
	if err := os.WriteFile(tmp, []byte("\x89PNG\r\n\x1a\nrest"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, err := s.Store(context.Background(), live.UploadedFile{Name: "a.png", Type: "image/png", Size: 12}, tmp)
	if err != nil || !strings.HasPrefix(url, FilesPath) || !s.has(url) {
		t.Fatalf("Store = %q, %v; want a kept %s… URL", url, err, FilesPath)
	}
	if _, err := s.Store(context.Background(), live.UploadedFile{Type: "image/png"}, filepath.Join(t.TempDir(), "gone")); err == nil {
		t.Fatal("Store of a missing file succeeded")
	}
	if err := s.Remove(context.Background(), url); err != nil || s.has(url) {
		t.Fatalf("Remove = %v, kept = %v", err, s.has(url))
	}
}

func TestGalleryOnUpload(t *testing.T) {
	s := newFileStore()
	g := &Gallery{Files: []GalleryFile{}, store: s}
	url, err := s.put("image/png", strings.NewReader("png"))
	if err != nil {
		t.Fatal(err)
	}
	ctx := &live.Ctx{Context: t.Context()}
	if err := g.OnUpload(ctx, live.UploadedFile{Name: "cat\u202e.png", Type: "image/png", Size: 3, URL: url}); err != nil {
		t.Fatal(err)
	}
	if len(g.Files) != 1 || g.Files[0].URL != url || g.Files[0].Name != "cat\ufffd.png" || g.Files[0].Size != 3 {
		t.Fatalf("files = %+v", g.Files)
	}
	if err := g.OnUpload(ctx, live.UploadedFile{Name: "x.png", URL: FilesPath + "unknown.png"}); err == nil {
		t.Fatal("OnUpload listed a file the store does not keep")
	}
	if len(g.Files) != 1 {
		t.Fatalf("a refused upload was listed: %+v", g.Files)
	}
}

func TestDemoOptionsEnableUploads(t *testing.T) {
	o := New().Options(live.Options{})
	if o.Uploads.MaxFileSize != MaxUploadSize || o.Uploads.Storage == nil || len(o.Uploads.AllowedTypes) != len(UploadTypes) {
		t.Fatalf("Uploads = %+v", o.Uploads)
	}
}
