package client

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/live-go/live/internal/protocol"
)

// recoveryConcurrency bounds the components recovered at the same time
// after a reconnection (requests in flight on the new connection).
const recoveryConcurrency = 8

// supervise is the supervisor goroutine: it opens the first connection
// (reporting the outcome on first), then after every loss reconnects with
// backoff and recovers the components, until Close or a terminal error.
func (c *Client) supervise(dialCtx context.Context, first chan<- error) {
	defer close(c.supervisorDone)
	c.notifyState(StateConnecting)
	s, err := c.connect(dialCtx)
	if err != nil {
		c.shutdown(err)
		first <- err
		return
	}
	c.adopt(s)
	c.setState(StateConnected)
	first <- nil

	attempt := 0 // consecutive failed attempts; reset once Connected
	for {
		<-s.readerDone
		cause := s.err
		if c.closing.Load() {
			c.shutdown(c.closeError())
			return
		}
		if !c.shouldReconnect(cause) {
			c.shutdown(cause)
			return
		}
		c.setState(StateReconnecting)
		for {
			attempt++
			if n := c.opts.Reconnect.MaxAttempts; n > 0 && attempt > n {
				c.shutdown(fmt.Errorf("%w: gave up reconnecting after %d attempts: %w", ErrClosed, n, cause))
				return
			}
			if !c.sleep(backoffDelay(c.opts.Reconnect, attempt, c.jitter())) {
				c.shutdown(c.closeError())
				return
			}
			ctx, cancel := context.WithTimeout(c.stop, c.opts.RequestTimeout)
			ns, err := c.connect(ctx)
			cancel()
			if err == nil {
				s = ns
				break
			}
			if c.closing.Load() {
				c.shutdown(c.closeError())
				return
			}
			if websocket.CloseStatus(err) == closeOriginNotAllowed {
				c.shutdown(err)
				return
			}
			cause = err
			c.log.Debug("client: reconnection attempt failed", "attempt", attempt, "err", err)
		}
		if !c.adopt(s) {
			continue // Close raced with the dial; the loop ends on readerDone
		}
		if !c.recoverAll(s) {
			// Lost, or the server did not answer in time: start over on a
			// new connection, with the backoff still growing.
			_ = s.conn.CloseNow()
			continue
		}
		c.log.Debug("client: reconnected", "attempts", attempt, "connectionId", c.ConnectionID())
		attempt = 0
		c.setState(StateConnected)
	}
}

// shouldReconnect reports whether a connection that ended with err is
// followed by a reconnection.
func (c *Client) shouldReconnect(err error) bool {
	return !c.opts.Reconnect.Disabled && websocket.CloseStatus(err) != closeOriginNotAllowed
}

// closeError returns the error Close set.
func (c *Client) closeError() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.closeErr
}

// adopt makes s the current connection. If Close was called meanwhile it
// closes s instead and reports false.
func (c *Client) adopt(s *session) bool {
	c.mu.Lock()
	if c.closing.Load() {
		c.mu.Unlock()
		_ = s.conn.Close(websocket.StatusNormalClosure, "")
		return false
	}
	c.cur = s
	c.connID = s.connID
	c.mu.Unlock()
	return true
}

// sleep waits for d, or until Close; it reports whether d elapsed.
func (c *Client) sleep(d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-c.stop.Done():
		return false
	}
}

// backoffDelay returns the delay before reconnection attempt n (from 1):
// InitialDelay doubled n−1 times, capped at MaxDelay, minus up to Jitter of
// it as chosen by rnd (uniform in [0, 1)).
func backoffDelay(r ReconnectOptions, n int, rnd float64) time.Duration {
	d := r.InitialDelay
	for i := 1; i < n && d < r.MaxDelay; i++ {
		if d > r.MaxDelay/2 {
			d = r.MaxDelay
			break
		}
		d *= 2
	}
	d = min(d, r.MaxDelay)
	if r.Jitter > 0 && rnd > 0 {
		d -= time.Duration(float64(d) * r.Jitter * min(rnd, 1))
	}
	return d
}

// RecoveryKind tells how a component was reattached after a reconnection.
type RecoveryKind uint8

// Recovery outcomes.
const (
	// RecoveryResumed: the server still had the same instance (its grace
	// period had not ended, or it is a live singleton) and sent the missed
	// deltas, or a snapshot when it no longer had them. The component id
	// is unchanged and idempotency keys of earlier calls still apply.
	RecoveryResumed RecoveryKind = iota + 1
	// RecoveryRehydrated: the server created a new instance from the newest
	// signed state (COMPONENT_REHYDRATE); the component has a new id.
	RecoveryRehydrated
	// RecoveryRemounted: rehydration was refused (expired or foreign
	// signature, unknown class, no usable signed state, ...), so the
	// component was mounted afresh with its original props and options:
	// its state restarts from the server's initial state.
	RecoveryRemounted
	// RecoveryFailed: the fresh mount was refused too. The component is
	// detached: its methods return errors wrapping ErrUnmounted.
	RecoveryFailed
)

// String returns the kind's name.
func (k RecoveryKind) String() string {
	switch k {
	case RecoveryResumed:
		return "resumed"
	case RecoveryRehydrated:
		return "rehydrated"
	case RecoveryRemounted:
		return "remounted"
	case RecoveryFailed:
		return "failed"
	}
	return fmt.Sprintf("RecoveryKind(%d)", uint8(k))
}

// Recovery describes how a component was reattached after a reconnection
// (see [Component.OnRecover]).
type Recovery struct {
	// Kind is the outcome.
	Kind RecoveryKind
	// OldID is the component id before the reconnection; NewID the id now
	// (equal for RecoveryResumed, empty for RecoveryFailed).
	OldID, NewID string
	// Snapshot reports, for RecoveryResumed, that the server sent a full
	// snapshot because it no longer had every missed delta.
	Snapshot bool
	// Err is why rehydration was refused (RecoveryRemounted) or why the
	// mount failed (RecoveryFailed); nil otherwise.
	Err error
}

// Errors recorded in Recovery.Err when no rehydration was attempted.
var (
	errNoSignedState   = errors.New("client: no signed state to rehydrate from")
	errSignedStateUsed = errors.New("client: the newest signed state was already used and no fresh one arrived")
)

type recoveryResult struct {
	ev   Recovery
	done bool // ev is valid
	lost bool // the connection ended before the component was recovered
}

// recoverAll reattaches every mounted component on s, a few at a time, then
// runs the OnRecover handlers in mount order. It reports false when s was
// lost, or a recovery request timed out, before every component was
// recovered (they are recovered again on the next connection).
func (c *Client) recoverAll(s *session) bool {
	comps := c.mounted()
	results := make([]recoveryResult, len(comps))
	sem := make(chan struct{}, recoveryConcurrency)
	var wg sync.WaitGroup
	for i, m := range comps {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			results[i] = c.recoverComponent(s, m)
		})
	}
	wg.Wait()
	ok := true
	for i, r := range results {
		if r.lost {
			ok = false
		}
		if r.done {
			comps[i].notifyRecovered(r.ev)
		}
	}
	c.mu.Lock()
	dead := s.dead
	c.mu.Unlock()
	return ok && !dead
}

// mounted returns the registered components in mount order.
func (c *Client) mounted() []*Component {
	c.mu.Lock()
	var out []*Component
	for _, comps := range c.components {
		out = append(out, comps...)
	}
	c.mu.Unlock()
	slices.SortFunc(out, func(a, b *Component) int { return cmp.Compare(a.order, b.order) })
	return slices.Compact(out)
}

// Wire shape of COMPONENT_REHYDRATE (spec §1.5, plus the "seq" extension).
type (
	rehydrateMessage struct {
		Type           string           `json:"type"`
		ComponentID    string           `json:"componentId"`
		Payload        rehydratePayload `json:"payload"`
		RequestID      string           `json:"requestId"`
		ExpectResponse bool             `json:"expectResponse"`
	}
	rehydratePayload struct {
		Component   string          `json:"component"`
		SignedState json.RawMessage `json:"signedState"`
		Room        string          `json:"room,omitempty"`
		Seq         *uint64         `json:"seq,omitempty"`
	}
)

// recoverComponent reattaches m on s: COMPONENT_REHYDRATE with the newest
// signed state (and the last applied seq, so that a live instance is
// resumed), else a fresh COMPONENT_MOUNT.
func (c *Client) recoverComponent(s *session, m *Component) recoveryResult {
	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		return recoveryResult{}
	}
	oldID, signed, used := m.id, m.signed, m.signedUsed
	var seq *uint64
	if m.seqKnown {
		n := m.seq
		seq = &n
	}
	m.recovering, m.recoverSnapshot = true, false
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.recovering = false
		m.mu.Unlock()
	}()

	var refused error
	switch {
	case signed == nil:
		refused = errNoSignedState
	case used:
		refused = errSignedStateUsed
	default:
		var ev Recovery
		ctx, cancel := context.WithTimeout(c.stop, c.opts.RequestTimeout)
		_, wrote, err := c.roundTripOn(ctx, s, protocol.TypeComponentRehydrate, func(requestID string) ([]byte, error) {
			return json.Marshal(rehydrateMessage{
				Type:        protocol.TypeComponentRehydrate,
				ComponentID: oldID,
				Payload: rehydratePayload{
					Component:   m.name,
					SignedState: signed,
					Room:        m.cfg.room,
					Seq:         seq,
				},
				RequestID:      requestID,
				ExpectResponse: true,
			})
		}, c.rehydrateHook(m, oldID, &ev))
		cancel()
		if wrote {
			m.markSignedUsed(signed)
		}
		switch {
		case err == nil && ev.Kind == 0: // reattached, but unmounted meanwhile
			c.dropServerInstance(s, ev.NewID)
			return recoveryResult{}
		case err == nil:
			return recoveryResult{ev: ev, done: true}
		case c.interrupted(err):
			return recoveryResult{lost: true}
		}
		refused = err
		c.log.Debug("client: rehydration refused, mounting afresh", "component", m.name, "id", oldID, "err", err)
	}

	var ev Recovery
	ctx, cancel := context.WithTimeout(c.stop, c.opts.RequestTimeout)
	_, _, err := c.roundTripOn(ctx, s, protocol.TypeComponentMount, func(requestID string) ([]byte, error) {
		return m.mountFrame(requestID)
	}, c.remountHook(m, oldID, &ev))
	cancel()
	switch {
	case err == nil && ev.Kind == 0:
		c.dropServerInstance(s, ev.NewID)
		return recoveryResult{}
	case err == nil:
		ev.Err = refused
		return recoveryResult{ev: ev, done: true}
	case c.interrupted(err):
		return recoveryResult{lost: true}
	}
	m.mu.Lock()
	detached := !m.unmounted
	if detached {
		m.unmounted = true
		m.lostErr = err
		m.wakeLocked()
	}
	m.mu.Unlock()
	if !detached {
		return recoveryResult{}
	}
	c.unregister(m, oldID)
	return recoveryResult{ev: Recovery{Kind: RecoveryFailed, OldID: oldID, Err: err}, done: true}
}

// interrupted reports whether a recovery request failed for want of an
// answer (connection lost, Close, no reply within RequestTimeout) rather
// than by a refusal from the server.
func (c *Client) interrupted(err error) bool {
	return isLost(err) || c.closing.Load() || errors.Is(err, context.DeadlineExceeded)
}

// dropServerInstance unmounts, best effort, an instance the server attached
// for a component the user unmounted during its recovery.
func (c *Client) dropServerInstance(s *session, id string) {
	if id == "" {
		return
	}
	b, err := json.Marshal(struct {
		Type        string `json:"type"`
		ComponentID string `json:"componentId"`
	}{protocol.TypeComponentUnmount, id})
	if err != nil {
		return
	}
	ctx, cancel := context.WithTimeout(c.stop, c.opts.RequestTimeout)
	defer cancel()
	_ = c.writeOn(ctx, s, websocket.MessageText, b)
}

// rehydrateHook returns the reply hook of a recovery COMPONENT_REHYDRATE. It
// runs on the reader goroutine: a reply naming the same id means the
// instance was resumed (its missed deltas were already routed to m); a new
// id is adopted, replaying the STATE_REHYDRATED or STATE_UPDATE buffered
// for it. *out.Kind stays 0 (with NewID set) when m was unmounted
// meanwhile.
func (c *Client) rehydrateHook(m *Component, oldID string, out *Recovery) func(Message) error {
	return func(reply Message) error {
		var res struct {
			NewComponentID string `json:"newComponentId"`
		}
		if err := json.Unmarshal(reply.Result, &res); err != nil {
			return fmt.Errorf("client: rehydrate %s: malformed reply result: %w", m.name, err)
		}
		if res.NewComponentID == "" {
			return fmt.Errorf("client: rehydrate %s: reply has no result.newComponentId", m.name)
		}
		out.OldID, out.NewID = oldID, res.NewComponentID
		if res.NewComponentID == oldID {
			m.mu.Lock()
			if !m.unmounted {
				out.Kind, out.Snapshot = RecoveryResumed, m.recoverSnapshot
			}
			m.mu.Unlock()
			return nil
		}
		if c.rekey(m, oldID, res.NewComponentID, nil) {
			out.Kind = RecoveryRehydrated
		}
		return nil
	}
}

// remountHook returns the reply hook of a recovery COMPONENT_MOUNT: the
// mirror is replaced by the new instance's state and the handle re-keyed to
// its id.
func (c *Client) remountHook(m *Component, oldID string, out *Recovery) func(Message) error {
	return func(reply Message) error {
		res, err := decodeMountResult(m.name, reply)
		if err != nil {
			return err
		}
		out.OldID, out.NewID = oldID, res.ComponentID
		if c.rekey(m, oldID, res.ComponentID, &res) {
			out.Kind = RecoveryRemounted
		}
		return nil
	}
}

// rekey points m at a new server instance with id newID: the routing table
// moves from oldID to newID, the sequence tracking restarts, and the
// messages buffered for newID are replayed into the mirror. With a mount
// result, the mirror and signed state are first replaced by it. It runs on
// the reader goroutine and reports false when m was unmounted meanwhile.
func (c *Client) rekey(m *Component, oldID, newID string, mounted *mountResult) bool {
	c.mu.Lock()
	m.mu.Lock()
	if m.unmounted {
		m.mu.Unlock()
		c.mu.Unlock()
		return false
	}
	if newID != oldID {
		m.id = newID
		m.seq, m.seqKnown = 0, false
		m.incarnation++
	}
	var change func()
	if mounted != nil {
		m.signed, m.signedUsed = nonNull(mounted.SignedState), false
		change = m.replaceStateLocked(mounted.InitialState)
	}
	m.mu.Unlock()
	var buffered []Message
	if newID != oldID {
		c.removeRouteLocked(m, oldID)
		c.addRouteLocked(m, newID)
		buffered = c.unrouted.take(newID, c.now())
	}
	c.mu.Unlock()
	if change != nil {
		change()
	}
	for _, msg := range buffered {
		m.handle(msg)
	}
	return true
}
