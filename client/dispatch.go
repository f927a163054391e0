package client

import (
	"bytes"
	"encoding/json"
	"time"

	"github.com/live-go/live/internal/protocol"
)

// Bounds of the buffer for messages addressed to a component id that is not
// registered yet (spec §10.3: the reference keeps 32 messages for each of at
// most 64 ids for 5 s). unroutedMaxBytes additionally caps the retained
// bytes so a hostile server cannot pin 64×32 maximal frames.
const (
	unroutedPerComponent = 32
	unroutedComponents   = 64
	unroutedTTL          = 5 * time.Second
	unroutedMaxBytes     = 8 << 20
)

// dispatchText handles one inbound text frame of connection s (nil in
// tests): a JSON object or an array of JSON objects. It runs on the reader
// goroutine (or directly in tests) and never panics on malformed input.
func (c *Client) dispatchText(s *session, frame []byte) {
	frame = bytes.TrimSpace(frame)
	if len(frame) == 0 {
		return
	}
	if frame[0] != '[' {
		c.dispatchOne(s, frame)
		return
	}
	var elems []json.RawMessage
	if err := json.Unmarshal(frame, &elems); err != nil {
		c.log.Debug("client: dropping malformed array frame", "err", err)
		return
	}
	for _, e := range elems {
		c.dispatchOne(s, e)
	}
}

func (c *Client) dispatchOne(s *session, raw []byte) {
	msg, ok := parseMessage(raw)
	if !ok {
		c.log.Debug("client: dropping a message that is not a JSON object")
		return
	}
	if msg.Type == protocol.TypeConnectionEstablished {
		c.markEstablished(s, msg.connectionID)
	}

	c.mu.Lock()
	onMsg := c.msgHandlers.list
	c.mu.Unlock()
	for _, h := range onMsg {
		h.fn(msg)
	}

	if msg.RequestID != "" && c.resolve(msg) {
		return
	}
	if msg.Type == protocol.TypeBroadcast {
		c.broadcast(msg)
		return
	}
	if msg.ComponentID == "" {
		return
	}
	c.mu.Lock()
	comps := c.components[msg.ComponentID]
	if len(comps) == 0 {
		if !c.unrouted.add(msg, c.now()) {
			c.log.Debug("client: unrouted buffer full, dropping message",
				"componentId", msg.ComponentID, "type", msg.Type)
		}
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	for _, m := range comps {
		m.handle(msg)
	}
}

// markEstablished records the connection id of s and wakes connect.
func (c *Client) markEstablished(s *session, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if s == nil || c.cur == s {
		c.connID = id
	}
	if s != nil {
		s.connID = id
		if !s.isEstab {
			s.isEstab = true
			close(s.established)
		}
	}
}

// resolve completes the pending request the reply belongs to, if any.
func (c *Client) resolve(msg Message) bool {
	c.mu.Lock()
	p, ok := c.pending[msg.RequestID]
	if ok {
		delete(c.pending, msg.RequestID)
	}
	c.mu.Unlock()
	if !ok {
		return false
	}
	r := callResult{msg: msg}
	if p.onReply != nil && replyError(msg) == nil {
		r.err = p.onReply(msg)
	}
	p.ch <- r
	return true
}

// broadcast delivers a BROADCAST to every registered component except the
// sender (spec §2.13, §10.3).
func (c *Client) broadcast(msg Message) {
	c.mu.Lock()
	var targets []*Component
	for id, comps := range c.components {
		if id != msg.ComponentID {
			targets = append(targets, comps...)
		}
	}
	c.mu.Unlock()
	for _, m := range targets {
		m.handle(msg)
	}
}

// register adds a new component m to the routing table and returns, in
// arrival order, the still-fresh messages buffered for its id. It runs on
// the reader goroutine (from the mount reply), so no message for the id can
// be routed between the registration and the replay.
func (c *Client) register(m *Component) []Message {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.mountSeq++
	m.order = c.mountSeq
	c.addRouteLocked(m, m.id)
	return c.unrouted.take(m.id, c.now())
}

// unregister removes m from the routing table.
func (c *Client) unregister(m *Component, id string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removeRouteLocked(m, id)
}

// addRouteLocked routes messages for id to m. Called with c.mu held.
func (c *Client) addRouteLocked(m *Component, id string) {
	next := make([]*Component, len(c.components[id]), len(c.components[id])+1)
	copy(next, c.components[id])
	c.components[id] = append(next, m)
}

// removeRouteLocked stops routing messages for id to m. Called with c.mu
// held.
func (c *Client) removeRouteLocked(m *Component, id string) {
	comps := c.components[id]
	for i, x := range comps {
		if x == m {
			if len(comps) == 1 {
				delete(c.components, id)
				return
			}
			next := make([]*Component, 0, len(comps)-1)
			next = append(next, comps[:i]...)
			c.components[id] = append(next, comps[i+1:]...)
			return
		}
	}
}

// dispatchBinary routes one binary frame: 0x01 component deltas to the
// component's binary handlers, anything else to the client's. Frames shorter
// than 3 bytes, and 0x01 frames whose id runs past the end, are dropped.
func (c *Client) dispatchBinary(frame []byte) {
	if len(frame) < 3 {
		return
	}
	if frame[0] != 0x01 {
		c.mu.Lock()
		hs := c.binHandlers.list
		c.mu.Unlock()
		for _, h := range hs {
			h.fn(frame)
		}
		return
	}
	n := int(frame[1])
	if len(frame) < 2+n {
		return
	}
	id, payload := string(frame[2:2+n]), frame[2+n:]
	c.mu.Lock()
	comps := c.components[id]
	c.mu.Unlock()
	if len(comps) == 0 {
		c.log.Debug("client: binary delta for unknown component", "componentId", id)
	}
	for _, m := range comps {
		m.handleBinary(payload)
	}
}

// unroutedBuffer keeps messages for component ids not registered yet. The
// owning Client's mutex guards it.
type unroutedBuffer struct {
	queues map[string][]bufferedMessage
	bytes  int
}

type bufferedMessage struct {
	msg Message
	at  time.Time
}

// add buffers msg and reports whether it was kept.
func (b *unroutedBuffer) add(msg Message, now time.Time) bool {
	size := msgSize(msg)
	if b.bytes+size > unroutedMaxBytes {
		b.expire(now)
		if b.bytes+size > unroutedMaxBytes {
			return false
		}
	}
	q, ok := b.queues[msg.ComponentID]
	if !ok && len(b.queues) >= unroutedComponents {
		b.expire(now)
		if len(b.queues) >= unroutedComponents {
			return false
		}
	}
	if len(q) >= unroutedPerComponent {
		q = b.expireQueue(msg.ComponentID, q, now)
		if len(q) >= unroutedPerComponent {
			return false
		}
	}
	if b.queues == nil {
		b.queues = make(map[string][]bufferedMessage)
	}
	b.queues[msg.ComponentID] = append(q, bufferedMessage{msg: msg, at: now})
	b.bytes += size
	return true
}

// take removes the queue of id and returns its messages younger than the TTL.
func (b *unroutedBuffer) take(id string, now time.Time) []Message {
	q, ok := b.queues[id]
	if !ok {
		return nil
	}
	delete(b.queues, id)
	out := make([]Message, 0, len(q))
	for _, e := range q {
		b.bytes -= msgSize(e.msg)
		if now.Sub(e.at) <= unroutedTTL {
			out = append(out, e.msg)
		}
	}
	return out
}

// expire drops every message older than the TTL.
func (b *unroutedBuffer) expire(now time.Time) {
	for id, q := range b.queues {
		b.expireQueue(id, q, now)
	}
}

// expireQueue drops the expired head of one queue (messages are in arrival
// order) and returns what is left.
func (b *unroutedBuffer) expireQueue(id string, q []bufferedMessage, now time.Time) []bufferedMessage {
	i := 0
	for i < len(q) && now.Sub(q[i].at) > unroutedTTL {
		b.bytes -= msgSize(q[i].msg)
		i++
	}
	if i == 0 {
		return q
	}
	if i == len(q) {
		delete(b.queues, id)
		return nil
	}
	rest := append([]bufferedMessage(nil), q[i:]...)
	b.queues[id] = rest
	return rest
}

// msgSize approximates the bytes a buffered message retains.
func msgSize(m Message) int {
	return len(m.Raw) + len(m.Payload) + len(m.Result)
}
