package livetest_test

import (
	"context"
	"errors"
	"sync"
	"time"

	live "github.com/live-go/live"
)

// Counter is the test kit's own test component.
type Counter struct {
	live.Base
	Count int    `json:"count"`
	Step  int    `json:"step"`
	Label string `json:"label"`
}

type AddArgs struct {
	N int `json:"n"`
}

func (c *Counter) Increment(*live.Ctx) error { c.Count += max(c.Step, 1); return nil }

func (c *Counter) Add(_ *live.Ctx, a AddArgs) (int, error) {
	if a.N < 0 {
		return 0, &live.Error{Message: "n must not be negative"}
	}
	c.Count += a.N
	return c.Count, nil
}

func (c *Counter) Notify(*live.Ctx) error {
	return c.Emit("counted", map[string]int{"count": c.Count})
}

func (c *Counter) Shout(_ *live.Ctx, a struct {
	Text string `json:"text"`
}) error {
	return c.Broadcast("shout", a.Text)
}

func (c *Counter) Whoami(ctx *live.Ctx) (string, error) {
	if id := ctx.Identity(); id != nil {
		return id.ID, nil
	}
	return "anonymous", nil
}

func (c *Counter) Secret(*live.Ctx) error { return nil }

func registerCounter(s *live.Server) error {
	return live.Register(s, live.Component[Counter]{
		Name:       "Counter",
		Actions:    []string{"increment", "add", "notify", "shout", "whoami", "secret"},
		Writable:   []string{"step"},
		ActionAuth: map[string]live.AuthRule{"secret": {Required: true}},
	})
}

// Vault needs an authenticated caller with role "admin".
type Vault struct {
	live.Base
	Secret string `json:"secret"`
}

func registerVault(s *live.Server) error {
	return live.Register(s, live.Component[Vault]{
		Name: "Vault",
		Auth: &live.AuthRule{Required: true, Roles: []string{"admin"}},
		New:  func() *Vault { return &Vault{Secret: "s3cret"} },
	})
}

// Board is a singleton shared by every connection.
type Board struct {
	live.Base
	Notes []string `json:"notes"`
}

func (b *Board) Post(_ *live.Ctx, a struct {
	Text string `json:"text"`
}) error {
	b.Notes = append(b.Notes, a.Text)
	return nil
}

func registerBoard(s *live.Server) error {
	return live.Register(s, live.Component[Board]{
		Name:      "Board",
		Actions:   []string{"post"},
		Singleton: true,
		New:       func() *Board { return &Board{Notes: []string{}} },
	})
}

// Clock ticks once every period (a second by default) from a timer,
// through Base.Update.
type Clock struct {
	live.Base
	Ticks int `json:"ticks"`

	every time.Duration
	mu    sync.Mutex
	timer *time.Timer
}

func (c *Clock) OnMount(*live.Ctx) error {
	c.schedule()
	return nil
}

func (c *Clock) schedule() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer = time.AfterFunc(c.every, func() {
		if err := c.Update(func() { c.Ticks++ }); err == nil {
			c.schedule()
		}
	})
}

func (c *Clock) OnDestroy() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.timer.Stop()
}

func registerClock(s *live.Server) error { return registerClockEvery(time.Second)(s) }

func registerClockEvery(d time.Duration) func(*live.Server) error {
	return func(s *live.Server) error {
		return live.Register(s, live.Component[Clock]{Name: "Clock", New: func() *Clock { return &Clock{every: d} }})
	}
}

// Lifecycle records its hooks in a log shared with the test.
type Lifecycle struct {
	live.Base
	log *hookLog
}

func (l *Lifecycle) OnDisconnect(*live.Ctx) { l.log.add("disconnect") }
func (l *Lifecycle) OnDestroy()             { l.log.add("destroy") }

type hookLog struct {
	mu    sync.Mutex
	items []string
}

func (h *hookLog) add(s string) {
	h.mu.Lock()
	h.items = append(h.items, s)
	h.mu.Unlock()
}

func (h *hookLog) get() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.items...)
}

// Arena is a typed room; Player joins it server-side.
type Arena struct {
	live.RoomBase
	Round int `json:"round"`
}

type Player struct{ live.Base }

type ArenaArgs struct {
	Arena string `json:"arena"`
}

func (p *Player) Enter(_ *live.Ctx, a ArenaArgs) error {
	return p.JoinRoom("arena:" + a.Arena).Join(nil)
}

func (p *Player) Cheer(_ *live.Ctx, a ArenaArgs) error {
	return p.JoinRoom("arena:"+a.Arena).Emit("cheer", map[string]any{"loud": true}, live.IncludeSelf())
}

func (p *Player) NextRound(_ *live.Ctx, a ArenaArgs) error {
	return live.UpdateRoom(p.JoinRoom("arena:"+a.Arena), func(r *Arena) error { r.Round++; return nil })
}

func registerArena(s *live.Server) error {
	if err := live.RegisterRoom(s, live.Room[Arena]{Name: "arena"}); err != nil {
		return err
	}
	return live.Register(s, live.Component[Player]{Name: "Player", Actions: []string{"enter", "cheer", "nextRound"}})
}

// refuseAll is an Identify function that refuses every connection.
func refuseAll(context.Context, *live.Request) (*live.Identity, error) {
	return nil, errors.New("no session")
}
