package liveprom_test

import (
	"log"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	live "github.com/live-go/live"
	"github.com/live-go/live/liveprom"
)

// A server whose events and Stats are exported at /metrics.
func Example() {
	reg := prometheus.NewRegistry()
	obs, err := liveprom.New(reg)
	if err != nil {
		log.Fatal(err)
	}
	srv, err := live.New(live.Options{Observer: obs})
	if err != nil {
		log.Fatal(err)
	}
	reg.MustRegister(liveprom.NewCollector(srv))

	mux := http.NewServeMux()
	mux.Handle("/api/live/", srv)
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	_ = http.ListenAndServe("127.0.0.1:8080", mux)
}
