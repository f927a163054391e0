package live

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/sendq"
	"github.com/live-go/live/internal/shard"
	"github.com/live-go/live/internal/signing"
	"github.com/live-go/live/internal/upload"
	"github.com/live-go/live/jsclient"
)

// Server is a live component server. It is an http.Handler serving the
// WebSocket endpoint at Options.Prefix+"/ws". Create it with New, register
// components with Register, mount it on a mux, and stop it with Shutdown.
type Server struct {
	opts   Options
	log    *slog.Logger
	signer *signing.Signer

	defsMu sync.RWMutex
	defs   map[string]*componentDef

	conns     shard.Map[*conn]
	instances shard.Map[*instance]
	grace     graceQueue // expiry of connection-less instances (grace.go)
	writers   writerPool // fan-out writes (writers.go)

	singletonMu sync.Mutex
	singletons  map[string]*instance

	cluster    *clusterNode    // nil on a single node
	transports *httpTransports // SSE and long-poll sessions
	broadcast  broadcastGroups
	rooms      shard.Map[*room]

	roomDefsMu sync.RWMutex
	roomDefs   map[string]*roomDef
	retired    signing.NonceStore // component ids already rehydrated

	lifeMu       sync.Mutex // guards closing, shutdownDone and connWG.Add
	closing      bool
	shutdownDone chan struct{} // closed when Shutdown has finished
	shutdownErr  error
	connWG       sync.WaitGroup
	connCount    atomic.Int64

	stats serverStats

	uploads *upload.Manager // chunked uploads (upload.go)
}

// New returns a server configured by opts.
func New(opts Options) (*Server, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	// Nonces are always on: every signed state can be rehydrated once (on
	// any node, when clustered).
	cfg := signing.Config{
		Secret:          o.StateSecret,
		PreviousSecrets: o.PreviousStateSecrets,
		MaxAge:          o.StateMaxAge,
		Encrypt:         o.EncryptState,
		Nonces:          true,
	}
	var retired signing.NonceStore = signing.NewMemoryNonceStore(o.StateMaxAge, signing.DefaultMaxNonces, time.Now)
	if o.Cluster != nil {
		cfg.NonceStore = clusterNonceStore{c: o.Cluster, ttl: o.StateMaxAge}
		retired = clusterNonceStore{c: o.Cluster, ttl: o.StateMaxAge}
	}
	signer, err := signing.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("live: state signing: %w", err)
	}
	uploads, err := newUploadManager(o.Uploads)
	if err != nil {
		return nil, err
	}
	s := &Server{
		opts:       o,
		log:        o.Logger,
		signer:     signer,
		uploads:    uploads,
		defs:       map[string]*componentDef{},
		singletons: map[string]*instance{},
		retired:    retired,
	}
	s.grace.max = int64(o.MaxDetached)
	if s.transports, err = newHTTPTransports(s, o.SSE, o.LongPoll); err != nil {
		return nil, err
	}
	if o.Cluster != nil {
		if err := s.startCluster(); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// ServeHTTP routes the server's endpoints under Options.Prefix.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path, ok := strings.CutPrefix(r.URL.Path, s.opts.Prefix)
	switch {
	case !ok:
		http.NotFound(w, r)
	case path == "/ws":
		s.serveWebSocket(w, r)
	case s.transports.serveHTTP(w, r, path):
	case path == "/client.js" || path == "/protocol_gen.js" || path == "/client.d.ts":
		jsClient.ServeHTTP(w, r) // the embedded browser client
	case s.serveMonitor(w, r, path):
	default:
		http.NotFound(w, r)
	}
}

var jsClient = jsclient.Handler()

// Shutdown stops accepting connections, flushes every connection's queue,
// closes them with code 1001 "server shutdown", waits for their goroutines
// and component teardown, and returns. If ctx ends first, remaining
// connections are dropped and ctx's error is returned.
func (s *Server) Shutdown(ctx context.Context) error {
	s.lifeMu.Lock()
	if s.shutdownDone != nil { // a second call waits for the first
		done := s.shutdownDone
		s.lifeMu.Unlock()
		select {
		case <-done:
			return s.shutdownErr
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	s.closing = true
	s.shutdownDone = make(chan struct{})
	s.lifeMu.Unlock()
	s.shutdownErr = s.shutdown(ctx)
	close(s.shutdownDone)
	return s.shutdownErr
}

func (s *Server) shutdown(ctx context.Context) error {
	s.conns.Range(func(_ string, c *conn) bool {
		c.close(CloseGoingAway, "server shutdown", true)
		return true
	})
	done := make(chan struct{})
	go func() {
		s.connWG.Wait()
		close(done)
	}()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		s.conns.Range(func(_ string, c *conn) bool {
			_ = c.sock.CloseNow()
			return true
		})
		<-done
		err = ctx.Err()
	}
	if terr := s.transports.close(ctx); terr != nil && err == nil {
		err = terr
	}
	if s.cluster != nil {
		s.cluster.shutdown(ctx) // hand owned singletons over before destroying them
	}
	_ = s.uploads.Close() // removes the temporary files of unfinished uploads
	s.grace.stop()
	s.destroyAll() // components kept for resuming clients
	return err
}

func (s *Server) addConn(ctx context.Context, sock Socket, req Request, async bool) (*conn, error) {
	s.lifeMu.Lock()
	if s.closing {
		s.lifeMu.Unlock()
		_ = sock.Close(CloseGoingAway, "server shutdown")
		return nil, ErrServerClosed
	}
	if s.connCount.Add(1) > int64(s.opts.MaxConnections) {
		s.connCount.Add(-1)
		s.lifeMu.Unlock()
		s.log.Warn("live: connection limit reached", "max", s.opts.MaxConnections)
		_ = sock.Close(CloseTryAgainLater, "Maximum connections exceeded")
		return nil, fmt.Errorf("live: maximum connections (%d) exceeded", s.opts.MaxConnections)
	}
	s.connWG.Add(1)
	// Registered before lifeMu is released, so a concurrent Shutdown either
	// refuses this connection or finds it in conns and closes it.
	c := s.newConn(ctx, sock, req)
	// Set before anything is queued: the connection's first flusher may
	// run its final flush (which reads it) before serveAsync starts.
	c.async = async
	s.conns.Store(c.id, c)
	s.lifeMu.Unlock()
	s.observeConnOpened(c)
	return c, nil
}

func (s *Server) removeConn(c *conn) {
	s.stats.foldQueuePeak(c.q.Stats().PeakBytes) // before Delete: see Stats
	s.conns.Delete(c.id)
	s.connCount.Add(-1)
	s.observeConnClosed(c)
	s.connWG.Done()
}

// newID returns a fresh 8-character id.
func (s *Server) newID() string { return protocol.NewID() }

// newComponentID returns an id not used by any live instance.
func (s *Server) newComponentID() string {
	for {
		id := protocol.NewID()
		if _, taken := s.instances.Load(id); !taken {
			return id
		}
	}
}

// resync re-sends a signed snapshot of every component of c after its queue
// overflowed (spec §2.14). Runs on c's flusher.
func (s *Server) resync(c *conn) {
	c.mu.Lock()
	comps := c.comps.all()
	c.mu.Unlock()
	s.observeResync(c)
	for _, in := range comps {
		in.mu.Lock()
		if !in.destroyed {
			if msg, _, _, err := in.snapshotMessage(); err == nil {
				c.push(sendq.Item{Data: msg, Kind: sendq.Snapshot, Key: in.id})
			}
		}
		in.unlock()
	}
}

// handleBinary handles a binary client frame. Upload chunks are the only
// binary frames clients send; until uploads are enabled they are ignored,
// like any other binary header type (spec §1.3).
func (s *Server) handleBinary(c *conn, data []byte) { s.handleUploadBinary(c, data) }
