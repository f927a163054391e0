package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/live-go/live/internal/diff"
	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
	"github.com/live-go/live/internal/signing"
)

// Cluster defaults.
const (
	DefaultClusterLeaseTTL      = 15 * time.Second
	DefaultClusterActionTimeout = 5 * time.Second
)

// clusterNode runs the cluster protocols of one Server.
type clusterNode struct {
	s       *Server
	c       Cluster
	id      string
	ttl     time.Duration
	timeout time.Duration
	nodeSub Subscription
	// nodeLease proves this node alive to the others (room members of a
	// node without one are dropped). Touched by heartbeat only.
	nodeLease Lease

	mu      sync.Mutex
	pending map[string]chan rpcMsg
	subs    map[string]Subscription // singleton and room subjects
	// subscribing holds the subjects whose Subscribe is in flight. The
	// backend call runs without n.mu: during an outage it can take the
	// backend's whole timeout, and n.mu also serves every forwarded
	// action's reply.
	subscribing map[string]*pendingSub
	stopped     bool // stop has closed the subscriptions

	stop     chan struct{}
	stopOnce sync.Once
	wg       sync.WaitGroup

	removeReconnect func()

	// ordered publisher of room traffic (clusterroom.go)
	pubMu      sync.Mutex
	pubQueue   []pubItem
	pubStopped bool
	pubWake    chan struct{}
}

// rpcMsg is a node-to-node request or response.
type rpcMsg struct {
	Kind     string          `json:"k"` // "act" or "res"
	ID       string          `json:"id"`
	From     string          `json:"from,omitempty"`
	Name     string          `json:"name,omitempty"`
	Action   string          `json:"action,omitempty"`
	Payload  json.RawMessage `json:"payload,omitempty"`
	Identity *wireIdentity   `json:"identity,omitempty"`
	ConnID   string          `json:"conn,omitempty"`
	IdemKey  string          `json:"idem,omitempty"`
	OK       bool            `json:"ok,omitempty"`
	Result   json.RawMessage `json:"result,omitempty"`
	Error    string          `json:"error,omitempty"`
	Emit     bool            `json:"emit,omitempty"` // the error is also emitted as a component ERROR
	Seq      uint64          `json:"seq,omitempty"`  // owner's seq after the action
}

type wireIdentity struct {
	ID          string         `json:"id"`
	Roles       []string       `json:"roles,omitempty"`
	Permissions []string       `json:"permissions,omitempty"`
	Claims      map[string]any `json:"claims,omitempty"`
}

func toWire(id *Identity) *wireIdentity {
	if id == nil {
		return nil
	}
	return &wireIdentity{ID: id.ID, Roles: id.Roles, Permissions: id.Permissions, Claims: id.Claims}
}

func (w *wireIdentity) identity() *Identity {
	if w == nil {
		return nil
	}
	return &Identity{ID: w.ID, Roles: w.Roles, Permissions: w.Permissions, Claims: w.Claims}
}

// singletonMsg travels on a singleton's subject from its owner.
type singletonMsg struct {
	Kind  string          `json:"k"` // "delta", "msg", "owner", "released"
	Node  string          `json:"n"`
	Token uint64          `json:"t"`
	Seq   uint64          `json:"s,omitempty"`
	Msg   json.RawMessage `json:"m,omitempty"`
	// ID is the owner's component id. A proxy that sees an id other than
	// its own learns of a new incarnation of the singleton (the backend
	// lost the mirrored state and the owner started from zero).
	ID string `json:"i,omitempty"`
}

// storedSingleton is the mirrored state of a singleton.
type storedSingleton struct {
	ID      string          `json:"id"`
	Seq     uint64          `json:"seq"`
	Version int64           `json:"version"`
	State   json.RawMessage `json:"state"`
}

func (s *Server) startCluster() error {
	c := s.opts.Cluster
	n := &clusterNode{s: s, c: c, id: c.NodeID(), ttl: s.opts.ClusterLeaseTTL, timeout: s.opts.ClusterActionTimeout,
		pending: map[string]chan rpcMsg{}, subs: map[string]Subscription{}, subscribing: map[string]*pendingSub{},
		stop:    make(chan struct{}),
		pubWake: make(chan struct{}, 1)}
	sub, err := c.Subscribe(context.Background(), subjectNode(n.id), n.onRPC)
	if err != nil {
		return fmt.Errorf("live: cluster subscribe: %w", err)
	}
	n.nodeSub = sub
	if l, err := c.AcquireLease(context.Background(), keyNodeLease(n.id), n.ttl); err == nil {
		n.nodeLease = l
	} else {
		s.log.Warn("live: cluster node lease", "err", err)
		s.observeClusterError("", err)
	}
	s.cluster = n
	// Backends that report reconnections (redis, nats) trigger a room
	// membership resync: announcements lost during an outage are healed.
	if rn, ok := c.(interface{ OnReconnect(func()) (remove func()) }); ok {
		n.removeReconnect = rn.OnReconnect(n.resyncRooms)
	}
	n.wg.Add(2)
	go n.heartbeat()
	go n.publisher()
	return nil
}

// shutdown hands owned singletons over (persist, release, announce) and
// stops the node's goroutines and subscriptions.
func (n *clusterNode) shutdown(ctx context.Context) {
	n.stopOnce.Do(func() { n.doShutdown(ctx) })
}

func (n *clusterNode) doShutdown(ctx context.Context) {
	if n.removeReconnect != nil {
		n.removeReconnect()
	}
	n.s.singletonMu.Lock()
	var owned []*instance
	for _, in := range n.s.singletons {
		owned = append(owned, in)
	}
	n.s.singletonMu.Unlock()
	for _, in := range owned {
		in.mu.Lock()
		if o := in.owner; o != nil && !in.destroyed {
			n.persist(ctx, in)
			_ = n.c.ReleaseLease(ctx, o.lease)
			n.publishSingleton(ctx, in.def.name, singletonMsg{Kind: "released", Node: n.id, Token: o.lease.Token, ID: in.id})
			in.owner = nil
		}
		in.unlock()
	}
	close(n.stop)
	n.wg.Wait()
	if n.nodeLease.Token != 0 {
		_ = n.c.ReleaseLease(ctx, n.nodeLease)
	}
	n.pubMu.Lock()
	n.pubStopped = true
	n.pubMu.Unlock()
	n.mu.Lock()
	n.stopped = true
	for _, sub := range n.subs {
		_ = sub.Close()
	}
	n.subs = map[string]Subscription{}
	for id, ch := range n.pending {
		close(ch)
		delete(n.pending, id)
	}
	n.mu.Unlock()
	_ = n.nodeSub.Close()
}

// heartbeat renews owned singleton leases and takes over singletons whose
// owner is gone.
func (n *clusterNode) heartbeat() {
	defer n.wg.Done()
	t := time.NewTicker(n.ttl / 3)
	defer t.Stop()
	for {
		select {
		case <-n.stop:
			return
		case <-t.C:
		}
		n.s.singletonMu.Lock()
		list := make([]*instance, 0, len(n.s.singletons))
		for _, in := range n.s.singletons {
			list = append(list, in)
		}
		n.s.singletonMu.Unlock()
		for _, in := range list {
			n.tend(in)
		}
		n.tendNodes()
	}
}

// tendNodes renews this node's liveness lease and drops the room members
// of nodes whose lease is gone (crashed without saying goodbye).
func (n *clusterNode) tendNodes() {
	ctx, cancel := context.WithTimeout(context.Background(), n.ttl/3)
	defer cancel()
	var err error
	if n.nodeLease.Token == 0 {
		n.nodeLease, err = n.c.AcquireLease(ctx, keyNodeLease(n.id), n.ttl)
	} else if err = n.c.RenewLease(ctx, n.nodeLease, n.ttl); errors.Is(err, ErrLeaseLost) {
		n.nodeLease, err = n.c.AcquireLease(ctx, keyNodeLease(n.id), n.ttl)
	}
	if err != nil {
		n.nodeLease = Lease{}
		n.s.observeClusterError("", err)
		return // our own view of the backend is in doubt: judge no one
	}
	nodes := map[string]bool{}
	n.s.rooms.Range(func(_ string, r *room) bool {
		r.mu.Lock()
		for _, m := range r.remote {
			nodes[m.Node] = true
		}
		r.mu.Unlock()
		return true
	})
	for id := range nodes {
		if _, err := n.c.LeaseHolder(ctx, keyNodeLease(id)); !errors.Is(err, ErrNoLease) {
			delete(nodes, id) // alive, or unknown
		}
	}
	if len(nodes) == 0 {
		return
	}
	n.s.rooms.Range(func(_ string, r *room) bool {
		r.mu.Lock()
		var gone []string
		for _, m := range r.remote {
			if nodes[m.Node] {
				gone = append(gone, m.Comp)
			}
		}
		r.remote = slices.DeleteFunc(r.remote, func(m remoteMember) bool { return nodes[m.Node] })
		for _, comp := range gone {
			r.systemFor(comp, protocol.EventSubLeave)
		}
		r.mu.Unlock()
		return true
	})
}

// tend renews in's lease (owner) or checks its owner is alive (proxy).
func (n *clusterNode) tend(in *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), n.ttl/3)
	defer cancel()
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return
	}
	if o := in.owner; o != nil {
		err := n.c.RenewLease(ctx, o.lease, n.ttl)
		switch {
		case err == nil:
			o.renewedAt = time.Now()
		case errors.Is(err, ErrLeaseLost):
			n.ownershipLost(in)
		default:
			n.s.log.Warn("live: cluster lease renewal failed", "singleton", in.def.name, "err", err)
			n.s.observeClusterError(in.def.name, err)
			if time.Since(o.renewedAt) >= n.ttl {
				// The lease may have expired by now: another node can own
				// the singleton, so this one must stop acting as owner.
				n.ownershipLost(in)
			}
		}
		return
	}
	if in.remote != nil {
		if _, err := n.c.LeaseHolder(ctx, keySingletonLease(in.def.name)); errors.Is(err, ErrNoLease) {
			n.takeOver(ctx, in)
		}
	}
}

// ownershipLost ends a singleton whose lease another node took (spec §8.2).
// Called with in.mu held.
func (n *clusterNode) ownershipLost(in *instance) {
	n.s.log.Warn("live: singleton ownership lost", "singleton", in.def.name, "id", in.id)
	msg := make([]byte, 0, 128)
	msg = append(msg, `{"type":"ERROR","componentId":`...)
	msg = protocol.AppendString(msg, in.id)
	msg = append(msg, `,"payload":{"error":"OWNERSHIP_LOST: singleton moved to another server"}}`...)
	in.fanoutLocal(sendq.Item{Data: msg, Kind: sendq.Message})
	in.owner = nil
	in.steppedDown = true
	n.s.observeOwnershipLost(in.def.name)
	for _, c := range in.subsSnapshot() {
		n.s.observeUnmount(c, in)
		c.removeComp(in.id)
		in.removeSub(c)
	}
	in.destroyLocked()
	go n.s.forget(in)
}

// ---- singleton mount ----

// mountClusterSingleton attaches c to the singleton name, creating the
// local instance as the owner (lease acquired) or as a proxy of the owner.
// It returns the instance locked and whether it is new, or an error.
func (n *clusterNode) singletonInstance(ctx context.Context, def *componentDef, props []byte, room string) (*instance, bool, error) {
	s := n.s
	for attempt := 0; attempt < 20; attempt++ {
		s.singletonMu.Lock()
		if in := s.singletons[def.name]; in != nil {
			s.singletonMu.Unlock()
			in.mu.Lock()
			if in.destroyed {
				in.unlock()
				continue
			}
			return in, false, nil
		}
		s.singletonMu.Unlock()

		lease, err := n.c.AcquireLease(ctx, keySingletonLease(def.name), n.ttl)
		var in *instance
		switch {
		case err == nil:
			in, err = n.newOwner(ctx, def, lease, props, room)
		case errors.Is(err, ErrLeaseHeld):
			in, err = n.newProxy(ctx, def, lease)
			if errors.Is(err, ErrNotFound) {
				// The owner has not mirrored its state yet: retry shortly.
				select {
				case <-time.After(20 * time.Millisecond):
				case <-ctx.Done():
					return nil, false, ctx.Err()
				}
				continue
			}
		}
		if err != nil {
			return nil, false, err
		}
		in.mu.Lock()
		s.singletonMu.Lock()
		if s.singletons[def.name] != nil { // another local mount won
			s.singletonMu.Unlock()
			in.destroyLocked()
			if in.owner != nil {
				_ = n.c.ReleaseLease(ctx, in.owner.lease)
			}
			in.unlock()
			continue
		}
		s.singletons[def.name] = in
		s.instances.Store(in.id, in)
		s.singletonMu.Unlock()
		return in, true, nil
	}
	return nil, false, errors.New("live: could not resolve the singleton's owner")
}

// ownerState marks an instance as the cluster owner of its singleton.
type ownerState struct {
	lease     Lease
	renewedAt time.Time // last successful lease acquisition or renewal
}

func (n *clusterNode) newOwner(ctx context.Context, def *componentDef, lease Lease, props []byte, room string) (*instance, error) {
	s := n.s
	in := s.newInstance(def)
	in.owner = &ownerState{lease: lease, renewedAt: time.Now()}
	raw, _, err := n.c.GetFenced(ctx, keySingletonState(def.name))
	switch {
	case err == nil:
		// Failover or restart: continue from the last mirrored state.
		var st storedSingleton
		if err := json.Unmarshal(raw, &st); err != nil {
			return nil, fmt.Errorf("live: mirrored state of %q: %w", def.name, err)
		}
		if err := in.restore(st.State); err != nil {
			return nil, err
		}
		in.id, in.seq, in.version = st.ID, st.Seq, st.Version
	case errors.Is(err, ErrNotFound):
		if err := in.applyProps(props); err != nil {
			return nil, err
		}
		in.id = s.newComponentID()
	default:
		return nil, fmt.Errorf("live: cluster store: %w", err)
	}
	s.setRoom(in, room)
	if _, err := in.encodeState(nil); err != nil {
		return nil, err
	}
	n.persist(ctx, in)
	n.publishSingleton(ctx, def.name, singletonMsg{Kind: "owner", Node: n.id, Token: lease.Token, Seq: in.seq, ID: in.id})
	s.observeOwnershipAcquired(def.name, false)
	return in, nil
}

// remoteMirror is the state of a singleton owned by another node.
type remoteMirror struct {
	state map[string]any
	token uint64
	owner string
	seqCh chan struct{} // closed and replaced whenever seq advances
}

func (n *clusterNode) newProxy(ctx context.Context, def *componentDef, lease Lease) (*instance, error) {
	in := n.s.newInstance(def)
	in.remote = &remoteMirror{token: lease.Token, owner: lease.Holder, seqCh: make(chan struct{})}
	// Subscribe first, then read the mirror: deltas up to the mirror's seq
	// are dropped as duplicates, later ones applied.
	if err := n.subscribeSingleton(ctx, def.name); err != nil {
		return nil, err
	}
	if err := n.loadMirror(ctx, in); err != nil {
		return nil, err
	}
	return in, nil
}

// loadMirror replaces a proxy's state with the mirrored one. Called before
// publication or with in.mu held.
func (n *clusterNode) loadMirror(ctx context.Context, in *instance) error {
	raw, token, err := n.c.GetFenced(ctx, keySingletonState(in.def.name))
	if err != nil {
		return err
	}
	var st storedSingleton
	if err := json.Unmarshal(raw, &st); err != nil {
		return fmt.Errorf("live: mirrored state of %q: %w", in.def.name, err)
	}
	var state map[string]any
	if err := json.Unmarshal(st.State, &state); err != nil {
		return fmt.Errorf("live: mirrored state of %q: %w", in.def.name, err)
	}
	in.id, in.seq, in.version = st.ID, st.Seq, st.Version
	in.remote.state = state
	if token > in.remote.token {
		in.remote.token = token
	}
	return nil
}

func (n *clusterNode) subscribeSingleton(ctx context.Context, name string) error {
	_, err := n.subscribe(ctx, subjectSingleton(name), func(data []byte) { n.onSingleton(name, data) })
	return err
}

// pendingSub is a Subscribe in flight.
type pendingSub struct {
	done chan struct{} // closed when it has finished, either way
	// unwanted is set when the subject lost its reason to be subscribed
	// (the room emptied) while the call was in flight: the subscription
	// is closed as soon as it arrives.
	unwanted bool
}

// subscribe makes sure this node is subscribed to subject, calling the
// backend at most once at a time per subject and never with n.mu held. It
// returns when the subscription exists (made now, reported by fresh, or
// before) or has failed. A caller that finds another caller's Subscribe in
// flight waits for it, then checks again.
func (n *clusterNode) subscribe(ctx context.Context, subject string, fn func([]byte)) (fresh bool, err error) {
	n.mu.Lock()
	for {
		if n.stopped {
			n.mu.Unlock()
			return false, errors.New("live: cluster node stopped")
		}
		if n.subs[subject] != nil {
			n.mu.Unlock()
			return false, nil
		}
		p := n.subscribing[subject]
		if p == nil {
			break
		}
		p.unwanted = false // wanted again
		n.mu.Unlock()
		select {
		case <-p.done:
		case <-ctx.Done():
			return false, fmt.Errorf("live: cluster subscribe: %w", ctx.Err())
		}
		n.mu.Lock()
	}
	p := &pendingSub{done: make(chan struct{})}
	n.subscribing[subject] = p
	n.mu.Unlock()

	sub, err := n.c.Subscribe(ctx, subject, fn)

	n.mu.Lock()
	delete(n.subscribing, subject)
	close(p.done)
	drop := err == nil && (p.unwanted || n.stopped)
	if err == nil && !drop {
		n.subs[subject] = sub
	}
	n.mu.Unlock()
	if drop {
		_ = sub.Close()
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("live: cluster subscribe: %w", err)
	}
	return true, nil
}

// persist mirrors the singleton's state with the lease's fencing token.
// Called with in.mu held on the owner.
func (n *clusterNode) persist(ctx context.Context, in *instance) {
	o := in.owner
	if o == nil {
		return
	}
	rec, err := json.Marshal(storedSingleton{ID: in.id, Seq: in.seq, Version: in.version, State: in.currentState(nil)})
	if err == nil {
		err = n.c.PutFenced(ctx, keySingletonState(in.def.name), o.lease.Token, rec, 0)
	}
	switch {
	case errors.Is(err, ErrFenced):
		n.ownershipLost(in)
	case err != nil:
		// The state cannot be made durable: an action acknowledged now could
		// be lost if another node takes over. Step down instead; the action
		// that caused the write is answered with an error (see stepDown).
		n.s.log.Warn("live: cluster mirror write failed, giving up the singleton", "singleton", in.def.name, "err", err)
		n.s.observeClusterError(in.def.name, err)
		n.ownershipLost(in)
	}
}

func (n *clusterNode) publishSingleton(ctx context.Context, name string, m singletonMsg) {
	data, _ := json.Marshal(m)
	if err := n.c.Publish(ctx, subjectSingleton(name), data); err != nil {
		n.s.log.Warn("live: cluster publish failed", "singleton", name, "err", err)
		n.s.observeClusterError(name, err)
	}
}

// ownerFanout mirrors and publishes what the owner just sent to its local
// subscribers. Called with in.mu held.
func (n *clusterNode) ownerFanout(in *instance, it sendq.Item) {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	m := singletonMsg{Kind: "msg", Node: n.id, Token: in.owner.lease.Token, Msg: it.Data, ID: in.id}
	if it.Kind == sendq.Delta {
		// Mirror before publishing (and before the action's reply): an
		// acknowledged action survives the owner's death.
		n.persist(ctx, in)
		if in.owner == nil {
			return
		}
		m.Kind, m.Seq = "delta", in.seq
	}
	n.publishSingleton(ctx, in.def.name, m)
}

// onSingleton handles the owner's messages on a proxy node.
func (n *clusterNode) onSingleton(name string, data []byte) {
	var m singletonMsg
	if json.Unmarshal(data, &m) != nil || m.Node == n.id {
		return
	}
	n.s.singletonMu.Lock()
	in := n.s.singletons[name]
	n.s.singletonMu.Unlock()
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.unlock()
	r := in.remote
	if in.destroyed || r == nil {
		return
	}
	if m.ID != "" && m.ID != in.id && m.Kind != "released" {
		// Another incarnation: checked before the token, as a backend that
		// lost its data hands out fencing tokens from the start again.
		if n.newIncarnation(in, m) {
			n.ownershipLost(in)
		}
		return
	}
	if m.Token < r.token {
		return // a deposed owner
	}
	if m.Token > r.token {
		r.token, r.owner = m.Token, m.Node
	}
	switch m.Kind {
	case "released":
		ctx, cancel := context.WithTimeout(context.Background(), n.ttl)
		defer cancel()
		n.takeOver(ctx, in)
	case "owner":
		r.owner = m.Node
	case "msg":
		in.fanoutLocal(sendq.Item{Data: append([]byte(nil), m.Msg...), Kind: sendq.Message})
	case "delta":
		switch {
		case m.Seq <= in.seq:
			return // duplicate or stale
		case m.Seq > in.seq+1:
			// A gap: reload the mirror and resend a snapshot.
			n.resyncProxy(in)
			return
		}
		msg := append([]byte(nil), m.Msg...)
		var env struct {
			Payload struct {
				Delta map[string]any `json:"delta"`
			} `json:"payload"`
		}
		if json.Unmarshal(msg, &env) != nil {
			return
		}
		r.state = diff.Apply(r.state, env.Payload.Delta)
		in.seq = m.Seq
		it := sendq.Item{Data: msg, Kind: sendq.Delta, Key: in.id}
		if start, end, ok := deltaSpan(msg, in.id, in.seq); ok {
			it.DeltaStart, it.DeltaEnd = start, end
		}
		in.fanoutLocal(it)
		in.recordDelta(in.seq, it)
		in.scheduleRenewal()
		close(r.seqCh)
		r.seqCh = make(chan struct{})
	}
}

// newIncarnation reports whether m comes from the current lease holder of
// in's singleton while naming a component id other than in's: the owner
// started the singleton afresh, so this proxy's instance is stale and its
// clients must mount again. A deposed owner's stray message is ignored.
// Called with in.mu held.
func (n *clusterNode) newIncarnation(in *instance, m singletonMsg) bool {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	l, err := n.c.LeaseHolder(ctx, keySingletonLease(in.def.name))
	if err != nil || l.Holder != m.Node || l.Token != m.Token {
		return false
	}
	n.s.log.Warn("live: singleton restarted by its owner; dropping the stale proxy",
		"singleton", in.def.name, "id", in.id, "new_id", m.ID, "owner", m.Node)
	return true
}

// deltaSpan locates the delta object inside a STATE_DELTA built by
// deltaMessage.
func deltaSpan(msg []byte, id string, seq uint64) (int, int, bool) {
	prefix := len(`{"type":"STATE_DELTA","componentId":`) + len(protocol.AppendString(nil, id)) + len(`,"payload":{"delta":`)
	suffix := len(`},"seq":`) + len(strconv.FormatUint(seq, 10)) + 1
	if prefix+suffix >= len(msg) {
		return 0, 0, false
	}
	return prefix, len(msg) - suffix, true
}

// resyncProxy reloads a proxy's mirror and sends every local subscriber a
// snapshot. Called with in.mu held.
func (n *clusterNode) resyncProxy(in *instance) {
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	if err := n.loadMirror(ctx, in); err != nil {
		n.s.log.Warn("live: cluster mirror reload failed", "singleton", in.def.name, "err", err)
		return
	}
	for _, c := range in.subsSnapshot() {
		if msg, _, _, err := in.snapshotMessage(); err == nil {
			c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
		}
	}
	close(in.remote.seqCh)
	in.remote.seqCh = make(chan struct{})
}

// takeOver tries to become the owner of a proxied singleton whose owner is
// gone; on success the proxy is promoted in place (same id, same seq line)
// from the last mirrored state. Called with in.mu held.
func (n *clusterNode) takeOver(ctx context.Context, in *instance) {
	lease, err := n.c.AcquireLease(ctx, keySingletonLease(in.def.name), n.ttl)
	if err != nil {
		return
	}
	raw, _, err := n.c.GetFenced(ctx, keySingletonState(in.def.name))
	var st storedSingleton
	if err == nil {
		err = json.Unmarshal(raw, &st)
	}
	if err != nil {
		n.s.log.Warn("live: singleton takeover without mirrored state", "singleton", in.def.name, "err", err)
		_ = n.c.ReleaseLease(ctx, lease)
		return
	}
	fresh := n.s.newInstance(in.def) // a component value to hold the state
	if err := fresh.restore(st.State); err != nil {
		_ = n.c.ReleaseLease(ctx, lease)
		return
	}
	in.comp = fresh.comp
	in.comp.(baseHolder).liveBase().in = in
	in.st = fresh.st
	// The new baseline: encodeState would encode the proxy's mirror, as
	// in.remote is still set.
	if _, err := in.st.encode(nil, in.elem()); err != nil {
		_ = n.c.ReleaseLease(ctx, lease)
		return
	}
	missed := st.Seq > in.seq
	in.id, in.seq, in.version = st.ID, st.Seq, st.Version
	close(in.remote.seqCh)
	in.remote = nil
	in.owner = &ownerState{lease: lease, renewedAt: time.Now()}
	n.s.observeOwnershipAcquired(in.def.name, true)
	n.s.log.Info("live: took over singleton", "singleton", in.def.name, "id", in.id, "token", lease.Token)
	if missed {
		for _, c := range in.subsSnapshot() {
			if msg, _, _, err := in.snapshotMessage(); err == nil {
				c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
			}
		}
	}
	n.persist(ctx, in)
	n.publishSingleton(ctx, in.def.name, singletonMsg{Kind: "owner", Node: n.id, Token: lease.Token, Seq: in.seq, ID: in.id})
}

// ---- action forwarding ----

// forward runs an action on the owner of a proxied singleton and waits
// until the local mirror has the resulting state, so the caller sees the
// delta before the reply. Called WITHOUT in.mu.
func (n *clusterNode) forward(c *conn, in *instance, action string, payload []byte, idemKey string) ([]byte, error) {
	in.mu.Lock()
	owner := ""
	if in.remote != nil {
		owner = in.remote.owner
	}
	in.unlock()
	if owner == "" {
		return nil, errors.New("Remote action failed")
	}
	req := rpcMsg{Kind: "act", ID: protocol.NewID() + protocol.NewID(), From: n.id, Name: in.def.name,
		Action: action, Payload: append(json.RawMessage(nil), payload...), Identity: toWire(c.identity()),
		ConnID: c.id, IdemKey: idemKey}
	ch := make(chan rpcMsg, 1)
	n.mu.Lock()
	n.pending[req.ID] = ch
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.pending, req.ID)
		n.mu.Unlock()
	}()
	data, _ := json.Marshal(req)
	ctx, cancel := context.WithTimeout(c.ctx, n.timeout)
	defer cancel()
	if err := n.c.Publish(ctx, subjectNode(owner), data); err != nil {
		n.s.observeClusterError(in.def.name, err)
		return nil, errors.New("Remote action failed")
	}
	var res rpcMsg
	select {
	case r, ok := <-ch:
		if !ok {
			return nil, errors.New("Remote action failed")
		}
		res = r
	case <-ctx.Done():
		return nil, fmt.Errorf("Cluster action timeout after %dms", n.timeout.Milliseconds())
	}
	// Wait for the owner's delta to reach the local mirror.
	for {
		in.mu.Lock()
		var wait chan struct{}
		if in.remote != nil && in.seq < res.Seq && !in.destroyed {
			wait = in.remote.seqCh
		}
		in.unlock()
		if wait == nil {
			break
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return nil, fmt.Errorf("Cluster action timeout after %dms", n.timeout.Milliseconds())
		}
	}
	if !res.OK {
		return nil, &actionError{msg: res.Error, emit: res.Emit}
	}
	if len(res.Result) == 0 {
		return nil, nil
	}
	return res.Result, nil
}

// onRPC serves requests from other nodes and completes our pending ones.
func (n *clusterNode) onRPC(data []byte) {
	var m rpcMsg
	if json.Unmarshal(data, &m) != nil {
		return
	}
	switch m.Kind {
	case "res":
		n.mu.Lock()
		ch := n.pending[m.ID]
		n.mu.Unlock()
		if ch != nil {
			select {
			case ch <- m:
			default:
			}
		}
	case "act":
		// Run off the subscription goroutine: actions take locks.
		n.wg.Add(1)
		go func() {
			defer n.wg.Done()
			n.serveAction(m)
		}()
	}
}

func (n *clusterNode) serveAction(m rpcMsg) {
	res := rpcMsg{Kind: "res", ID: m.ID}
	n.s.singletonMu.Lock()
	in := n.s.singletons[m.Name]
	n.s.singletonMu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	if in == nil || !n.verifyOwner(ctx, in) {
		res.Error = "OWNERSHIP_LOST: this instance no longer owns the singleton"
	} else {
		caller := n.s.remoteConn(ctx, m.ConnID, m.Identity.identity())
		var (
			result []byte
			err    error
		)
		if rule := in.def.actAuth[m.Action]; rule != nil {
			err = n.s.checkAction(ctx, rule, caller.identity(), in.def.name, m.Action, m.Payload)
		}
		if err == nil {
			result, err = in.call(caller, m.Action, m.Payload, m.IdemKey)
		}
		if err != nil {
			res.Error = clientMessage(err)
			var ae *actionError
			res.Emit = !errors.As(err, &ae) || ae.emit
		} else {
			res.OK, res.Result = true, result
		}
		in.mu.Lock()
		res.Seq = in.seq
		in.unlock()
	}
	data, _ := json.Marshal(res)
	if err := n.c.Publish(ctx, subjectNode(m.From), data); err != nil {
		n.s.observeClusterError(m.Name, err)
	}
}

// verifyOwner checks this node still owns in (split-brain guard).
func (n *clusterNode) verifyOwner(ctx context.Context, in *instance) bool {
	in.mu.Lock()
	o := in.owner
	in.unlock()
	if o == nil {
		return false
	}
	l, err := n.c.LeaseHolder(ctx, o.lease.Key)
	return err == nil && l.Holder == n.id && l.Token == o.lease.Token
}

// remoteConn is a stand-in connection for a caller on another node: it
// carries the caller's id and identity; messages pushed to it are dropped
// (the caller's node relays the owner's fan-out instead).
func (s *Server) remoteConn(ctx context.Context, id string, ident *Identity) *conn {
	c := &conn{srv: s, id: id, q: sendq.New(1, 1)}
	c.q.Close()
	c.ctx, c.cancel = context.WithCancel(ctx)
	if ident != nil {
		c.setIdentity(ident)
	}
	return c
}

// ---- replay protection across nodes ----

// clusterNonceStore records used nonces and retired ids in the cluster
// store, so a signed state is single-use on every node.
type clusterNonceStore struct {
	c   Cluster
	ttl time.Duration
}

func (st clusterNonceStore) Use(ctx context.Context, nonce string, ts time.Time) error {
	ok, err := st.c.PutIfAbsent(ctx, keyNonce(nonce), []byte{1}, st.ttl+time.Minute)
	if err != nil {
		return fmt.Errorf("live: cluster nonce store: %w", err)
	}
	if !ok {
		return signing.ErrNonceUsed
	}
	return nil
}

// lostOwnership reports whether in was a cluster owner that stepped down.
func (in *instance) lostOwnership() bool {
	in.mu.Lock()
	defer in.unlock()
	return in.steppedDown
}

// isRemote reports whether in proxies a singleton owned by another node.
func (in *instance) isRemote() bool {
	in.mu.Lock()
	defer in.unlock()
	return in.remote != nil
}

// handOff releases an owned singleton that is being destroyed here (its
// last local client left): the state is mirrored first, so a node whose
// clients still use it takes over without loss. Called with in.mu held.
func (n *clusterNode) handOff(in *instance) {
	o := in.owner
	ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
	defer cancel()
	n.persist(ctx, in)
	_ = n.c.ReleaseLease(ctx, o.lease)
	n.publishSingleton(ctx, in.def.name, singletonMsg{Kind: "released", Node: n.id, Token: o.lease.Token, ID: in.id})
	in.owner = nil
	n.s.observeOwnershipReleased(in.def.name)
}
