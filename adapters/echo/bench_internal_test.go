package liveecho

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/labstack/echo/v4"

	live "github.com/live-go/live"
)

// BenchmarkHandler measures the adapter's work per request: carrying the
// identity into the request's context.
func BenchmarkHandler(b *testing.B) {
	h := handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c := echo.New().NewContext(httptest.NewRequest(http.MethodGet, "/api/live/stats", nil), httptest.NewRecorder())
	c.Set(IdentityKey, &live.Identity{ID: "alice"})
	b.ReportAllocs()
	for b.Loop() {
		if err := h(c); err != nil {
			b.Fatal(err)
		}
	}
}
