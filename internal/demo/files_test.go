package demo

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

func TestFileLabel(t *testing.T) {
	long := strings.Repeat("a", MaxFileLabel+1)
	tests := []struct {
		in, want string
	}{
		{"cat.png", "cat.png"},
		{"  spaced name.png \n", "spaced name.png"},
		{"", "file"},
		{" \t ", "file"},
		{"a\x00b.png", "a\ufffdb.png"},
		{"evil\u202egnp.exe", "evil\ufffdgnp.exe"},     // bidi override
		{"zero\u200bwidth.png", "zero\ufffdwidth.png"}, // format character
		{"line\u2028break", "line\ufffdbreak"},
		{"bad\xffutf8", "bad\ufffdutf8"},
		{strings.Repeat("é", MaxFileLabel), strings.Repeat("é", MaxFileLabel)},
		{long, strings.Repeat("a", MaxFileLabel-1) + "…"},
		{strings.Repeat("a", MaxFileLabel-2) + "  tail", strings.Repeat("a", MaxFileLabel-2) + "…"},
		{"<img src=x onerror=alert(1)>.png", "<img src=x onerror=alert(1)>.png"}, // shown with textContent
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := fileLabel(tt.in); got != tt.want {
				t.Errorf("fileLabel(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func TestFileStorePut(t *testing.T) {
	tests := []struct {
		name    string
		typ     string
		r       io.Reader
		wantErr error
		ext     string
	}{
		{name: "png", typ: "image/png", r: strings.NewReader("png bytes"), ext: ".png"},
		{name: "jpeg", typ: "image/jpeg", r: strings.NewReader("jpeg bytes"), ext: ".jpg"},
		{name: "largest", typ: "image/gif", r: bytes.NewReader(make([]byte, MaxUploadSize)), ext: ".gif"},
		{name: "too large", typ: "image/png", r: bytes.NewReader(make([]byte, MaxUploadSize+1)), wantErr: ErrFileTooLarge},
		{name: "svg refused", typ: "image/svg+xml", r: strings.NewReader("<svg/>"), wantErr: ErrFileType},
		{name: "html refused", typ: "text/html", r: strings.NewReader("<script>"), wantErr: ErrFileType},
		{name: "read error", typ: "image/png", r: iotest.ErrReader(io.ErrUnexpectedEOF), wantErr: io.ErrUnexpectedEOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newFileStore()
			url, err := s.put(tt.typ, tt.r)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				if len(s.files) != 0 || s.bytes != 0 {
					t.Fatal("a refused file was kept")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasPrefix(url, FilesPath) || !strings.HasSuffix(url, tt.ext) || len(url) != len(FilesPath)+24+len(tt.ext) {
				t.Fatalf("url %q: want %s<24 hex>%s", url, FilesPath, tt.ext)
			}
			if !s.has(url) {
				t.Fatal("has(url) = false after put")
			}
		})
	}
}

func TestFileStoreEviction(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		s := newFileStore()
		var urls []string
		for range MaxStoredFiles + 3 {
			u, err := s.put("image/png", strings.NewReader("x"))
			if err != nil {
				t.Fatal(err)
			}
			urls = append(urls, u)
		}
		for i, u := range urls {
			if want := i >= 3; s.has(u) != want {
				t.Errorf("file %d kept = %v, want %v", i, s.has(u), want)
			}
		}
		if len(s.files) != MaxStoredFiles || len(s.order) != MaxStoredFiles || s.bytes != MaxStoredFiles {
			t.Fatalf("%d files, %d in order, %d bytes", len(s.files), len(s.order), s.bytes)
		}
	})
	t.Run("bytes", func(t *testing.T) {
		s := newFileStore()
		var urls []string
		n := MaxStoredBytes/MaxUploadSize + 2
		for range n {
			u, err := s.put("image/png", bytes.NewReader(make([]byte, MaxUploadSize)))
			if err != nil {
				t.Fatal(err)
			}
			urls = append(urls, u)
		}
		if s.bytes > MaxStoredBytes {
			t.Fatalf("%d bytes kept, limit %d", s.bytes, MaxStoredBytes)
		}
		if !s.has(urls[n-1]) || s.has(urls[0]) {
			t.Fatal("want the newest kept and the oldest dropped")
		}
	})
	t.Run("remove", func(t *testing.T) {
		s := newFileStore()
		a, _ := s.put("image/png", strings.NewReader("aa"))
		b, _ := s.put("image/png", strings.NewReader("bbb"))
		s.remove(a)
		s.remove(a)                     // twice: no-op
		s.remove("/elsewhere/" + b[9:]) // not a store URL
		if s.has(a) || !s.has(b) || s.bytes != 3 || len(s.order) != 1 {
			t.Fatalf("after remove: has(a)=%v has(b)=%v bytes=%d order=%v", s.has(a), s.has(b), s.bytes, s.order)
		}
	})
}

func TestGalleryAddAndPrune(t *testing.T) {
	s := newFileStore()
	g := &Gallery{Files: []GalleryFile{}, store: s}
	at := time.UnixMilli(1_700_000_000_000)
	var kept []string
	for i := range MaxStoredFiles + 2 {
		u, err := s.put("image/png", strings.NewReader("x"))
		if err != nil {
			t.Fatal(err)
		}
		g.add(galleryFile(" pic\u202e.png ", u, "image/png", int64(i), at))
		kept = append(kept, u)
	}
	if len(g.Files) != MaxStoredFiles {
		t.Fatalf("%d files listed, want %d", len(g.Files), MaxStoredFiles)
	}
	if g.Files[0].URL != kept[len(kept)-1] || g.Files[0].Name != "pic\ufffd.png" || g.Files[0].At != at.UnixMilli() {
		t.Fatalf("newest entry = %+v", g.Files[0])
	}
	// After a restart the store is empty: a rehydrated gallery drops
	// everything on mount.
	g.store = newFileStore()
	if err := g.OnMount(nil); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]GalleryFile{}, g.Files); diff != "" {
		t.Fatalf("after the store lost the files (-want +got):\n%s", diff)
	}
}

func TestFileLabelLength(t *testing.T) {
	for _, n := range []int{0, 1, MaxFileLabel - 1, MaxFileLabel, MaxFileLabel + 1, 5000} {
		got := fileLabel(strings.Repeat("ж", n))
		if c := utf8.RuneCountInString(got); c > MaxFileLabel || c == 0 {
			t.Errorf("label of %d runes has %d runes", n, c)
		}
	}
}
