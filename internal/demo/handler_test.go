package demo

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	h, _ := newDemoHandler(t)
	return h
}

// newDemoHandler returns the handler of a new Demo on a new server, and the
// Demo.
func newDemoHandler(t *testing.T) (http.Handler, *Demo) {
	t.Helper()
	d := New()
	srv, err := live.New(d.Options(live.Options{StateSecret: []byte(testSecret)}))
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Register(srv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return d.Handler(srv), d
}

func TestHandlerRoutes(t *testing.T) {
	h := newHandler(t)
	tests := []struct {
		method, path string
		status       int
		page         bool
	}{
		{method: "GET", path: "/", status: 200, page: true},
		{method: "HEAD", path: "/", status: 200},
		{method: "POST", path: "/", status: 405},
		{method: "GET", path: "/index.html", status: 404},
		{method: "GET", path: "/favicon.ico", status: 404},
		{method: "GET", path: "/api/live/nope", status: 404},
		{method: "GET", path: "/api/live/client.js", status: 200},
		{method: "GET", path: "/api/live/stats", status: 200},
		{method: "GET", path: "/uploads/", status: 404},
		{method: "GET", path: "/uploads/0123456789abcdef01234567.png", status: 404},
		{method: "GET", path: "/uploads/a/b.png", status: 404},
		// Reaches the live server: a plain GET is not a WebSocket upgrade.
		{method: "GET", path: "/api/live/ws", status: 426},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tt.status, rec.Body.String())
			}
			if !tt.page {
				return
			}
			body, _ := io.ReadAll(rec.Body)
			if string(body) != string(page) {
				t.Fatal("body is not the embedded page")
			}
			for k, v := range map[string]string{
				"Content-Type":            "text/html; charset=utf-8",
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": pageCSP,
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
}

func TestPageUsesTheClient(t *testing.T) {
	// The page is JavaScript we cannot run here (the e2e module runs it in
	// Chromium); check that it uses the embedded client and every panel's
	// component and actions.
	for _, want := range []string{
		`<script type="module">`, `import { connect } from "/api/live/client.js"`, `/api/live/ws`,
		`"/api/live/stats"`, `sessionStorage`,
		`panel("Counter"`, `"increment"`, `"decrement"`, `"reset"`,
		`panel("TodoList"`, `"addTodo"`, `"toggleTodo"`,
		`panel("Chat"`, `"join"`, `"send"`,
		`panel("Gallery"`, `.upload(file`, `onProgress`,
		`textContent`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page does not contain %s", want)
		}
	}
	for _, bad := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", " style=\""} {
		if strings.Contains(string(page), bad) {
			t.Errorf("page uses %s: render text with textContent, style with the CSSOM", bad)
		}
	}
}

func TestCSPHashesInlineBlocks(t *testing.T) {
	hash := func(s string) string {
		sum := sha256.Sum256([]byte(s))
		return "'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"
	}
	tests := []struct {
		name, html, tag, want string
	}{
		{name: "script", html: "<p><script>let a = 1;</script></p>", tag: "script", want: hash("let a = 1;")},
		{name: "module script", html: `<script type="module">import x from "/x.js";</script>`, tag: "script", want: hash(`import x from "/x.js";`)},
		{name: "longer tag name skipped", html: "<scripts>no</scripts><script>yes</script>", tag: "script", want: hash("yes")},
		{name: "unterminated open tag", html: "<script type=module", tag: "script", want: "'none'"},
		{name: "first of two", html: "<style>a{}</style><style>b{}</style>", tag: "style", want: hash("a{}")},
		{name: "empty block", html: "<script></script>", tag: "script", want: hash("")},
		{name: "missing", html: "<p>hi</p>", tag: "script", want: "'none'"},
		{name: "unclosed", html: "<script>x", tag: "script", want: "'none'"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := inlineHash([]byte(tt.html), tt.tag); got != tt.want {
				t.Errorf("inlineHash = %s, want %s", got, tt.want)
			}
		})
	}
	// The real page has exactly one script and one style block, both
	// allowed by the policy.
	for _, tag := range []string{"script", "style"} {
		if n := strings.Count(string(page), "<"+tag); n != 1 {
			t.Errorf("page has %d <%s> blocks, want 1", n, tag)
		}
		prefix := tag + "-src "
		if tag == "script" {
			prefix += "'self' " // the client module
		}
		if h := inlineHash(page, tag); h == "'none'" || !strings.Contains(pageCSP, prefix+h+";") {
			t.Errorf("CSP %q does not allow the page's %s (%s)", pageCSP, tag, h)
		}
	}
}

func TestServeUploadedFile(t *testing.T) {
	h, d := newDemoHandler(t)
	png := []byte("\x89PNG\r\n\x1a\nnot really")
	url, err := d.files.put("image/png", bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		method, path string
		status       int
		body         []byte
	}{
		{method: "GET", path: url, status: 200, body: png},
		{method: "HEAD", path: url, status: 200},
		{method: "POST", path: url, status: 405},
		{method: "GET", path: url + "x", status: 404},
		{method: "GET", path: strings.Replace(url, "/uploads/", "/uploads/x/", 1), status: 404},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.path, nil))
			if rec.Code != tt.status {
				t.Fatalf("status = %d, want %d", rec.Code, tt.status)
			}
			if tt.status != 200 {
				return
			}
			if !bytes.Equal(rec.Body.Bytes(), tt.body) {
				t.Errorf("body = %q, want %q", rec.Body.Bytes(), tt.body)
			}
			for k, v := range map[string]string{
				"Content-Type":            "image/png",
				"Content-Length":          strconv.Itoa(len(png)),
				"X-Content-Type-Options":  "nosniff",
				"Content-Security-Policy": "default-src 'none'; sandbox",
			} {
				if got := rec.Header().Get(k); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
		})
	}
	d.files.remove(url)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	if rec.Code != 404 {
		t.Errorf("GET after remove = %d, want 404", rec.Code)
	}
}
