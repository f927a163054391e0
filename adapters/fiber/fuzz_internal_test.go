package livefiber

import (
	"bytes"
	"net/url"
	"strings"
	"testing"
	"testing/iotest"
)

// FuzzReadBounded feeds untrusted message bytes, in reads of any size, to
// the bounded reader of Socket.Read.
func FuzzReadBounded(f *testing.F) {
	f.Add([]byte(`{"type":"COMPONENT_MOUNT"}`), int64(1024), false)
	f.Add([]byte{}, int64(0), false)
	f.Add(bytes.Repeat([]byte("x"), 600), int64(599), true)
	f.Add(bytes.Repeat([]byte("y"), 2048), int64(2048), true)
	f.Fuzz(func(t *testing.T, data []byte, limit int64, oneByte bool) {
		if limit < 0 {
			limit = -limit
		}
		limit %= 1 << 16
		var r = bytes.NewReader(data)
		var src interface{ Read([]byte) (int, error) } = r
		if oneByte {
			src = iotest.OneByteReader(r)
		}
		b, tooLarge, err := readBounded(src, nil, limit)
		if err != nil {
			t.Fatalf("readBounded: %v", err)
		}
		if tooLarge != (int64(len(data)) > limit) {
			t.Fatalf("tooLarge = %v for %d bytes, limit %d", tooLarge, len(data), limit)
		}
		if !tooLarge && !bytes.Equal(b, data) {
			t.Fatalf("read %q, want %q", b, data)
		}
		if int64(cap(b)) > limit+1 {
			t.Fatalf("buffer grew to %d for limit %d", cap(b), limit)
		}
		if r.Len() != 0 {
			t.Fatalf("%d bytes left unread", r.Len())
		}
	})
}

// FuzzOriginAllowed checks the origin rules on untrusted Origin and Host
// headers.
func FuzzOriginAllowed(f *testing.F) {
	f.Add("https://a.example", "https://a.example", "srv.example")
	f.Add("", "http://srv.example", "srv.example")
	f.Add("", "http://[::1", "srv.example")
	f.Add("*", "null", "")
	f.Fuzz(func(t *testing.T, list, origin, host string) {
		var allowed []string
		if list != "" {
			allowed = strings.Split(list, ",")
		}
		got := originAllowed(allowed, origin, host)
		switch {
		case len(allowed) > 0:
			want := false
			for _, o := range allowed {
				want = want || o == "*" || o == origin
			}
			if got != want {
				t.Fatalf("originAllowed(%q, %q) = %v, want %v", allowed, origin, got, want)
			}
		case origin == "":
			if !got {
				t.Fatal("a request without Origin was refused")
			}
		case got:
			u, err := url.Parse(origin)
			if err != nil || !strings.EqualFold(u.Host, host) {
				t.Fatalf("origin %q admitted for host %q", origin, host)
			}
		}
	})
}
