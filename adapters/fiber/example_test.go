package livefiber_test

import (
	"log"

	"github.com/gofiber/fiber/v3"

	live "github.com/live-go/live"
	livefiber "github.com/live-go/live/adapters/fiber"
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

// Serving live with Fiber, the caller's identity coming from a Fiber
// middleware.
func Example() {
	origins := []string{"https://app.example"}
	srv, err := live.New(live.Options{
		AllowedOrigins: origins,
		Identify:       livefiber.Identify, // the identity the middleware set
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}); err != nil {
		log.Fatal(err)
	}

	app := fiber.New()
	app.Use(func(c fiber.Ctx) error {
		user := c.Get("X-User") // stands for a real session lookup
		if user == "" {
			return fiber.ErrUnauthorized
		}
		c.Locals(livefiber.IdentityKey, &live.Identity{ID: user})
		return c.Next()
	})
	// The WebSocket endpoint is served by the adapter: give it the same origins.
	livefiber.Mount(app, live.DefaultPrefix, srv, livefiber.Options{AllowedOrigins: origins})
	log.Fatal(app.Listen("127.0.0.1:8080"))
}
