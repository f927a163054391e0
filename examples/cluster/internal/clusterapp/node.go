package clusterapp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	live "github.com/live-go/live"
)

// MinSecret is the shortest accepted state secret, in bytes.
const MinSecret = 32

// StatusTimeout bounds the backend queries of one Status call.
const StatusTimeout = 2 * time.Second

// NodeConfig configures a Node.
type NodeConfig struct {
	// Cluster is the node's cluster backend handle; the Node closes it in
	// Shutdown. Nil runs a standalone node.
	Cluster live.Cluster
	// Backend describes the backend in Status (for example
	// Backend.String()). Default "none".
	Backend string
	// Secret signs (and verifies) component states. Every node of a
	// cluster needs the same one, so that a client can rehydrate on any
	// node what another node signed. At least MinSecret bytes (required).
	Secret []byte
	// LeaseTTL is the singleton owner's lease (live.Options.ClusterLeaseTTL).
	// Default live.DefaultClusterLeaseTTL.
	LeaseTTL time.Duration
	// ActionTimeout bounds actions forwarded to a singleton's owner
	// (live.Options.ClusterActionTimeout). Default
	// live.DefaultClusterActionTimeout.
	ActionTimeout time.Duration
	// Logger receives the node's logs. Default: discard.
	Logger *slog.Logger
}

// Node is one live.Server serving the example's components, with its page
// and a status route. Create it with NewNode.
type Node struct {
	srv     *live.Server
	cluster live.Cluster
	id      string
	backend string
}

// NewNode creates the node's live.Server and registers the components:
// Counter (per connection), SharedCounter and TodoList (singletons) and
// Chat (per connection, in the LobbyRoom room). The server's only auth
// provider refuses client ROOM_JOINs of LobbyRoom and authenticates nobody.
func NewNode(cfg NodeConfig) (*Node, error) {
	if len(cfg.Secret) < MinSecret {
		return nil, fmt.Errorf("clusterapp: the state secret has %d bytes, want at least %d (the same on every node)", len(cfg.Secret), MinSecret)
	}
	if cfg.Backend == "" {
		cfg.Backend = "none"
	}
	srv, err := live.New(live.Options{
		StateSecret:          cfg.Secret,
		Cluster:              cfg.Cluster,
		ClusterLeaseTTL:      cfg.LeaseTTL,
		ClusterActionTimeout: cfg.ActionTimeout,
		Logger:               cfg.Logger,
		AuthProviders:        []live.AuthProvider{lobbyGuard{}},
	})
	if err != nil {
		return nil, fmt.Errorf("clusterapp: %w", err)
	}
	if err := Register(srv); err != nil {
		return nil, err
	}
	n := &Node{srv: srv, cluster: cfg.Cluster, backend: cfg.Backend, id: "standalone"}
	if cfg.Cluster != nil {
		n.id = cfg.Cluster.NodeID()
	}
	return n, nil
}

// Register adds the example's components to s.
func Register(s *live.Server) error {
	err := errors.Join(
		live.Register(s, live.Component[Counter]{Name: CounterName, Actions: []string{"increment", "decrement"}}),
		live.Register(s, live.Component[SharedCounter]{Name: SharedCounterName, Singleton: true,
			Actions: []string{"bump"},
			New:     func() *SharedCounter { return &SharedCounter{Last: map[string]int{}} }}),
		live.Register(s, live.Component[TodoList]{Name: TodoListName, Singleton: true,
			Actions: []string{"addTodo", "toggleTodo", "removeTodo", "clearDone"},
			New:     func() *TodoList { return &TodoList{Todos: []Todo{}, NextID: 1} }}),
		live.Register(s, live.Component[Chat]{Name: ChatName, Actions: []string{"join", "send"}}),
	)
	if err != nil {
		return fmt.Errorf("clusterapp: register: %w", err)
	}
	return nil
}

// lobbyGuard keeps clients from joining LobbyRoom themselves with
// ROOM_JOIN: only a Chat joins it (server-side, with server-only state), so
// a client cannot create the room on a node without that protection and
// write its state. It authenticates nobody.
type lobbyGuard struct{}

var _ live.RoomAuthorizer = lobbyGuard{}

func (lobbyGuard) Name() string { return "clusterapp" }

func (lobbyGuard) Authenticate(context.Context, json.RawMessage) (*live.Identity, error) {
	return nil, nil
}

func (lobbyGuard) AuthorizeRoom(_ context.Context, _ *live.Identity, roomID string) (bool, error) {
	return roomID != LobbyRoom, nil
}

// ID returns the node's id in the cluster ("standalone" without one).
func (n *Node) ID() string { return n.id }

// Server returns the node's live.Server.
func (n *Node) Server() *live.Server { return n.srv }

// Handler returns the node's HTTP handler:
//
//	GET /                 the page (one panel: this node)
//	GET /panels           the page's panels, as JSON
//	GET /cluster          Status, as JSON
//	    /api/live/...     the live.Server (WebSocket at /api/live/ws)
//
// Every path is relative, so the handler also works under a prefix
// stripped with http.StripPrefix.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle(live.DefaultPrefix+"/", n.srv)
	mux.Handle("GET /{$}", PageHandler())
	mux.Handle("GET /panels", PanelsHandler([]Panel{{Name: n.id, Base: "./"}}))
	mux.HandleFunc("GET /cluster", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, n.Status(r.Context()))
	})
	return mux
}

// Owner is the holder of a singleton's lease.
type Owner struct {
	// Node is the holder's node id; "" when nobody holds the lease.
	Node string `json:"node"`
	// Token is the lease's fencing token.
	Token uint64 `json:"token,omitempty"`
	// Error is set when the backend could not be asked.
	Error string `json:"error,omitempty"`
}

// Status is what a node reports about itself and the singletons' owners.
type Status struct {
	// Node is this node's id.
	Node string `json:"node"`
	// Backend describes the cluster backend (NodeConfig.Backend).
	Backend string `json:"backend"`
	// Owners maps each of SingletonNames to its owner (empty without a
	// cluster).
	Owners map[string]Owner `json:"owners"`
	// Connections is the number of open client connections.
	Connections int `json:"connections"`
	// ClusterErrors counts failed cluster operations (live.Stats).
	ClusterErrors uint64 `json:"clusterErrors"`
	// ClusterTakeovers counts singletons this node took over (live.Stats).
	ClusterTakeovers uint64 `json:"clusterTakeovers"`
}

// leaseKey is the lease key of a singleton in the live core's cluster
// protocol ("singleton/<name>", see docs/cluster.md).
func leaseKey(name string) string { return "singleton/" + name }

// Status asks the backend who owns each singleton (within StatusTimeout)
// and reads the server's counters.
func (n *Node) Status(ctx context.Context) Status {
	st := n.srv.Stats()
	s := Status{Node: n.id, Backend: n.backend, Owners: map[string]Owner{},
		Connections: st.Connections, ClusterErrors: st.ClusterErrors, ClusterTakeovers: st.ClusterTakeovers}
	if n.cluster == nil {
		return s
	}
	ctx, cancel := context.WithTimeout(ctx, StatusTimeout)
	defer cancel()
	for _, name := range SingletonNames() {
		l, err := n.cluster.LeaseHolder(ctx, leaseKey(name))
		switch {
		case err == nil:
			s.Owners[name] = Owner{Node: l.Holder, Token: l.Token}
		case errors.Is(err, live.ErrNoLease):
			s.Owners[name] = Owner{}
		default:
			s.Owners[name] = Owner{Error: err.Error()}
		}
	}
	return s
}

// Shutdown shuts the server down (owned singletons are handed to other
// nodes, clients are told to reconnect) and then closes the cluster
// handle.
func (n *Node) Shutdown(ctx context.Context) error {
	err := n.srv.Shutdown(ctx)
	if n.cluster != nil {
		if cerr := n.cluster.Close(); cerr != nil {
			err = errors.Join(err, fmt.Errorf("clusterapp: close the cluster: %w", cerr))
		}
	}
	return err
}

func writeJSON(w http.ResponseWriter, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write(append(b, '\n'))
}
