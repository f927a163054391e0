package demo

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	live "github.com/live-go/live"
)

func newHandler(t *testing.T) http.Handler {
	t.Helper()
	srv, err := live.New(live.Options{StateSecret: []byte(testSecret)})
	if err != nil {
		t.Fatal(err)
	}
	if err := Register(srv); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return Handler(srv)
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

func TestPageSpeaksProtocol(t *testing.T) {
	// The page is JavaScript we cannot run here; check that it refers to
	// the pieces of the protocol it must use.
	for _, want := range []string{
		`"/api/live/ws"`, `"COMPONENT_MOUNT"`, `"CALL_ACTION"`, `expectResponse: true`,
		`"STATE_UPDATE"`, `"STATE_DELTA"`, `"CONNECTION_ESTABLISHED"`, `Array.isArray(data)`,
		`mount("Counter")`, `mount("TodoList")`, `"increment"`, `"decrement"`, `"reset"`,
		`"addTodo"`, `"toggleTodo"`, `textContent`,
	} {
		if !strings.Contains(string(page), want) {
			t.Errorf("page does not contain %s", want)
		}
	}
	if strings.Contains(string(page), "innerHTML") {
		t.Error("page uses innerHTML: render text with textContent")
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
		if n := strings.Count(string(page), "<"+tag+">"); n != 1 {
			t.Errorf("page has %d <%s> blocks, want 1", n, tag)
		}
		if h := inlineHash(page, tag); h == "'none'" || !strings.Contains(pageCSP, tag+"-src "+h) {
			t.Errorf("CSP %q does not allow the page's %s (%s)", pageCSP, tag, h)
		}
	}
}
