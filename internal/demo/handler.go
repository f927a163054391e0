package demo

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"

	live "github.com/live-go/live"
)

//go:embed page.html
var page []byte

// pageCSP is the Content-Security-Policy of the page: nothing but its own
// inline script and style (allowed by hash) and connections to its origin.
var pageCSP = buildCSP(page)

// Handler returns the demo's HTTP handler: the page at "/" (GET and HEAD),
// srv under live.DefaultPrefix + "/" (the WebSocket at /api/live/ws), and
// 404 for every other path. The page connects to /api/live/ws, so srv must
// use the default Options.Prefix.
func Handler(srv *live.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(live.DefaultPrefix+"/", srv)
	mux.HandleFunc("GET /{$}", servePage)
	return mux
}

func servePage(w http.ResponseWriter, _ *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(page)))
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	_, _ = w.Write(page)
}

// buildCSP returns a policy allowing exactly the inline <script> and
// <style> blocks of html, by their SHA-256 hashes.
func buildCSP(html []byte) string {
	return "default-src 'none'; " +
		"script-src " + inlineHash(html, "script") + "; " +
		"style-src " + inlineHash(html, "style") + "; " +
		"connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHash returns the CSP source expression ('sha256-…') of the first
// <tag>…</tag> block of html, or 'none' if there is none.
func inlineHash(html []byte, tag string) string {
	_, rest, ok := bytes.Cut(html, []byte("<"+tag+">"))
	if !ok {
		return "'none'"
	}
	body, _, ok := bytes.Cut(rest, []byte("</"+tag+">"))
	if !ok {
		return "'none'"
	}
	sum := sha256.Sum256(body)
	return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
}
