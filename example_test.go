package live_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"strings"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// Clicker is a minimal live component: Count is public state, clicks is
// server-only.
type Clicker struct {
	live.Base
	Count  int `json:"count"`
	clicks int
}

// Click is the "click" action.
func (c *Clicker) Click(ctx *live.Ctx) (int, error) {
	c.Count++
	c.clicks++
	return c.Count, nil
}

// Example shows a server with one component, and a client talking the raw
// protocol to it.
func Example() {
	srv, err := live.New(live.Options{StateSecret: []byte("an-example-secret-of-32-bytes!!!")})
	if err != nil {
		log.Fatal(err)
	}
	if err := live.Register(srv, live.Component[Clicker]{Name: "Clicker", Actions: []string{"click"}}); err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/api/live/", srv)
	hs := httptest.NewServer(mux)
	defer hs.Close()
	defer srv.Shutdown(context.Background())

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(hs.URL, "http")+"/api/live/ws", nil)
	if err != nil {
		log.Fatal(err)
	}
	defer ws.CloseNow()
	// next returns the next message, splitting array frames.
	var pending []json.RawMessage
	next := func() string {
		for len(pending) == 0 {
			_, b, err := ws.Read(ctx)
			if err != nil {
				log.Fatal(err)
			}
			if b[0] == '[' {
				_ = json.Unmarshal(b, &pending)
			} else {
				pending = append(pending, b)
			}
		}
		m := pending[0]
		pending = pending[1:]
		return string(m)
	}
	next() // CONNECTION_ESTABLISHED

	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"COMPONENT_MOUNT","componentId":"mount-Clicker","payload":{"component":"Clicker"},"requestId":"1"}`))
	next() // STATE_UPDATE with the initial state and its signature
	mounted := next()
	id := mounted[strings.Index(mounted, `"result":{"componentId":"`)+25:][:8]

	_ = ws.Write(ctx, websocket.MessageText, []byte(`{"type":"CALL_ACTION","componentId":"`+id+`","action":"click","payload":{},"requestId":"2","expectResponse":true}`))
	fmt.Println(strings.ReplaceAll(next(), id, "<id>"))
	fmt.Println(strings.ReplaceAll(next(), id, "<id>"))
	// Output:
	// {"type":"STATE_DELTA","componentId":"<id>","payload":{"delta":{"count":1}},"seq":1}
	// {"type":"ACTION_RESPONSE","componentId":"<id>","success":true,"result":1,"requestId":"2"}
}

// ExampleRegister shows a typed payload with validation, a result, and
// fields the client may write.
func ExampleRegister() {
	srv, _ := live.New(live.Options{StateSecret: []byte("an-example-secret-of-32-bytes!!!")})
	err := live.Register(srv, live.Component[Clicker]{
		Name:     "Clicker",
		Actions:  []string{"click"},
		Writable: []string{"count"}, // PROPERTY_UPDATE and mount props may set count
	})
	fmt.Println(err)
	// A method that is not listed cannot be called, and listing a method
	// that does not exist is an error:
	err = live.Register(srv, live.Component[Clicker]{Name: "Other", Actions: []string{"explode"}})
	fmt.Println(err)
	// Output:
	// <nil>
	// live: Register "Other": action "explode" has no method Explode on *live_test.Clicker
}
