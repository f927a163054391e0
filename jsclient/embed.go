package jsclient

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed live.js protocol_gen.js live.d.ts
var files embed.FS

// CacheControl is the Cache-Control value of every served file. The files
// are revalidated on each use (cheap 304s thanks to the ETag) instead of being
// cached for a fixed time, because client.js and protocol_gen.js are fetched
// under unversioned URLs and must always match each other and the running
// server.
const CacheControl = "no-cache"

// asset is one servable file with its precomputed representations.
type asset struct {
	body, gz     []byte
	etag, gzETag string
	contentType  string
}

// routes maps the last path segment of a request to the embedded file.
var routes = map[string]struct{ file, contentType string }{
	"client.js":       {"live.js", "text/javascript; charset=utf-8"},
	"live.js":         {"live.js", "text/javascript; charset=utf-8"},
	"protocol_gen.js": {"protocol_gen.js", "text/javascript; charset=utf-8"},
	"client.d.ts":     {"live.d.ts", "application/typescript; charset=utf-8"},
	"live.d.ts":       {"live.d.ts", "application/typescript; charset=utf-8"},
}

var (
	assetsOnce sync.Once
	assets     map[string]*asset
	assetsErr  error
)

// loadAssets reads and compresses the embedded files once.
func loadAssets() (map[string]*asset, error) {
	assetsOnce.Do(func() {
		byFile := make(map[string]*asset)
		assets = make(map[string]*asset, len(routes))
		for name, r := range routes {
			a, ok := byFile[r.file]
			if !ok {
				var err error
				if a, err = newAsset(r.file, r.contentType); err != nil {
					assetsErr = err
					return
				}
				byFile[r.file] = a
			}
			assets[name] = a
		}
	})
	return assets, assetsErr
}

func newAsset(file, contentType string) (*asset, error) {
	body, err := files.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("jsclient: read %s: %w", file, err)
	}
	var gz bytes.Buffer
	w, err := gzip.NewWriterLevel(&gz, gzip.BestCompression)
	if err != nil {
		return nil, fmt.Errorf("jsclient: gzip %s: %w", file, err)
	}
	if _, err := w.Write(body); err != nil {
		return nil, fmt.Errorf("jsclient: gzip %s: %w", file, err)
	}
	if err := w.Close(); err != nil {
		return nil, fmt.Errorf("jsclient: gzip %s: %w", file, err)
	}
	sum := sha256.Sum256(body)
	tag := base64.RawURLEncoding.EncodeToString(sum[:18])
	return &asset{
		body:        body,
		gz:          gz.Bytes(),
		etag:        `"` + tag + `"`,
		gzETag:      `"` + tag + `-gz"`,
		contentType: contentType,
	}, nil
}

// Handler returns an http.Handler serving the embedded client by the last
// segment of the request path: client.js (live.js), protocol_gen.js and
// client.d.ts (live.d.ts; live.js and live.d.ts are accepted too). Other
// names get 404, methods other than GET and HEAD get 405.
//
// Responses carry Content-Type (text/javascript for the modules), a strong
// ETag of the content, Cache-Control: no-cache (see [CacheControl]),
// X-Content-Type-Options: nosniff and Vary: Accept-Encoding; a matching
// If-None-Match is answered 304, and clients accepting gzip get the
// precompressed body.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	all, err := loadAssets()
	if err != nil {
		http.Error(w, "client unavailable", http.StatusInternalServerError)
		return
	}
	a, ok := all[path.Base(r.URL.Path)]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	body, etag := a.body, a.etag
	gz := acceptsGzip(r.Header.Values("Accept-Encoding"))
	if gz {
		body, etag = a.gz, a.gzETag
	}
	h := w.Header()
	h.Set("Cache-Control", CacheControl)
	h.Set("ETag", etag)
	h.Set("Vary", "Accept-Encoding")
	h.Set("X-Content-Type-Options", "nosniff")
	if etagMatch(r.Header.Values("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Type", a.contentType)
	if gz {
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	if r.Method == http.MethodHead {
		return
	}
	_, _ = w.Write(body)
}

// etagMatch reports whether an If-None-Match header list matches etag,
// using the weak comparison RFC 9110 §13.1.2 prescribes ("*" matches any).
func etagMatch(values []string, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			t := strings.TrimSpace(part)
			if t == "*" || strings.TrimPrefix(t, "W/") == want {
				return true
			}
		}
	}
	return false
}

// acceptsGzip reports whether Accept-Encoding allows gzip: an explicit
// "gzip" (or "x-gzip") coding decides by its q value (0 = refused); without
// one, a "*" coding does.
func acceptsGzip(values []string) bool {
	explicit, star := -1.0, -1.0
	for _, v := range values {
		for part := range strings.SplitSeq(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q, _ := qValue(params)
			switch strings.ToLower(strings.TrimSpace(coding)) {
			case "gzip", "x-gzip":
				explicit = max(explicit, q)
			case "*":
				star = max(star, q)
			}
		}
	}
	if explicit >= 0 {
		return explicit > 0
	}
	return star > 0
}

// qValue returns the q parameter of an Accept-Encoding element.
func qValue(params string) (float64, bool) {
	for p := range strings.SplitSeq(params, ";") {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue
		}
		q, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || !(q >= 0 && q <= 1) {
			return 0, true // malformed q: treat as "not acceptable"
		}
		return q, true
	}
	return 1, false
}
