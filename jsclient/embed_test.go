package jsclient

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"testing"
)

// get performs one request against Handler.
func get(t *testing.T, method, target string, header map[string]string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func readFile(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestHandlerServesFiles(t *testing.T) {
	tests := []struct {
		path, file, contentType string
	}{
		{"/client.js", "live.js", "text/javascript; charset=utf-8"},
		{"/api/live/client.js", "live.js", "text/javascript; charset=utf-8"},
		{"/live.js", "live.js", "text/javascript; charset=utf-8"},
		{"/api/live/protocol_gen.js", "protocol_gen.js", "text/javascript; charset=utf-8"},
		{"/client.d.ts", "live.d.ts", "application/typescript; charset=utf-8"},
		{"/x/live.d.ts", "live.d.ts", "application/typescript; charset=utf-8"},
	}
	for _, tc := range tests {
		t.Run(tc.path, func(t *testing.T) {
			res := get(t, http.MethodGet, tc.path, nil)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != http.StatusOK {
				t.Fatalf("status %d", res.StatusCode)
			}
			if !bytes.Equal(body, readFile(t, tc.file)) {
				t.Errorf("body differs from %s", tc.file)
			}
			for k, want := range map[string]string{
				"Content-Type":           tc.contentType,
				"Cache-Control":          "no-cache",
				"X-Content-Type-Options": "nosniff",
				"Vary":                   "Accept-Encoding",
				"Content-Length":         strconv.Itoa(len(body)),
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
			if et := res.Header.Get("ETag"); !strings.HasPrefix(et, `"`) || !strings.HasSuffix(et, `"`) || len(et) < 10 {
				t.Errorf("ETag = %q, want a strong quoted tag", et)
			}
		})
	}
}

func TestHandlerErrors(t *testing.T) {
	tests := []struct {
		name, method, path string
		status             int
		allow              string
	}{
		{"unknown file", http.MethodGet, "/api/live/other.js", http.StatusNotFound, ""},
		{"directory", http.MethodGet, "/api/live/", http.StatusNotFound, ""},
		{"post", http.MethodPost, "/client.js", http.StatusMethodNotAllowed, "GET, HEAD"},
		{"delete", http.MethodDelete, "/protocol_gen.js", http.StatusMethodNotAllowed, "GET, HEAD"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := get(t, tc.method, tc.path, nil)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if got := res.Header.Get("Allow"); got != tc.allow {
				t.Errorf("Allow = %q, want %q", got, tc.allow)
			}
		})
	}
}

func TestHandlerHead(t *testing.T) {
	res := get(t, http.MethodHead, "/client.js", nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || len(body) != 0 {
		t.Fatalf("HEAD: status %d, %d body bytes", res.StatusCode, len(body))
	}
	if got, want := res.Header.Get("Content-Length"), strconv.Itoa(len(readFile(t, "live.js"))); got != want {
		t.Errorf("Content-Length = %s, want %s", got, want)
	}
}

func TestHandlerConditional(t *testing.T) {
	etag := get(t, http.MethodGet, "/client.js", nil).Header.Get("ETag")
	gzETag := get(t, http.MethodGet, "/client.js", map[string]string{"Accept-Encoding": "gzip"}).Header.Get("ETag")
	if etag == gzETag {
		t.Fatalf("identity and gzip representations share ETag %s", etag)
	}
	otherETag := get(t, http.MethodGet, "/protocol_gen.js", nil).Header.Get("ETag")
	tests := []struct {
		name, inm, enc string
		status         int
	}{
		{"exact", etag, "", http.StatusNotModified},
		{"weak form", "W/" + etag, "", http.StatusNotModified},
		{"in a list", `"nope", ` + etag, "", http.StatusNotModified},
		{"star", "*", "", http.StatusNotModified},
		{"stale", `"old"`, "", http.StatusOK},
		{"other file's tag", otherETag, "", http.StatusOK},
		{"gzip tag with gzip", gzETag, "gzip", http.StatusNotModified},
		{"identity tag with gzip", etag, "gzip", http.StatusOK},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := map[string]string{"If-None-Match": tc.inm}
			if tc.enc != "" {
				h["Accept-Encoding"] = tc.enc
			}
			res := get(t, http.MethodGet, "/client.js", h)
			body, _ := io.ReadAll(res.Body)
			if res.StatusCode != tc.status {
				t.Fatalf("status %d, want %d", res.StatusCode, tc.status)
			}
			if tc.status == http.StatusNotModified {
				if len(body) != 0 || res.Header.Get("ETag") == "" || res.Header.Get("Cache-Control") != "no-cache" {
					t.Errorf("304 must have no body, keep ETag and Cache-Control: %q %v", body, res.Header)
				}
			}
		})
	}
}

func TestHandlerGzip(t *testing.T) {
	tests := []struct {
		accept string
		gz     bool
	}{
		{"gzip", true},
		{"br, gzip;q=0.5", true},
		{"GZIP", true},
		{"x-gzip", true},
		{"*", true},
		{"gzip;q=0", false},
		{"gzip;q=0, *", false},
		{"*;q=0", false},
		{"identity", false},
		{"", false},
		{"gzip;q=bogus", false},
	}
	want := readFile(t, "live.js")
	for _, tc := range tests {
		t.Run(tc.accept, func(t *testing.T) {
			res := get(t, http.MethodGet, "/client.js", map[string]string{"Accept-Encoding": tc.accept})
			body, _ := io.ReadAll(res.Body)
			if got := res.Header.Get("Content-Encoding") == "gzip"; got != tc.gz {
				t.Fatalf("gzip = %v, want %v", got, tc.gz)
			}
			if tc.gz {
				zr, err := gzip.NewReader(bytes.NewReader(body))
				if err != nil {
					t.Fatal(err)
				}
				if body, err = io.ReadAll(zr); err != nil {
					t.Fatal(err)
				}
			}
			if !bytes.Equal(body, want) {
				t.Error("decoded body differs from live.js")
			}
		})
	}
}

// TestModuleImportsAreRelative guards the serving contract: live.js must
// import its constants relatively so they resolve next to client.js under any
// prefix, and the embedded files must be the ones on disk.
func TestModuleImportsAreRelative(t *testing.T) {
	src := string(readFile(t, "live.js"))
	for _, line := range strings.Split(src, "\n") {
		if strings.HasPrefix(line, "import ") || (strings.HasPrefix(line, "export ") && strings.Contains(line, " from ")) {
			if !strings.Contains(line, "from './protocol_gen.js'") {
				t.Errorf("unexpected import: %s", line)
			}
		}
	}
	for _, f := range []string{"live.js", "protocol_gen.js", "live.d.ts"} {
		emb, err := files.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(emb, readFile(t, f)) {
			t.Errorf("embedded %s differs from the file on disk", f)
		}
	}
}

func TestETagMatch(t *testing.T) {
	const tag = `"abc"`
	tests := []struct {
		values []string
		want   bool
	}{
		{nil, false},
		{[]string{""}, false},
		{[]string{`"abc"`}, true},
		{[]string{`W/"abc"`}, true},
		{[]string{`"x"`, ` "abc" `}, true},
		{[]string{`"x","abc"`}, true},
		{[]string{`"abcd"`}, false},
		{[]string{`abc`}, false},
		{[]string{`*`}, true},
	}
	for _, tc := range tests {
		if got := etagMatch(tc.values, tag); got != tc.want {
			t.Errorf("etagMatch(%q) = %v, want %v", tc.values, got, tc.want)
		}
	}
}

func BenchmarkHandler(b *testing.B) {
	all, err := loadAssets()
	if err != nil {
		b.Fatal(err)
	}
	cases := []struct {
		name   string
		header map[string]string
	}{
		{"200-gzip", map[string]string{"Accept-Encoding": "gzip, deflate, br"}},
		{"200-identity", nil},
		{"304", map[string]string{"Accept-Encoding": "gzip", "If-None-Match": all["client.js"].gzETag}},
	}
	h := Handler()
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, "/api/live/client.js", nil)
			for k, v := range c.header {
				req.Header.Set(k, v)
			}
			w := &discardWriter{h: make(http.Header, 8)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
		})
	}
}

// discardWriter is a ResponseWriter that drops the body.
type discardWriter struct {
	h      http.Header
	status int
}

func (w *discardWriter) Header() http.Header         { return w.h }
func (w *discardWriter) Write(p []byte) (int, error) { return len(p), nil }
func (w *discardWriter) WriteHeader(code int)        { w.status = code }
