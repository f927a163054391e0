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

// pageCSP is the Content-Security-Policy of the page: its own inline script
// and style (allowed by hash), scripts from its origin (the client module),
// images from its origin (uploads), and connections to its origin.
var pageCSP = buildCSP(page)

// Demo is one demo: the stores its components share and the HTTP handler
// that serves the page and the uploaded files. Create it with New, pass
// its Options to live.New, then Register the components on the server and
// serve Handler.
type Demo struct {
	todos *todoStore
	files *fileStore
	chat  *chatHub // created by Register: the hub needs the server
}

// New returns a demo with empty stores.
func New() *Demo {
	return &Demo{todos: &todoStore{}, files: newFileStore()}
}

// Options returns o with the demo's server settings: uploads of
// UploadTypes images up to MaxUploadSize, kept in the demo's memory.
func (d *Demo) Options(o live.Options) live.Options {
	return d.withUploads(o)
}

// Register adds the demo's components to s: Counter (per connection),
// TodoList (singleton), Chat (per connection, joins LobbyRoom) and Gallery
// (singleton, receives uploads). A Demo is registered on one server.
func (d *Demo) Register(s *live.Server) error {
	d.chat = newChatHub(s)
	if err := registerComponents(s, d.todos, d.chat, d.files); err != nil {
		return err
	}
	// The reference benchmark components, so "live bench" measures the demo
	// the way shared/reference-bench.md measured the reference.
	return RegisterBench(s)
}

// Register adds the demo's components to s with stores of their own, as
// New().Register(s) does. Uploaded files are served only by the Handler of
// the same Demo: use New to run the whole demo.
func Register(s *live.Server) error {
	return New().Register(s)
}

// Handler returns the demo's HTTP handler: the page at "/" (GET and HEAD),
// uploaded files under FilesPath, srv under live.DefaultPrefix + "/" (the
// WebSocket at /api/live/ws, the client at /api/live/client.js, the stats
// at /api/live/stats), and 404 for every other path. The page uses those
// paths, so srv must use the default Options.Prefix.
func (d *Demo) Handler(srv *live.Server) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(live.DefaultPrefix+"/", srv)
	mux.HandleFunc("GET /{$}", servePage)
	mux.Handle("GET "+FilesPath+"{name}", d.files)
	return mux
}

// Wait blocks until the background work of the demo's components is done.
// Call it after Server.Shutdown, before the process exits.
func (d *Demo) Wait() {
	if d.chat != nil {
		d.chat.wg.Wait()
	}
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

// buildCSP returns a policy allowing exactly the first inline <script> and
// <style> blocks of html, by their SHA-256 hashes, plus same-origin
// scripts, images and connections.
func buildCSP(html []byte) string {
	return "default-src 'none'; " +
		"script-src 'self' " + inlineHash(html, "script") + "; " +
		"style-src " + inlineHash(html, "style") + "; " +
		"connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
}

// inlineHash returns the CSP source expression ('sha256-…') of the body of
// the first <tag> or <tag attributes…> element of html, or 'none' if there
// is none (or it is not closed).
func inlineHash(html []byte, tag string) string {
	rest := html
	for {
		i := bytes.Index(rest, []byte("<"+tag))
		if i < 0 {
			return "'none'"
		}
		rest = rest[i+1+len(tag):]
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
