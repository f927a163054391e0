package demo

import (
	"time"

	live "github.com/live-go/live"
)

// GalleryFile is one uploaded file as the gallery lists it.
type GalleryFile struct {
	// Name is the client's file name, cleaned for display (see fileLabel).
	Name string `json:"name"`
	// URL is where the demo serves the file (under FilesPath).
	URL string `json:"url"`
	// Type is the checked MIME type.
	Type string `json:"type"`
	// Size is the size in bytes.
	Size int64 `json:"size"`
	// At is when the upload completed, in Unix milliseconds.
	At int64 `json:"at"`
}

// Gallery is the upload panel's component, a singleton: every tab sees the
// same list of uploaded images, newest first. Files are kept in memory by
// the demo (see MaxStoredFiles), so after a restart a rehydrated Gallery
// drops the entries whose files are gone.
type Gallery struct {
	live.Base
	// Files are the uploaded files, newest first, at most MaxStoredFiles.
	Files []GalleryFile `json:"files"`

	store *fileStore // server-only
}

var _ live.MountHook = (*Gallery)(nil)

// OnMount drops the entries whose files the store no longer keeps (a
// Gallery rehydrated after a restart).
func (g *Gallery) OnMount(*live.Ctx) error {
	g.prune()
	return nil
}

// add lists f first and drops entries the store no longer keeps.
func (g *Gallery) add(f GalleryFile) {
	g.Files = append([]GalleryFile{f}, g.Files...)
	g.prune()
}

// prune keeps the entries whose files are still stored, at most
// MaxStoredFiles. It always builds a new slice: the engine diffs the old
// one against it.
func (g *Gallery) prune() {
	kept := make([]GalleryFile, 0, min(len(g.Files), MaxStoredFiles))
	for _, f := range g.Files {
		if len(kept) < MaxStoredFiles && g.store.has(f.URL) {
			kept = append(kept, f)
		}
	}
	g.Files = kept
}

// galleryFile builds the listing of an upload that completed at at.
func galleryFile(name, url, typ string, size int64, at time.Time) GalleryFile {
	return GalleryFile{Name: fileLabel(name), URL: url, Type: typ, Size: size, At: at.UnixMilli()}
}
