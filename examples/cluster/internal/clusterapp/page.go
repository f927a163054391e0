package clusterapp

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"net/http"
	"strconv"
)

//go:embed page.html
var page []byte

// pageCSP allows exactly the page's inline script and style (by hash), the
// client module from the page's origin, and requests to that origin.
var pageCSP = "default-src 'none'; script-src 'self' " + inlineHash(page, "script") +
	"; style-src " + inlineHash(page, "style") +
	"; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// Panel is one column of the page: a node and the path under which the
// page's origin serves it.
type Panel struct {
	// Name is shown as the column's title (the node id).
	Name string `json:"name"`
	// Base is the node's path relative to the page, ending in '/': the
	// node's WebSocket is at Base+"api/live/ws" and its status at
	// Base+"cluster".
	Base string `json:"base"`
}

// PageHandler serves the page. The page reads its panels from "./panels"
// (PanelsHandler) and loads the browser client from the first panel's
// node.
func PageHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Length", strconv.Itoa(len(page)))
		h.Set("Cache-Control", "no-cache")
		h.Set("Content-Security-Policy", pageCSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		_, _ = w.Write(page)
	})
}

// PanelsHandler serves panels as JSON.
func PanelsHandler(panels []Panel) http.Handler {
	panels = append([]Panel(nil), panels...)
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, panels) })
}

// inlineHash returns the CSP source ('sha256-…') of the body of the first
// <tag> element of html, or 'none' when there is none.
func inlineHash(html []byte, tag string) string {
	open := []byte("<" + tag)
	rest := html
	for {
		i := bytes.Index(rest, open)
		if i < 0 {
			return "'none'"
		}
		rest = rest[i+len(open):]
		if len(rest) > 0 && (rest[0] == '>' || rest[0] == ' ') {
			break
		}
	}
	_, rest, ok := bytes.Cut(rest, []byte(">"))
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
