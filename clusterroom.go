package live

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/live-go/live/internal/protocol"
)

// roomWire travels on a room's cluster subject (spec §4.10, wired in both
// directions, which the reference is not).
type roomWire struct {
	Kind    string          `json:"k"` // "ev", "st", "j", "l", "hello", "sync"
	Node    string          `json:"n"`
	To      string          `json:"to,omitempty"`
	Exclude string          `json:"x,omitempty"` // component id not to deliver to
	Event   string          `json:"e,omitempty"`
	Data    json.RawMessage `json:"d,omitempty"`
	Comp    string          `json:"c,omitempty"`
	User    string          `json:"u,omitempty"`
	Members []remoteMember  `json:"m,omitempty"`
	State   json.RawMessage `json:"s,omitempty"`
}

// remoteMember is a room member on another node.
type remoteMember struct {
	Comp string `json:"c"`
	User string `json:"u,omitempty"`
	Node string `json:"n"`
}

// enqueueRoom publishes w on room id's subject from the node's ordered
// publisher, so room traffic leaves in the order it happened (a goroutine
// per message would reorder it) and callers holding locks never wait for
// the network.
func (n *clusterNode) enqueueRoom(id string, w roomWire) {
	w.Node = n.id
	data, _ := json.Marshal(w)
	n.pubMu.Lock()
	if n.pubStopped {
		n.pubMu.Unlock()
		return
	}
	n.pubQueue = append(n.pubQueue, pubItem{subject: subjectRoom(id), data: data})
	n.pubMu.Unlock()
	select {
	case n.pubWake <- struct{}{}:
	default:
	}
}

type pubItem struct {
	subject string
	data    []byte
}

// publisher drains the publish queue in order until shutdown.
func (n *clusterNode) publisher() {
	defer n.wg.Done()
	for {
		select {
		case <-n.pubWake:
		case <-n.stop:
			n.drainPublishes() // flush what is queued
			return
		}
		n.drainPublishes()
	}
}

func (n *clusterNode) drainPublishes() {
	for {
		n.pubMu.Lock()
		batch := n.pubQueue
		n.pubQueue = nil
		n.pubMu.Unlock()
		if len(batch) == 0 {
			return
		}
		for _, it := range batch {
			ctx, cancel := context.WithTimeout(context.Background(), n.timeout)
			if err := n.c.Publish(ctx, it.subject, it.data); err != nil {
				n.s.log.Warn("live: cluster room publish failed", "subject", it.subject, "err", err)
				n.s.observeClusterError("", err)
			}
			cancel()
		}
	}
}

// localMembers lists r's members on this node. Called with r.mu held.
func (n *clusterNode) localMembers(r *room) []remoteMember {
	members := make([]remoteMember, 0, len(r.order))
	for _, m := range r.order {
		rm := remoteMember{Comp: m.in.id, Node: n.id}
		if m.identity != nil {
			rm.User = m.identity.ID
		}
		members = append(members, rm)
	}
	return members
}

// setRemote replaces node's entries in r.remote with members, announcing
// joins and leaves to the local members. Called with r.mu held.
func (r *room) setRemote(node string, members []remoteMember) {
	old := map[string]bool{}
	for _, m := range r.remote {
		if m.Node == node {
			old[m.Comp] = true
		}
	}
	now := map[string]bool{}
	for _, m := range members {
		now[m.Comp] = true
	}
	r.remote = slices.DeleteFunc(r.remote, func(m remoteMember) bool { return m.Node == node && !now[m.Comp] })
	for comp := range old {
		if !now[comp] {
			r.systemFor(comp, protocol.EventSubLeave)
		}
	}
	for _, m := range members {
		if !old[m.Comp] {
			m.Node = node
			r.remote = append(r.remote, m)
			r.systemFor(m.Comp, protocol.EventSubJoin)
		}
	}
}

// resyncRooms re-announces this node's room members after the backend
// reconnected: messages lost during the outage are healed by the other
// nodes' replies.
func (n *clusterNode) resyncRooms() {
	n.s.rooms.Range(func(id string, r *room) bool {
		r.mu.Lock()
		if len(r.members) > 0 && !r.destroyed {
			n.enqueueRoom(id, roomWire{Kind: "hello", Members: n.localMembers(r)})
		}
		r.mu.Unlock()
		return true
	})
}

// roomJoinedLocally subscribes to a room's subject when it gets its first
// local member and asks the other nodes for their members and state.
// Called with r.mu held: the room waits for its subscription (its first
// member must not miss the other nodes' traffic), the rest of the node
// does not.
func (n *clusterNode) roomJoinedLocally(r *room) {
	fresh, err := n.subscribe(context.Background(), subjectRoom(r.id), func(data []byte) { n.onRoom(r.id, data) })
	if err != nil {
		n.s.log.Warn("live: cluster room subscribe failed", "room", r.id, "err", err)
		n.s.observeClusterError("", err)
		return
	}
	if fresh {
		n.enqueueRoom(r.id, roomWire{Kind: "hello", Members: n.localMembers(r)})
	}
}

// roomEmptyLocally drops the subscription of a room without local members
// (or, when its Subscribe is still in flight, drops it as it arrives).
func (n *clusterNode) roomEmptyLocally(id string) {
	subject := subjectRoom(id)
	n.mu.Lock()
	sub := n.subs[subject]
	delete(n.subs, subject)
	if p := n.subscribing[subject]; p != nil {
		p.unwanted = true
	}
	n.mu.Unlock()
	if sub != nil {
		_ = sub.Close()
	}
}

// onRoom applies another node's room traffic to the local members.
func (n *clusterNode) onRoom(id string, data []byte) {
	var w roomWire
	if json.Unmarshal(data, &w) != nil {
		return
	}
	r := n.s.roomFor(id, false)
	if r == nil {
		return
	}
	if w.Node == n.id && w.Kind != "st" {
		return // our own traffic was delivered locally already
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.destroyed {
		return
	}
	switch w.Kind {
	case "ev":
		data := []byte(w.Data)
		if len(data) == 0 {
			data = []byte("null")
		}
		if r.typed != nil {
			r.typed.emitBinary(r, nil, w.Event, data)
		} else {
			r.deliver(nil, -1, r.jsonTail(protocol.TypeRoomEvent, w.Event, data))
		}
		r.runHandlers(nil, nil, w.Event, data, 0)
	case "st":
		// Every node, the writer included, applies state writes in the
		// bus's order, so concurrent writers converge.
		if r.typed == nil && len(w.Data) > 0 {
			if changes, err := r.state.apply(w.Data, r.deepDiff, MaxRoomStateSize); err == nil && changes != nil {
				d := make([]byte, 0, len(changes)+12)
				d = append(append(append(d, `{"state":`...), changes...), '}')
				r.deliver(nil, -1, r.jsonTail(protocol.TypeRoomState, protocol.EventStateUpdate, d))
			}
		}
	case "j":
		if !slices.ContainsFunc(r.remote, func(m remoteMember) bool { return m.Comp == w.Comp }) {
			r.remote = append(r.remote, remoteMember{Comp: w.Comp, User: w.User, Node: w.Node})
			r.systemFor(w.Comp, protocol.EventSubJoin)
		}
	case "l":
		before := len(r.remote)
		r.remote = slices.DeleteFunc(r.remote, func(m remoteMember) bool { return m.Comp == w.Comp })
		if len(r.remote) != before {
			r.systemFor(w.Comp, protocol.EventSubLeave)
		}
	case "hello":
		// The sender announces its members (a newcomer, or a node back from
		// a backend outage); answer with ours and the state.
		r.setRemote(w.Node, w.Members)
		members := n.localMembers(r)
		if len(members) == 0 {
			return
		}
		var state json.RawMessage
		if r.typed == nil {
			state = r.state.encode(nil)
		}
		n.enqueueRoom(id, roomWire{Kind: "sync", To: w.Node, Members: members, State: state})
	case "sync":
		if w.To != n.id {
			return
		}
		r.setRemote(w.Node, w.Members)
		if r.typed == nil && len(w.State) > 2 {
			// Adopt keys we do not have; keys we have are settled by the
			// ordered state writes.
			var theirs map[string]json.RawMessage
			if json.Unmarshal(w.State, &theirs) == nil {
				missing := map[string]json.RawMessage{}
				for k, v := range theirs {
					if _, ok := r.state.vals[k]; !ok {
						missing[k] = v
					}
				}
				if len(missing) > 0 {
					b, _ := json.Marshal(missing)
					if changes, err := r.state.apply(b, r.deepDiff, MaxRoomStateSize); err == nil && changes != nil {
						d := append(append([]byte(`{"state":`), changes...), '}')
						r.deliver(nil, -1, r.jsonTail(protocol.TypeRoomState, protocol.EventStateUpdate, d))
					}
				}
			}
		}
	}
}
