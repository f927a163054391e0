package demo

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Limits of the upload panel.
const (
	// MaxUploadSize is the largest file the demo accepts, in bytes.
	MaxUploadSize = 2 << 20
	// MaxStoredFiles is how many uploaded files the demo keeps; the oldest
	// is dropped first.
	MaxStoredFiles = 24
	// MaxStoredBytes bounds the memory all kept files use together.
	MaxStoredBytes = 24 << 20
	// MaxFileLabel is the longest file name shown, in characters.
	MaxFileLabel = 80
	// FilesPath is the URL path under which uploaded files are served.
	FilesPath = "/uploads/"
)

// UploadTypes are the MIME types the demo accepts: images the server checks
// by their magic bytes, and that browsers show in an <img>.
var UploadTypes = []string{"image/png", "image/jpeg", "image/gif", "image/webp"}

var typeExt = map[string]string{"image/png": ".png", "image/jpeg": ".jpg", "image/gif": ".gif", "image/webp": ".webp"}

// Errors of the file store. Match them with errors.Is.
var (
	// ErrFileTooLarge rejects a file larger than MaxUploadSize.
	ErrFileTooLarge = errors.New("demo: file too large")
	// ErrFileType rejects a file whose type is not in UploadTypes.
	ErrFileType = errors.New("demo: file type not accepted")
)

// storedFile is one uploaded file kept in memory.
type storedFile struct {
	typ  string
	data []byte
	at   time.Time
}

// fileStore keeps the demo's uploaded files in memory, at most
// MaxStoredFiles of them and MaxStoredBytes together, dropping the oldest.
// Files live as long as the process: the demo needs no directory.
type fileStore struct {
	mu    sync.Mutex
	files map[string]storedFile // by stored name ("<hex><ext>")
	order []string              // stored names, oldest first
	bytes int
}

func newFileStore() *fileStore {
	return &fileStore{files: map[string]storedFile{}}
}

// put keeps data read from r (at most MaxUploadSize bytes) as a new file
// of type typ and returns its URL path.
func (s *fileStore) put(typ string, r io.Reader) (string, error) {
	ext, ok := typeExt[typ]
	if !ok {
		return "", fmt.Errorf("%w: %q", ErrFileType, typ)
	}
	data, err := io.ReadAll(io.LimitReader(r, MaxUploadSize+1))
	if err != nil {
		return "", fmt.Errorf("demo: read upload: %w", err)
	}
	if len(data) > MaxUploadSize {
		return "", ErrFileTooLarge
	}
	var id [12]byte
	_, _ = rand.Read(id[:]) // crypto/rand.Read never fails
	name := hex.EncodeToString(id[:]) + ext

	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = storedFile{typ: typ, data: data, at: time.Now()}
	s.order = append(s.order, name)
	s.bytes += len(data)
	drop := 0
	for len(s.order)-drop > MaxStoredFiles || (s.bytes > MaxStoredBytes && len(s.order)-drop > 1) {
		old := s.order[drop]
		s.bytes -= len(s.files[old].data)
		delete(s.files, old)
		drop++
	}
	s.order = slices.Delete(s.order, 0, drop)
	return FilesPath + name, nil
}

// remove deletes the file at url (a path put returned), if it is kept.
func (s *fileStore) remove(url string) {
	name, ok := strings.CutPrefix(url, FilesPath)
	if !ok {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	f, ok := s.files[name]
	if !ok {
		return
	}
	s.bytes -= len(f.data)
	delete(s.files, name)
	s.order = slices.DeleteFunc(s.order, func(n string) bool { return n == name })
}

// has reports whether the file at url is kept.
func (s *fileStore) has(url string) bool {
	name, ok := strings.CutPrefix(url, FilesPath)
	if !ok {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok = s.files[name]
	return ok
}

// ServeHTTP serves GET and HEAD FilesPath+"<name>". Files are served with
// their checked type, no sniffing and a sandboxing policy, so an upload can
// never run script in the page's origin.
func (s *fileStore) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	s.mu.Lock()
	f, ok := s.files[name]
	s.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", f.typ)
	h.Set("Content-Length", strconv.Itoa(len(f.data)))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, max-age=3600")
	h.Set("Last-Modified", f.at.UTC().Format(http.TimeFormat))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(f.data)
}

// fileLabel returns the client's file name as the gallery shows it: white
// space trimmed, control and format characters (bidi overrides, zero-width)
// replaced by U+FFFD, at most MaxFileLabel characters ("…" marks a cut),
// "file" when nothing is left. It accepts any bytes: invalid UTF-8 becomes
// U+FFFD too.
func fileLabel(name string) string {
	name = strings.TrimSpace(name)
	keep := utf8.RuneCountInString(name)
	cut := keep > MaxFileLabel
	if cut {
		keep = MaxFileLabel - 1
	}
	var b strings.Builder
	b.Grow(min(len(name), MaxFileLabel*utf8.UTFMax))
	for _, r := range name {
		if keep == 0 {
			break
		}
		keep--
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			r = utf8.RuneError
		}
		b.WriteRune(r)
	}
	out := b.String()
	if cut {
		out = strings.TrimSpace(out) + "…"
	}
	if out == "" {
		return "file"
	}
	return out
}
