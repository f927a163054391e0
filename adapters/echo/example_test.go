package liveecho_test

import (
	"log"

	"github.com/labstack/echo/v4"

	live "github.com/live-go/live"
	liveecho "github.com/live-go/live/adapters/echo"
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

// Serving live with Echo, the caller's identity coming from an Echo
// middleware.
func Example() {
	srv, err := live.New(live.Options{
		AllowedOrigins: []string{"https://app.example"},
		Identify:       liveecho.Identify, // the identity the middleware set
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		log.Fatal(err)
	}

	e := echo.New()
	e.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			user := c.Request().Header.Get("X-User") // stands for a real session lookup
			if user == "" {
				return echo.ErrUnauthorized
			}
			c.Set(liveecho.IdentityKey, &live.Identity{ID: user})
			return next(c)
		}
	})
	liveecho.Mount(e, live.DefaultPrefix, srv) // WebSocket at /api/live/ws, SSE, long-polling, client.js
	log.Fatal(e.Start("127.0.0.1:8080"))
}
