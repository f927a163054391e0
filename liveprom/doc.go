// Package liveprom exports a live.Server's metrics to Prometheus. It lives
// in its own module so that the core module does not depend on the
// Prometheus client.
//
// # Entry points
//
// New creates an Observer, a live.Observer that turns the server's events
// into counters, gauges and histograms and registers them with a
// prometheus.Registerer; pass it as live.Options.Observer. NewCollector
// exports the server's Stats (components, rooms, send-queue bytes, frames
// and bytes written), read at scrape time:
//
//	reg := prometheus.NewRegistry()
//	obs, err := liveprom.New(reg)
//	if err != nil { ... }
//	srv, err := live.New(live.Options{Observer: obs})
//	if err != nil { ... }
//	reg.MustRegister(liveprom.NewCollector(srv))
//	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// # Labels
//
// Labels come only from bounded sets: registered component names,
// registered action names (calls to other names are labelled
// Unregistered), and small enums (mount kind, rate-limit kind, cluster
// event, typed room). Connection, component instance and room ids and room
// event names are never labels.
//
// # Metrics
//
// From the Observer: live_connections_opened_total,
// live_connections_closed_total, live_connections_active,
// live_component_mounts_total{component,kind},
// live_component_unmounts_total{component},
// live_action_duration_seconds{component,action} (histogram),
// live_action_errors_total{component,action},
// live_deltas_total{component}, live_delta_bytes_total{component},
// live_send_queue_depth_bytes (histogram, sampled after every frame
// written), live_rate_limited_total{kind,component,action},
// live_slow_consumers_total, live_resyncs_total,
// live_room_joins_total{typed}, live_room_leaves_total{typed},
// live_room_events_total{typed}, live_room_event_recipients_total{typed},
// live_cluster_events_total{event,component}.
//
// From the Collector: live_components, live_rooms, live_send_queue_bytes,
// live_send_queue_max_bytes, live_frames_written_total,
// live_bytes_written_total.
//
// # Concurrency
//
// The Observer's methods run on the server's goroutines, as live.Observer
// describes; they only update metrics and never block. The Collector runs
// on the scraping goroutine.
package liveprom
