package live_test

import (
	"context"
	"fmt"
	"log"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"time"

	live "github.com/live-go/live"
	"github.com/live-go/live/client"
)

// actionCounter counts actions and failures; NopObserver supplies the
// other events.
type actionCounter struct {
	live.NopObserver
	calls, failed atomic.Int64
}

func (a *actionCounter) ActionDone(e live.ActionEvent) {
	a.calls.Add(1)
	if e.Err != nil {
		a.failed.Add(1)
	}
}

// An Observer that implements one event; the others are no-ops.
func ExampleObserver() {
	obs := &actionCounter{}
	srv, err := live.New(live.Options{Observer: obs, StateSecret: []byte("an-example-secret-of-32-bytes!!!")})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment", "fail"}}); err != nil {
		log.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	counter, err := c.Mount(ctx, "Counter", nil)
	if err != nil {
		log.Fatal(err)
	}
	_, _ = counter.Call(ctx, "increment", nil)
	_, _ = counter.Call(ctx, "fail", nil)
	fmt.Println(obs.calls.Load(), "calls,", obs.failed.Load(), "failed")
	// Output: 2 calls, 1 failed
}
