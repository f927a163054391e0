package livegin

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	live "github.com/live-go/live"
)

// BenchmarkHandler measures the adapter's work per request: carrying the
// identity into the request's context.
func BenchmarkHandler(b *testing.B) {
	h := handler(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest(http.MethodGet, "/api/live/stats", nil)
	c.Set(IdentityKey, &live.Identity{ID: "alice"})
	b.ReportAllocs()
	for b.Loop() {
		h(c)
	}
}
