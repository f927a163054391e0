package client_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net/http"
	"time"

	"github.com/live-go/live/client"
)

func ExampleDial() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", &client.Options{
		Header: http.Header{"Cookie": {"session=secret"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	fmt.Println("connected as", c.ConnectionID())
}

func ExampleClient_Mount() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	counter, err := c.Mount(ctx, "Counter", map[string]any{"count": 10}, client.WithRoom("lobby"))
	if err != nil {
		log.Fatal(err)
	}
	counter.OnChange(func(state, delta map[string]any) {
		fmt.Println("count is now", state["count"]) // runs on the reader goroutine: keep it short
	})
	if _, err := counter.Call(ctx, "increment", nil); err != nil {
		log.Fatal(err)
	}
	var s struct {
		Count int `json:"count"`
	}
	if err := counter.Decode(&s); err != nil {
		log.Fatal(err)
	}
	fmt.Println(s.Count)
}

func ExampleComponent_Call() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	todo, err := c.Mount(ctx, "TodoList", nil)
	if err != nil {
		log.Fatal(err)
	}

	result, err := todo.Call(ctx, "add", map[string]string{"text": "write tests"})
	var serr *client.Error
	switch {
	case errors.Is(err, client.ErrRehydrationRequired):
		// The server no longer knows this component: mount it again.
	case errors.As(err, &serr):
		fmt.Println("server refused:", serr.Message)
	case err != nil:
		log.Fatal(err)
	default:
		var added struct {
			ID string `json:"id"`
		}
		_ = json.Unmarshal(result, &added)
		fmt.Println("added", added.ID)
	}
}

func ExampleComponent_WaitFor() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	counter, err := c.Mount(ctx, "Counter", nil)
	if err != nil {
		log.Fatal(err)
	}
	if err := counter.Fire(ctx, "increment", nil); err != nil {
		log.Fatal(err)
	}
	// Fire does not wait; the delta arrives later.
	err = counter.WaitFor(ctx, func(s map[string]any) bool { return s["count"] == 1.0 })
	fmt.Println(err)
}

func ExampleComponent_OnRecover() {
	ctx := context.Background()
	c, err := client.Dial(ctx, "ws://localhost:8080/api/live/ws", &client.Options{
		// Give up after about two minutes without a server.
		Reconnect:     client.ReconnectOptions{MaxAttempts: 10},
		OnStateChange: func(s client.ConnState) { log.Println("connection:", s) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	counter, err := c.Mount(ctx, "Counter", nil)
	if err != nil {
		log.Fatal(err)
	}
	counter.OnRecover(func(r client.Recovery) {
		switch r.Kind {
		case client.RecoveryResumed, client.RecoveryRehydrated:
			// State intact; the handle keeps working (maybe under a new id).
		case client.RecoveryRemounted:
			log.Println("state restarted:", r.Err)
		case client.RecoveryFailed:
			log.Println("component lost:", r.Err)
		}
	})
	// A call interrupted by a connection loss is retried after the
	// reconnection with the same idempotency key: it runs once.
	if _, err := counter.Call(ctx, "increment", nil); errors.Is(err, client.ErrOutcomeUnknown) {
		log.Println("the server restarted during the call; check the state")
	}
}
