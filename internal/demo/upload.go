package demo

import (
	"context"
	"fmt"
	"os"
	"time"

	live "github.com/live-go/live"
)

var (
	_ live.UploadHook    = (*Gallery)(nil)
	_ live.UploadStorage = (*fileStore)(nil)
	_ live.UploadRemover = (*fileStore)(nil)
)

// withUploads returns o with the demo's upload settings (replacing
// o.Uploads): images of UploadTypes up to MaxUploadSize, kept in memory by
// the demo's file store.
func (d *Demo) withUploads(o live.Options) live.Options {
	o.Uploads = live.UploadOptions{
		MaxFileSize:   MaxUploadSize,
		AllowedTypes:  UploadTypes,
		MaxConcurrent: 2,
		Storage:       d.files,
	}
	return o
}

// OnUpload lists a completed upload first (live.UploadHook). It runs with
// the Gallery locked, after the server checked the file's type and size and
// the store kept it.
func (g *Gallery) OnUpload(_ *live.Ctx, f live.UploadedFile) error {
	if !g.store.has(f.URL) {
		return &live.Error{Message: "the upload was not kept", Err: fmt.Errorf("demo: %s is not in the store", f.URL)}
	}
	g.add(galleryFile(f.Name, f.URL, f.Type, f.Size, time.Now()))
	return nil
}

// Store keeps the completed upload at tmpPath in memory and returns its URL
// (live.UploadStorage).
func (s *fileStore) Store(_ context.Context, f live.UploadedFile, tmpPath string) (string, error) {
	file, err := os.Open(tmpPath)
	if err != nil {
		return "", fmt.Errorf("demo: open upload: %w", err)
	}
	defer file.Close()
	return s.put(f.Type, file)
}

// Remove deletes a kept file whose upload the Gallery refused
// (live.UploadRemover).
func (s *fileStore) Remove(_ context.Context, url string) error {
	s.remove(url)
	return nil
}
