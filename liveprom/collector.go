package liveprom

import (
	"github.com/prometheus/client_golang/prometheus"

	live "github.com/live-go/live"
)

// Collector exports a live.Server's Stats, read at scrape time, as
// snapshot gauges (components, rooms, send-queue bytes) and the write
// counters. Stats visits every connection, so a scrape costs one pass over
// them. Register it next to the Observer:
//
//	reg.MustRegister(liveprom.NewCollector(srv))
type Collector struct {
	srv *live.Server
}

var _ prometheus.Collector = (*Collector)(nil)

// NewCollector returns a Collector reading srv.Stats.
func NewCollector(srv *live.Server) *Collector { return &Collector{srv: srv} }

var (
	descComponents = prometheus.NewDesc("live_components",
		"Component instances alive now (singletons count once).", nil, nil)
	descRooms = prometheus.NewDesc("live_rooms",
		"Rooms on this node now.", nil, nil)
	descQueued = prometheus.NewDesc("live_send_queue_bytes",
		"Bytes waiting in all send queues now.", nil, nil)
	descMaxQueued = prometheus.NewDesc("live_send_queue_max_bytes",
		"Bytes waiting in the fullest send queue now.", nil, nil)
	descFrames = prometheus.NewDesc("live_frames_written_total",
		"Frames written to connections.", nil, nil)
	descBytes = prometheus.NewDesc("live_bytes_written_total",
		"Bytes written to connections.", nil, nil)
)

// Describe sends the descriptors of the Collector's metrics.
func (c *Collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descComponents, descRooms, descQueued, descMaxQueued, descFrames, descBytes} {
		ch <- d
	}
}

// Collect reads the server's Stats and sends the metrics.
func (c *Collector) Collect(ch chan<- prometheus.Metric) {
	st := c.srv.Stats()
	ch <- prometheus.MustNewConstMetric(descComponents, prometheus.GaugeValue, float64(st.Components))
	ch <- prometheus.MustNewConstMetric(descRooms, prometheus.GaugeValue, float64(st.Rooms))
	ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(st.QueuedBytes))
	ch <- prometheus.MustNewConstMetric(descMaxQueued, prometheus.GaugeValue, float64(st.MaxQueuedBytes))
	ch <- prometheus.MustNewConstMetric(descFrames, prometheus.CounterValue, float64(st.FramesOut))
	ch <- prometheus.MustNewConstMetric(descBytes, prometheus.CounterValue, float64(st.BytesOut))
}
