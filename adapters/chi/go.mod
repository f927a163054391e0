module github.com/live-go/live/adapters/chi

go 1.26

require (
	github.com/go-chi/chi/v5 v5.5.0
	github.com/live-go/live v0.0.0
	go.uber.org/goleak v1.3.0
)

require github.com/coder/websocket v1.8.15 // indirect

replace github.com/live-go/live => ../..
