package liveecho

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	live "github.com/live-go/live"
)

// serveThrough runs handler with an Echo context whose IdentityKey holds
// value (unless nil) and returns the request the wrapped server saw.
func serveThrough(t *testing.T, value any) *http.Request {
	t.Helper()
	var got *http.Request
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/api/live/stats", nil), httptest.NewRecorder())
	if value != nil {
		c.Set(IdentityKey, value)
	}
	if err := handler(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { got = r }))(c); err != nil {
		t.Fatalf("handler: %v", err)
	}
	if got == nil {
		t.Fatal("the server saw no request")
	}
	return got
}

func TestHandlerIdentityValue(t *testing.T) {
	tests := []struct {
		name  string
		value any
		want  string // "" = no identity
	}{
		{"pointer", &live.Identity{ID: "p"}, "p"},
		{"value", live.Identity{ID: "v"}, "v"},
		{"nil pointer", (*live.Identity)(nil), ""},
		{"wrong type", "alice", ""},
		{"not set", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id := IdentityFromContext(serveThrough(t, tt.value).Context())
			switch {
			case tt.want == "" && id != nil:
				t.Fatalf("identity = %+v, want none", id)
			case tt.want != "" && (id == nil || id.ID != tt.want):
				t.Fatalf("identity = %+v, want ID %q", id, tt.want)
			}
		})
	}
}

func TestIdentify(t *testing.T) {
	alice := &live.Identity{ID: "alice"}
	tests := []struct {
		name string
		ctx  func() context.Context
		req  func() *live.Request
		want string
	}{
		{"nothing carried", context.Background, func() *live.Request { return &live.Request{} }, ""},
		{"nil request", context.Background, func() *live.Request { return nil }, ""},
		{"from ctx", func() context.Context { return serveThrough(t, alice).Context() },
			func() *live.Request { return &live.Request{} }, "alice"},
		{"from the request's context", context.Background,
			func() *live.Request { return &live.Request{HTTP: serveThrough(t, alice)} }, "alice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := Identify(tt.ctx(), tt.req())
			if err != nil {
				t.Fatalf("Identify: %v", err)
			}
			got := ""
			if id != nil {
				got = id.ID
			}
			if got != tt.want {
				t.Fatalf("Identify = %q, want %q", got, tt.want)
			}
		})
	}
}
