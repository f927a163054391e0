package livegin_test

import (
	"log"

	"github.com/gin-gonic/gin"

	live "github.com/live-go/live"
	livegin "github.com/live-go/live/adapters/gin"
)

// Counter is the component of the example.
type Counter struct {
	live.Base
	Count int `json:"count"`
}

// Increment adds one.
func (c *Counter) Increment(*live.Ctx) error {
	c.Count++
	return nil
}

// Serving live with Gin, the caller's identity coming from a Gin
// middleware.
func Example() {
	srv, err := live.New(live.Options{
		AllowedOrigins: []string{"https://app.example"},
		Identify:       livegin.Identify, // the identity the middleware set
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		log.Fatal(err)
	}

	r := gin.New()
	r.Use(func(c *gin.Context) {
		user := c.GetHeader("X-User") // stands for a real session lookup
		if user == "" {
			c.AbortWithStatus(401)
			return
		}
		c.Set(livegin.IdentityKey, &live.Identity{ID: user})
		c.Next()
	})
	livegin.Mount(r, live.DefaultPrefix, srv) // WebSocket at /api/live/ws, SSE, long-polling, client.js
	log.Fatal(r.Run("127.0.0.1:8080"))
}
