package livefiber

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	live "github.com/live-go/live"
)

var originCases = []struct {
	name    string
	allowed []string
	origin  string
	host    string
	want    bool
}{
	{"list: listed", []string{"https://a.example", "https://b.example"}, "https://b.example", "srv.example", true},
	{"list: not listed", []string{"https://a.example"}, "https://evil.example", "srv.example", false},
	{"list: no origin", []string{"https://a.example"}, "", "srv.example", false},
	{"list: case matters", []string{"https://a.example"}, "https://A.example", "srv.example", false},
	{"list: star", []string{"*"}, "https://evil.example", "srv.example", true},
	{"list: star, no origin", []string{"https://a.example", "*"}, "", "srv.example", true},
	{"default: no origin", nil, "", "srv.example", true},
	{"default: same host", nil, "http://srv.example:8080", "srv.example:8080", true},
	{"default: same host, other case", nil, "http://SRV.example", "srv.example", true},
	{"default: other port", nil, "http://srv.example:9090", "srv.example:8080", false},
	{"default: other host", nil, "http://evil.example", "srv.example", false},
	{"default: unparsable", nil, "http://[::1", "srv.example", false},
	{"default: null", nil, "null", "srv.example", false},
}

func TestOriginAllowed(t *testing.T) {
	for _, tt := range originCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := originAllowed(tt.allowed, tt.origin, tt.host); got != tt.want {
				t.Fatalf("originAllowed(%q, %q, %q) = %v, want %v", tt.allowed, tt.origin, tt.host, got, tt.want)
			}
		})
	}
}

// TestOriginAllowedMatchesServer checks the cases against the Server's own
// rules (a long-polling open answers 403 to a refused origin), so that the
// copy here notices when the Server's rules change.
func TestOriginAllowedMatchesServer(t *testing.T) {
	for _, tt := range originCases {
		t.Run(tt.name, func(t *testing.T) {
			srv, err := live.New(live.Options{AllowedOrigins: tt.allowed, Logger: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			defer func() {
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				if err := srv.Shutdown(ctx); err != nil {
					t.Errorf("Shutdown: %v", err)
				}
			}()
			req := httptest.NewRequest(http.MethodGet, live.DefaultPrefix+"/http", nil)
			req.Host = tt.host
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			w := httptest.NewRecorder()
			srv.ServeHTTP(w, req)
			served := w.Code != http.StatusForbidden
			if served != tt.want {
				body, _ := io.ReadAll(io.LimitReader(bytes.NewReader(w.Body.Bytes()), 200))
				t.Fatalf("server answered %d (%s), want allowed=%v", w.Code, body, tt.want)
			}
		})
	}
}
