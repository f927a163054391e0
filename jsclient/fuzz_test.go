package jsclient

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzETagMatch feeds arbitrary If-None-Match values to the matcher and the
// handler: no panic, an exact tag appended to any list always matches, and
// the handler answers only 200 or 304.
func FuzzETagMatch(f *testing.F) {
	for _, s := range []string{"", "*", `"abc"`, `W/"abc"`, `"a", "b"`, `,,,`, `W/`, "\x00\xff", `"` + strings.Repeat("a", 300) + `"`} {
		f.Add(s)
	}
	all, err := loadAssets()
	if err != nil {
		f.Fatal(err)
	}
	etag := all["client.js"].etag
	f.Fuzz(func(t *testing.T, v string) {
		if !etagMatch([]string{v, etag}, etag) || !etagMatch([]string{v + "," + etag}, etag) {
			t.Fatalf("exact tag after %q not matched", v)
		}
		if etagMatch([]string{v}, etag) && !strings.Contains(v, "*") && !strings.Contains(v, strings.Trim(etag, `"`)) {
			t.Fatalf("%q matched %s without containing it", v, etag)
		}
		req := httptest.NewRequest(http.MethodGet, "/client.js", nil)
		req.Header.Set("If-None-Match", v)
		rec := httptest.NewRecorder()
		Handler().ServeHTTP(rec, req)
		if rec.Code != http.StatusOK && rec.Code != http.StatusNotModified {
			t.Fatalf("status %d for If-None-Match %q", rec.Code, v)
		}
	})
}

// FuzzAcceptEncoding feeds arbitrary Accept-Encoding values to the parser:
// no panic, a gzip response is chosen only if the header mentions gzip or
// "*", other codings never change the decision, and an explicit gzip;q=0
// beats "*".
func FuzzAcceptEncoding(f *testing.F) {
	for _, s := range []string{"", "gzip", "gzip;q=0", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*;q=0", "gzip;q=", ";;;,,,", "x-gzip;Q=0.5", "gzip;q=1e400", "\t gzip \t"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		got := acceptsGzip([]string{v})
		lower := strings.ToLower(v)
		if got && !strings.Contains(lower, "gzip") && !strings.Contains(v, "*") {
			t.Fatalf("gzip accepted for %q", v)
		}
		if acceptsGzip([]string{v, "identity, br;q=0.9"}) != got {
			t.Fatalf("unrelated codings changed the decision for %q", v)
		}
		if !strings.Contains(lower, "gzip") && acceptsGzip([]string{v, "gzip;q=0"}) {
			t.Fatalf("explicit gzip;q=0 after %q did not refuse gzip", v)
		}
	})
}
