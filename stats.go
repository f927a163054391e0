package live

import (
	"runtime"
	"runtime/metrics"
	"sync/atomic"
	"time"
)

// serverStats are the server's cumulative counters.
type serverStats struct {
	connsTotal       atomic.Uint64
	actions          atomic.Uint64
	actionErrors     atomic.Uint64
	deltas           atomic.Uint64
	deltaBytes       atomic.Uint64
	bytesOut         atomic.Uint64
	framesOut        atomic.Uint64
	rateLimited      atomic.Uint64
	slowClosed       atomic.Uint64
	resyncs          atomic.Uint64
	mounts           atomic.Uint64
	roomJoins        atomic.Uint64
	clusterErrors    atomic.Uint64
	clusterTakeovers atomic.Uint64
	roomDeliveries   atomic.Uint64
	rehydrates       atomic.Uint64
	resumes          atomic.Uint64
	resumeSnapshots  atomic.Uint64
	queuePeak        atomic.Int64 // high-water mark of the send queues of closed connections
}

// foldQueuePeak records a closing connection's queue high-water mark.
func (st *serverStats) foldQueuePeak(n int) {
	for {
		old := st.queuePeak.Load()
		if int64(n) <= old || st.queuePeak.CompareAndSwap(old, int64(n)) {
			return
		}
	}
}

// Stats is a point-in-time snapshot of server counters.
type Stats struct {
	Connections      int    `json:"connections"`
	ConnectionsTotal uint64 `json:"connectionsTotal"`
	Components       int    `json:"components"`
	Mounts           uint64 `json:"mounts"`
	Actions          uint64 `json:"actions"`
	ActionErrors     uint64 `json:"actionErrors"`
	Deltas           uint64 `json:"deltas"`
	DeltaBytes       uint64 `json:"deltaBytes"`
	FramesOut        uint64 `json:"framesOut"`
	BytesOut         uint64 `json:"bytesOut"`
	RateLimited      uint64 `json:"rateLimited"`
	SlowConsumers    uint64 `json:"slowConsumers"`
	Resyncs          uint64 `json:"resyncs"`
	QueuedBytes      int    `json:"queuedBytes"`      // bytes waiting in all send queues now
	MaxQueuedBytes   int    `json:"maxQueuedBytes"`   // the largest single send queue now
	DroppedDeltas    uint64 `json:"droppedDeltas"`    // deltas replaced by resync snapshots (live connections)
	ClusterErrors    uint64 `json:"clusterErrors"`    // failed cluster operations (backend outages)
	ClusterTakeovers uint64 `json:"clusterTakeovers"` // singletons this node took over
	Rooms            int    `json:"rooms"`
	RoomJoins        uint64 `json:"roomJoins"`
	RoomDeliveries   uint64 `json:"roomDeliveries"`  // room messages queued to members
	Rehydrates       uint64 `json:"rehydrates"`      // components recreated from signed state
	Resumes          uint64 `json:"resumes"`         // resumes served from the delta ring
	ResumeSnapshots  uint64 `json:"resumeSnapshots"` // resumes that needed a snapshot
	// Detached is how many of Components have no connection and are kept
	// for a resuming client (Options.ResumeGrace), and DetachedEvicted how
	// many such components were destroyed before their grace ended
	// because Options.MaxDetached was reached.
	Detached        int    `json:"detached"`
	DetachedEvicted uint64 `json:"detachedEvicted"`
	// QueuePeakBytes is the most bytes any one connection's send queue
	// has held at once since the server started (closed connections
	// included). A queue holds at most 2×Options.SendQueueBytes, unless a
	// single message larger than that entered an empty queue.
	QueuePeakBytes int `json:"queuePeakBytes"`
	// Goroutines is runtime.NumGoroutine() of the server's process (all
	// goroutines, not only the server's), for leak checks from outside.
	Goroutines int `json:"goroutines"`
	// GCCycles is the number of garbage collections the process has
	// completed, and HeapLiveBytes the heap the last of them found live
	// (runtime/metrics /gc/cycles/total and /gc/heap/live): with them a
	// leak check from outside can tell retained memory from garbage that
	// no collection has freed yet.
	GCCycles      uint64 `json:"gcCycles"`
	HeapLiveBytes uint64 `json:"heapLiveBytes"`
}

// runtimeSamples reads the runtime figures of Stats; runtime/metrics does
// not stop the world.
func runtimeSamples() (gcCycles, heapLive uint64) {
	samples := []metrics.Sample{{Name: "/gc/cycles/total:gc-cycles"}, {Name: "/gc/heap/live:bytes"}}
	metrics.Read(samples)
	if samples[0].Value.Kind() == metrics.KindUint64 {
		gcCycles = samples[0].Value.Uint64()
	}
	if samples[1].Value.Kind() == metrics.KindUint64 {
		heapLive = samples[1].Value.Uint64()
	}
	return gcCycles, heapLive
}

// Stats returns a snapshot of the server's counters. It visits every
// connection; do not call it on a hot path.
func (s *Server) Stats() Stats {
	var queued, maxQueued int
	var dropped uint64
	var peak int
	s.conns.Range(func(_ string, c *conn) bool {
		qs := c.q.Stats()
		queued += qs.QueuedBytes
		maxQueued = max(maxQueued, qs.QueuedBytes)
		peak = max(peak, qs.PeakBytes)
		dropped += qs.Dropped
		return true
	})
	// Read after Range: a connection gone from conns before Range saw it
	// had folded its mark in before it left (removeConn).
	peak = max(peak, int(s.stats.queuePeak.Load()))
	gcCycles, heapLive := runtimeSamples()
	return Stats{
		GCCycles:         gcCycles,
		HeapLiveBytes:    heapLive,
		QueuedBytes:      queued,
		MaxQueuedBytes:   maxQueued,
		QueuePeakBytes:   peak,
		Goroutines:       runtime.NumGoroutine(),
		DroppedDeltas:    dropped,
		Connections:      int(s.connCount.Load()),
		ConnectionsTotal: s.stats.connsTotal.Load(),
		Components:       s.instances.Len(),
		Mounts:           s.stats.mounts.Load(),
		Actions:          s.stats.actions.Load(),
		ActionErrors:     s.stats.actionErrors.Load(),
		Deltas:           s.stats.deltas.Load(),
		DeltaBytes:       s.stats.deltaBytes.Load(),
		FramesOut:        s.stats.framesOut.Load(),
		BytesOut:         s.stats.bytesOut.Load(),
		RateLimited:      s.stats.rateLimited.Load(),
		SlowConsumers:    s.stats.slowClosed.Load(),
		Resyncs:          s.stats.resyncs.Load(),
		ClusterErrors:    s.stats.clusterErrors.Load(),
		ClusterTakeovers: s.stats.clusterTakeovers.Load(),
		Rooms:            s.rooms.Len(),
		RoomJoins:        s.stats.roomJoins.Load(),
		RoomDeliveries:   s.stats.roomDeliveries.Load(),
		Rehydrates:       s.stats.rehydrates.Load(),
		Resumes:          s.stats.resumes.Load(),
		ResumeSnapshots:  s.stats.resumeSnapshots.Load(),
		Detached:         int(s.grace.detached.Load()),
		DetachedEvicted:  s.grace.evicted.Load(),
	}
}

// The observe functions below are the only places that count events and
// call Options.Observer: other files call one of them per event. With no
// Observer they cost a nil check beyond the counters (no allocation).

func (s *Server) observeConnOpened(c *conn) {
	s.stats.connsTotal.Add(1)
	if o := s.opts.Observer; o != nil {
		o.ConnOpened(ConnEvent{ConnID: c.id, RemoteAddr: c.remote})
	}
}

func (s *Server) observeConnClosed(c *conn) {
	if o := s.opts.Observer; o != nil {
		o.ConnClosed(ConnEvent{ConnID: c.id, RemoteAddr: c.remote})
	}
}

// observeMount counts a successful COMPONENT_MOUNT; result is the mount
// result object, which starts with the new component's id.
func (s *Server) observeMount(c *conn, def *componentDef, result []byte) {
	s.stats.mounts.Add(1)
	if o := s.opts.Observer; o != nil {
		o.ComponentMounted(ComponentEvent{Component: def.name, ComponentID: resultID(result), ConnID: c.id, Kind: MountNew})
	}
}

// observeRehydrate counts a component recreated from a signed state and
// attached to c.
func (s *Server) observeRehydrate(c *conn, def *componentDef, id string) {
	s.stats.rehydrates.Add(1)
	s.observeRehydrateJoin(c, def, id)
}

// observeRehydrateJoin reports a COMPONENT_REHYDRATE of a singleton that
// joined the live instance instead of recreating it (not counted in Stats).
func (s *Server) observeRehydrateJoin(c *conn, def *componentDef, id string) {
	if o := s.opts.Observer; o != nil {
		o.ComponentMounted(ComponentEvent{Component: def.name, ComponentID: id, ConnID: c.id, Kind: MountRehydrate})
	}
}

// observeResume counts a live instance resumed by c, from the delta ring or
// with a snapshot.
func (s *Server) observeResume(c *conn, in *instance, snapshot bool) {
	if snapshot {
		s.stats.resumeSnapshots.Add(1)
	} else {
		s.stats.resumes.Add(1)
	}
	if o := s.opts.Observer; o != nil {
		o.ComponentMounted(ComponentEvent{Component: in.def.name, ComponentID: in.id, ConnID: c.id, Kind: MountResume})
	}
}

// observeUnmount reports in detached from c. Called with in.mu held.
func (s *Server) observeUnmount(c *conn, in *instance) {
	if o := s.opts.Observer; o != nil {
		o.ComponentUnmounted(ComponentEvent{Component: in.def.name, ComponentID: in.id, ConnID: c.id})
	}
}

// observeAction counts a completed CALL_ACTION that started at start,
// checks it against the action warnings, and reports it.
func (s *Server) observeAction(in *instance, action string, start time.Time, err error) {
	d := time.Since(start)
	if err != nil {
		s.stats.actionErrors.Add(1)
	}
	info := in.def.actions[action]
	if info != nil {
		info.noteDuration(d)
	}
	s.warnAction(in.def, info, action, d, err != nil)
	if o := s.opts.Observer; o != nil {
		o.ActionDone(ActionEvent{Component: in.def.name, ComponentID: in.id, Action: action, Registered: info != nil, Duration: d, Err: err})
	}
}

func (s *Server) observeRateLimited(c *conn) {
	s.stats.rateLimited.Add(1)
	if o := s.opts.Observer; o != nil {
		o.RateLimited(RateLimitEvent{Kind: RateLimitFrame, ConnID: c.id})
	}
}

// observeActionRateLimited reports a call refused by a component's
// ActionRateLimit (the call itself is also reported by observeAction).
func (s *Server) observeActionRateLimited(c *conn, def *componentDef, action string) {
	if o := s.opts.Observer; o != nil {
		o.RateLimited(RateLimitEvent{Kind: RateLimitAction, ConnID: c.id, Component: def.name, Action: action})
	}
}

func (s *Server) observeSlowConsumer(c *conn) {
	s.stats.slowClosed.Add(1)
	if o := s.opts.Observer; o != nil {
		o.SlowConsumer(ConnEvent{ConnID: c.id, RemoteAddr: c.remote})
	}
}

func (s *Server) observeResync(c *conn) {
	s.stats.resyncs.Add(1)
	if o := s.opts.Observer; o != nil {
		o.Resynced(ConnEvent{ConnID: c.id, RemoteAddr: c.remote})
	}
}

// observeWrite counts one frame of n bytes written by c's writer and, for
// the Observer, samples the bytes queued behind it.
func (s *Server) observeWrite(c *conn, n int) {
	s.stats.framesOut.Add(1)
	s.stats.bytesOut.Add(uint64(n))
	if o := s.opts.Observer; o != nil {
		o.Flushed(FlushEvent{ConnID: c.id, Bytes: n, Queued: c.q.Stats().QueuedBytes})
	}
}

func (s *Server) observeDelta(in *instance, n int) {
	s.stats.deltas.Add(1)
	s.stats.deltaBytes.Add(uint64(n))
	if o := s.opts.Observer; o != nil {
		o.DeltaSent(DeltaEvent{Component: in.def.name, ComponentID: in.id, Bytes: n})
	}
}

func (s *Server) observeRoomJoin(r *room, in *instance) {
	s.stats.roomJoins.Add(1)
	if o := s.opts.Observer; o != nil {
		o.RoomJoined(RoomEvent{RoomID: r.id, ComponentID: in.id, Typed: r.typed != nil})
	}
}

func (s *Server) observeRoomLeave(r *room, in *instance) {
	if o := s.opts.Observer; o != nil {
		o.RoomLeft(RoomEvent{RoomID: r.id, ComponentID: in.id, Typed: r.typed != nil})
	}
}

// observeRoomEmit reports event emitted into r by from (nil: the server),
// reaching n members on this node.
func (s *Server) observeRoomEmit(r *room, from *instance, event string, n int) {
	if o := s.opts.Observer; o != nil {
		ev := RoomEvent{RoomID: r.id, Event: event, Typed: r.typed != nil, Recipients: n}
		if from != nil {
			ev.ComponentID = from.id
		}
		o.RoomEmitted(ev)
	}
}

// observeClusterError counts a failed cluster backend operation, about
// singleton (empty for node and room operations).
func (s *Server) observeClusterError(singleton string, err error) {
	s.stats.clusterErrors.Add(1)
	if o := s.opts.Observer; o != nil {
		o.Cluster(ClusterEvent{Kind: ClusterBackendError, Component: singleton, Err: err})
	}
}

// observeOwnershipAcquired reports this node becoming the owner of
// singleton; takeover marks a takeover from another node.
func (s *Server) observeOwnershipAcquired(singleton string, takeover bool) {
	if takeover {
		s.stats.clusterTakeovers.Add(1)
	}
	if o := s.opts.Observer; o != nil {
		o.Cluster(ClusterEvent{Kind: ClusterOwnershipAcquired, Component: singleton})
	}
}

// observeOwnershipLost reports this node no longer owning singleton.
func (s *Server) observeOwnershipLost(singleton string) {
	if o := s.opts.Observer; o != nil {
		o.Cluster(ClusterEvent{Kind: ClusterOwnershipLost, Component: singleton})
	}
}

// observeOwnershipReleased reports this node handing a singleton over (its
// last local client left, or the node shuts down).
func (s *Server) observeOwnershipReleased(singleton string) {
	if o := s.opts.Observer; o != nil {
		o.Cluster(ClusterEvent{Kind: ClusterOwnershipReleased, Component: singleton})
	}
}

// observeForward reports an action forwarded to the owner of singleton on
// another node; err is the forward's failure, if any.
func (s *Server) observeForward(singleton string, err error) {
	if o := s.opts.Observer; o != nil {
		o.Cluster(ClusterEvent{Kind: ClusterForwarded, Component: singleton, Err: err})
	}
}
