package liveprom

import (
	"fmt"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	live "github.com/live-go/live"
)

// Unregistered is the action label of calls to actions the component does
// not have. Registered action names never start with "_" (live refuses
// such actions), so it cannot collide with one.
const Unregistered = "_unregistered"

// DefaultBuckets are the upper bounds, in seconds, of
// live_action_duration_seconds: 0.5 ms to 10 s.
var DefaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// queueBuckets are the upper bounds, in bytes, of
// live_send_queue_depth_bytes: 0 to 8 MiB (twice the default
// Options.SendQueueBytes, where a connection is closed).
var queueBuckets = []float64{0, 1 << 10, 4 << 10, 16 << 10, 64 << 10, 256 << 10, 1 << 20, 2 << 20, 4 << 20, 8 << 20}

// Observer is a live.Observer that records the server's events as
// Prometheus metrics. Create it with New and pass it as
// live.Options.Observer. Its methods are safe for concurrent use and only
// update metrics.
type Observer struct {
	live.NopObserver // events added to live.Observer later are ignored

	connsOpened    prometheus.Counter
	connsClosed    prometheus.Counter
	connsActive    prometheus.Gauge
	mounts         *prometheus.CounterVec
	unmounts       *prometheus.CounterVec
	actionDuration *prometheus.HistogramVec
	actionErrors   *prometheus.CounterVec
	deltas         *prometheus.CounterVec
	deltaBytes     *prometheus.CounterVec
	queueDepth     prometheus.Histogram
	rateLimited    *prometheus.CounterVec
	slowConsumers  prometheus.Counter
	resyncs        prometheus.Counter
	roomJoins      *prometheus.CounterVec
	roomLeaves     *prometheus.CounterVec
	roomEvents     *prometheus.CounterVec
	roomRecipients *prometheus.CounterVec
	cluster        *prometheus.CounterVec
}

var _ live.Observer = (*Observer)(nil)

// New creates an Observer and registers its metrics with reg (use
// prometheus.DefaultRegisterer for the default registry). It fails if one
// of the metrics is already registered there.
func New(reg prometheus.Registerer) (*Observer, error) {
	o := &Observer{
		connsOpened: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "live_connections_opened_total", Help: "Connections accepted."}),
		connsClosed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "live_connections_closed_total", Help: "Connections closed and torn down."}),
		connsActive: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "live_connections_active", Help: "Connections open now."}),
		mounts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_component_mounts_total",
			Help: "Components attached to a connection, by component and kind (mount, rehydrate, resume)."},
			[]string{"component", "kind"}),
		unmounts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_component_unmounts_total",
			Help: "Components detached from a connection (unmount, disconnect, moved or gone), by component."},
			[]string{"component"}),
		actionDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "live_action_duration_seconds",
			Help:    "Time from receiving a CALL_ACTION to its outcome, successful or not, by component and action.",
			Buckets: DefaultBuckets},
			[]string{"component", "action"}),
		actionErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_action_errors_total", Help: "Failed CALL_ACTIONs, by component and action."},
			[]string{"component", "action"}),
		deltas: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_deltas_total", Help: "State deltas encoded (once for all subscribers), by component."},
			[]string{"component"}),
		deltaBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_delta_bytes_total", Help: "Bytes of encoded state deltas, by component."},
			[]string{"component"}),
		queueDepth: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "live_send_queue_depth_bytes",
			Help:    "Bytes waiting in a connection's send queue, sampled after every frame written.",
			Buckets: queueBuckets}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_rate_limited_total",
			Help: "Refused frames (kind frame) and actions (kind action, with component and action)."},
			[]string{"kind", "component", "action"}),
		slowConsumers: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "live_slow_consumers_total", Help: "Connections closed because their send queue overflowed."}),
		resyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "live_resyncs_total", Help: "Send-queue overflows answered by dropping deltas and resending snapshots."}),
		roomJoins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_room_joins_total", Help: "Room joins, by typed (true or false)."}, []string{"typed"}),
		roomLeaves: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_room_leaves_total", Help: "Room leaves, by typed (true or false)."}, []string{"typed"}),
		roomEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_room_events_total", Help: "Events emitted into rooms on this node, by typed (true or false)."},
			[]string{"typed"}),
		roomRecipients: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_room_event_recipients_total", Help: "Room members reached by room events on this node, by typed."},
			[]string{"typed"}),
		cluster: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "live_cluster_events_total",
			Help: "Cluster events (ownership_acquired, ownership_lost, ownership_released, forwarded, backend_error), by singleton (\"\" for node-wide)."},
			[]string{"event", "component"}),
	}
	for _, c := range []prometheus.Collector{
		o.connsOpened, o.connsClosed, o.connsActive, o.mounts, o.unmounts, o.actionDuration, o.actionErrors,
		o.deltas, o.deltaBytes, o.queueDepth, o.rateLimited, o.slowConsumers, o.resyncs,
		o.roomJoins, o.roomLeaves, o.roomEvents, o.roomRecipients, o.cluster,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("liveprom: register: %w", err)
		}
	}
	return o, nil
}

// ConnOpened counts a connection.
func (o *Observer) ConnOpened(live.ConnEvent) {
	o.connsOpened.Inc()
	o.connsActive.Inc()
}

// ConnClosed counts a closed connection.
func (o *Observer) ConnClosed(live.ConnEvent) {
	o.connsClosed.Inc()
	o.connsActive.Dec()
}

// ComponentMounted counts a mount, rehydrate or resume.
func (o *Observer) ComponentMounted(e live.ComponentEvent) {
	o.mounts.WithLabelValues(e.Component, e.Kind.String()).Inc()
}

// ComponentUnmounted counts a component detached from a connection.
func (o *Observer) ComponentUnmounted(e live.ComponentEvent) {
	o.unmounts.WithLabelValues(e.Component).Inc()
}

// ActionDone records the action's duration and counts its failure.
func (o *Observer) ActionDone(e live.ActionEvent) {
	action := e.Action
	if !e.Registered {
		action = Unregistered
	}
	o.actionDuration.WithLabelValues(e.Component, action).Observe(e.Duration.Seconds())
	if e.Err != nil {
		o.actionErrors.WithLabelValues(e.Component, action).Inc()
	}
}

// DeltaSent counts a delta and its bytes.
func (o *Observer) DeltaSent(e live.DeltaEvent) {
	o.deltas.WithLabelValues(e.Component).Inc()
	o.deltaBytes.WithLabelValues(e.Component).Add(float64(e.Bytes))
}

// Flushed samples the connection's send-queue depth.
func (o *Observer) Flushed(e live.FlushEvent) { o.queueDepth.Observe(float64(e.Queued)) }

// Resynced counts a resync.
func (o *Observer) Resynced(live.ConnEvent) { o.resyncs.Inc() }

// SlowConsumer counts a slow-consumer disconnect.
func (o *Observer) SlowConsumer(live.ConnEvent) { o.slowConsumers.Inc() }

// RoomJoined counts a join.
func (o *Observer) RoomJoined(e live.RoomEvent) {
	o.roomJoins.WithLabelValues(strconv.FormatBool(e.Typed)).Inc()
}

// RoomLeft counts a leave.
func (o *Observer) RoomLeft(e live.RoomEvent) {
	o.roomLeaves.WithLabelValues(strconv.FormatBool(e.Typed)).Inc()
}

// RoomEmitted counts an event and the members it reached.
func (o *Observer) RoomEmitted(e live.RoomEvent) {
	typed := strconv.FormatBool(e.Typed)
	o.roomEvents.WithLabelValues(typed).Inc()
	o.roomRecipients.WithLabelValues(typed).Add(float64(e.Recipients))
}

// RateLimited counts a refused frame or action.
func (o *Observer) RateLimited(e live.RateLimitEvent) {
	o.rateLimited.WithLabelValues(e.Kind.String(), e.Component, e.Action).Inc()
}

// Cluster counts a cluster event.
func (o *Observer) Cluster(e live.ClusterEvent) {
	o.cluster.WithLabelValues(e.Kind.String(), e.Component).Inc()
}
