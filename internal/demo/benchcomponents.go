package demo

import (
	"encoding/json"
	"sync/atomic"

	live "github.com/live-go/live"
)

// The benchmark components of shared/reference-bench.md, so that "live
// bench" measures the demo exactly as it measured the reference:
// SingletonCounter is Counter as a singleton; SharedCounter instances each
// belong to one connection and mirror a count shared through the room
// "shared-counter".

// SharedCounterRoom is the room every SharedCounter joins.
const SharedCounterRoom = "shared-counter"

// SharedCounter is a per-connection counter whose count is shared by every
// instance through a room: an increment from any instance reaches all of
// them as a room event, and each instance mirrors it into its own state.
type SharedCounter struct {
	live.Base
	Count      int     `json:"count"`
	LastAction *string `json:"lastAction"`
	shared     *atomic.Int64
}

// OnMount joins the room and starts mirroring its count.
func (c *SharedCounter) OnMount(ctx *live.Ctx) error {
	h := c.JoinRoom(SharedCounterRoom)
	if err := h.Join(nil); err != nil {
		return err
	}
	c.Count = int(c.shared.Load())
	_, err := h.On("counter:update", func(ctx *live.Ctx, data json.RawMessage) {
		var n int
		if json.Unmarshal(data, &n) == nil && n > c.Count {
			c.Count = n
			c.LastAction = &actionIncrement
		}
	})
	return err
}

var actionIncrement = "increment"

// Increment bumps the shared count and tells every other instance.
func (c *SharedCounter) Increment(ctx *live.Ctx) (CountResult, error) {
	n := int(c.shared.Add(1))
	if n > c.Count {
		c.Count = n
	}
	c.LastAction = &actionIncrement
	if err := c.JoinRoom(SharedCounterRoom).Emit("counter:update", n); err != nil {
		return CountResult{}, err
	}
	return CountResult{Success: true, Count: n}, nil
}

// RegisterBench registers SingletonCounter and SharedCounter on s.
func RegisterBench(s *live.Server) error {
	if err := live.Register(s, live.Component[Counter]{
		Name:      "SingletonCounter",
		Actions:   []string{"increment", "decrement", "reset"},
		Singleton: true,
	}); err != nil {
		return err
	}
	shared := new(atomic.Int64)
	return live.Register(s, live.Component[SharedCounter]{
		Name:    "SharedCounter",
		Actions: []string{"increment"},
		New:     func() *SharedCounter { return &SharedCounter{shared: shared} },
	})
}
