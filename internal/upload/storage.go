package upload

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// File describes a completed upload.
type File struct {
	// UploadID is the client's upload id.
	UploadID string
	// ComponentID is the component the upload was started for ("" if none).
	ComponentID string
	// Name is the client's filename without any directory part.
	Name string
	// Ext is Name's last extension, lowercased, with its dot ("" if none).
	Ext string
	// Type is the declared MIME type.
	Type string
	// Size is the file size in bytes.
	Size int64
	// SHA256 is the digest of the content.
	SHA256 [32]byte
	// UserID is the authenticated user that uploaded it ("" if anonymous).
	UserID string
	// URL is where Storage put the file (set after Store).
	URL string
}

// Storage receives completed uploads.
type Storage interface {
	// Store takes the completed file at tmpPath, described by f, and
	// returns the URL under which it is published. It may move tmpPath
	// (it is on the Manager's TempDir) or copy it; the Manager removes
	// tmpPath afterwards if it still exists. It runs on the goroutine of
	// the connection that sent FILE_UPLOAD_COMPLETE.
	Store(ctx context.Context, f File, tmpPath string) (url string, err error)
}

// Remover is an optional Storage capability: Remove deletes a file that
// Store published, when its upload is rejected afterwards (for example by
// the owning component's completion hook).
type Remover interface {
	Remove(ctx context.Context, url string) error
}

// LocalDir is the default Storage: files are moved into Dir under a random
// name that keeps the upload's lowercased extension, and published as
// URLPrefix + name, as the reference does (spec §7.3).
type LocalDir struct {
	// Dir is the destination directory, created if missing. Default
	// "./uploads".
	Dir string
	// URLPrefix is prepended to the stored name to form the URL. Default
	// "/uploads/" (the reference's, whatever Dir is).
	URLPrefix string
}

var (
	_ Storage = LocalDir{}
	_ Remover = LocalDir{}
)

func (l LocalDir) dir() string {
	if l.Dir == "" {
		return "uploads"
	}
	return l.Dir
}

func (l LocalDir) prefix() string {
	if l.URLPrefix == "" {
		return "/uploads/"
	}
	return l.URLPrefix
}

// Store moves tmpPath into Dir (copying it when a rename is not possible,
// e.g. across file systems) and returns its URL.
func (l LocalDir) Store(ctx context.Context, f File, tmpPath string) (string, error) {
	dir := l.dir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("upload: create %s: %w", dir, err)
	}
	name := randomName() + safeExt(f.Ext)
	dst := filepath.Join(dir, name)
	if err := os.Chmod(tmpPath, 0o644); err != nil {
		return "", fmt.Errorf("upload: chmod: %w", err)
	}
	if err := os.Rename(tmpPath, dst); err != nil {
		if err := copyFile(ctx, tmpPath, dst); err != nil {
			return "", err
		}
	}
	return l.prefix() + name, nil
}

// Remove deletes a file stored under url.
func (l LocalDir) Remove(_ context.Context, url string) error {
	name, ok := strings.CutPrefix(url, l.prefix())
	if !ok || name == "" || strings.ContainsAny(name, `/\`) || name == "." || name == ".." {
		return fmt.Errorf("upload: %q is not a LocalDir URL", url)
	}
	if err := os.Remove(filepath.Join(l.dir(), name)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("upload: remove: %w", err)
	}
	return nil
}

// copyFile copies src to a new file dst.
func copyFile(ctx context.Context, src, dst string) (err error) {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("upload: open: %w", err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("upload: create: %w", err)
	}
	defer func() {
		if cerr := out.Close(); err == nil && cerr != nil {
			err = fmt.Errorf("upload: close: %w", cerr)
		}
		if err != nil {
			_ = os.Remove(dst)
		}
	}()
	if _, err := io.Copy(out, ctxReader{ctx, in}); err != nil {
		return fmt.Errorf("upload: copy: %w", err)
	}
	return nil
}

// ctxReader stops a copy when ctx ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}

// randomName returns a random version-4 UUID, like crypto.randomUUID().
func randomName() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// safeExt returns ext when it is a short, plain extension (a dot and up to
// 16 of [a-z0-9_+-]), else "": a stored name never carries characters the
// file system or a URL would treat specially.
func safeExt(ext string) string {
	if len(ext) < 2 || len(ext) > 17 || ext[0] != '.' {
		return ""
	}
	for i := 1; i < len(ext); i++ {
		c := ext[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-') {
			return ""
		}
	}
	return ext
}
