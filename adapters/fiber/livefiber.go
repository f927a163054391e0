package livefiber

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/fasthttp/websocket"
	"github.com/gofiber/fiber/v3"
	"github.com/gofiber/fiber/v3/middleware/adaptor"
	"github.com/valyala/fasthttp"

	live "github.com/live-go/live"
)

// IdentityKey is the key of the request's locals (fiber.Ctx.Locals) under
// which the application's middleware stores the caller's *live.Identity for
// the handlers to carry into live.
const IdentityKey = "live.identity"

// Options configures the handlers of this package.
type Options struct {
	// AllowedOrigins must be the live.Options.AllowedOrigins the Server was
	// created with: WebSocketHandler applies the same rules to the
	// upgrades it serves itself. Default (empty): same-origin only, like
	// the Server.
	AllowedOrigins []string
}

// Mount registers WebSocketHandler on GET prefix+"/ws" and HTTPHandler on
// every other route under prefix. The full path of the routes (a group's
// prefix followed by prefix) must equal the server's Options.Prefix,
// live.DefaultPrefix unless set.
func Mount(r fiber.Router, prefix string, srv *live.Server, opts Options) {
	r.Get(prefix+"/ws", WebSocketHandler(srv, opts))
	r.All(prefix+"/*", HTTPHandler(srv))
}

// HTTPHandler returns a Fiber handler serving srv's HTTP routes (everything
// but the WebSocket endpoint) through Fiber's net/http adaptor. The
// request is copied out of fasthttp's buffers first, and the
// *live.Identity stored in its locals under IdentityKey, if any, is
// attached to its context.
func HTTPHandler(srv *live.Server) fiber.Handler {
	return adaptor.HTTPHandler(detach(srv))
}

// detach makes the adapted request safe to keep after the fasthttp handler
// returns, which SSE and long-polling sessions do: its strings point into
// fasthttp's reused buffers, and its context is the reused RequestCtx.
func detach(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := asIdentity(r.Context().Value(IdentityKey)) // the fiber locals
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		if id != nil {
			ctx = contextWithIdentity(ctx, id)
		}
		next.ServeHTTP(w, cloneRequest(ctx, r))
	})
}

// cloneRequest returns a copy of r, bound to ctx, that shares no memory
// with r except its body, which the handler reads before it returns.
func cloneRequest(ctx context.Context, r *http.Request) *http.Request {
	c := r.WithContext(ctx)
	c.Method = strings.Clone(r.Method)
	c.Proto = strings.Clone(r.Proto)
	c.Host = strings.Clone(r.Host)
	c.RemoteAddr = strings.Clone(r.RemoteAddr)
	c.RequestURI = strings.Clone(r.RequestURI)
	c.Header = cloneHeader(r.Header)
	c.TransferEncoding = nil
	c.URL = cloneURL(r.URL)
	return c
}

func cloneHeader(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		cv := make([]string, len(vs))
		for i, v := range vs {
			cv[i] = strings.Clone(v)
		}
		out[strings.Clone(k)] = cv
	}
	return out
}

func cloneURL(u *url.URL) *url.URL {
	if u == nil {
		return &url.URL{}
	}
	c := &url.URL{
		Scheme:      strings.Clone(u.Scheme),
		Opaque:      strings.Clone(u.Opaque),
		Host:        strings.Clone(u.Host),
		Path:        strings.Clone(u.Path),
		RawPath:     strings.Clone(u.RawPath),
		OmitHost:    u.OmitHost,
		ForceQuery:  u.ForceQuery,
		RawQuery:    strings.Clone(u.RawQuery),
		Fragment:    strings.Clone(u.Fragment),
		RawFragment: strings.Clone(u.RawFragment),
	}
	if u.User != nil {
		if p, ok := u.User.Password(); ok {
			c.User = url.UserPassword(strings.Clone(u.User.Username()), strings.Clone(p))
		} else {
			c.User = url.User(strings.Clone(u.User.Username()))
		}
	}
	return c
}

// upgrader upgrades every WebSocket request; origins are checked after the
// upgrade, so that refused clients get close code 4003 (and do not retry),
// as from the Server's own endpoint.
var upgrader = websocket.FastHTTPUpgrader{
	CheckOrigin:     func(*fasthttp.RequestCtx) bool { return true },
	WriteBufferPool: &sync.Pool{},
}

// WebSocketHandler returns a Fiber handler serving srv's WebSocket endpoint
// with fasthttp's WebSocket implementation: it upgrades the request, closes
// it with code 4003 "Origin not allowed" when opts.AllowedOrigins refuses
// its origin, and otherwise serves it with srv.ServeSocket until it ends. A
// request that is not a WebSocket upgrade gets 426 Upgrade Required.
func WebSocketHandler(srv *live.Server, opts Options) fiber.Handler {
	allowed := append([]string(nil), opts.AllowedOrigins...)
	return func(c fiber.Ctx) error {
		fctx := c.RequestCtx()
		if !websocket.FastHTTPIsWebSocketUpgrade(fctx) {
			return fiber.ErrUpgradeRequired
		}
		// Everything the connection needs is copied now: fasthttp reuses
		// the request once this handler returns, before the hijacked
		// connection is served.
		req := snapshot(fctx, asIdentity(c.Locals(IdentityKey)))
		ok := originAllowed(allowed, req.Origin, req.HTTP.Host)
		err := upgrader.Upgrade(fctx, func(conn *websocket.Conn) {
			sock := newSocket(conn)
			defer sock.release()
			if !ok {
				_ = sock.Close(live.CloseOriginNotAllowed, "Origin not allowed")
				return
			}
			_ = srv.ServeSocket(req.HTTP.Context(), sock, req)
		})
		var he websocket.HandshakeError
		if err != nil && !errors.As(err, &he) {
			return err
		}
		return nil // a failed handshake already has its error response
	}
}

// snapshot copies the upgrade request out of fasthttp's buffers.
func snapshot(fctx *fasthttp.RequestCtx, id *live.Identity) live.Request {
	h := make(http.Header, fctx.Request.Header.Len())
	for k, v := range fctx.Request.Header.All() {
		if string(k) == fasthttp.HeaderHost {
			continue // net/http keeps it in Request.Host
		}
		h.Add(string(k), string(v))
	}
	uri := string(fctx.RequestURI())
	u, err := url.ParseRequestURI(uri)
	if err != nil {
		u = &url.URL{Path: string(fctx.Path())}
	}
	ctx := context.Background()
	if id != nil {
		ctx = contextWithIdentity(ctx, id)
	}
	r := (&http.Request{
		Method:     http.MethodGet,
		URL:        u,
		Proto:      "HTTP/1.1",
		ProtoMajor: 1,
		ProtoMinor: 1,
		Header:     h,
		Body:       http.NoBody,
		Host:       string(fctx.Host()),
		RemoteAddr: fctx.RemoteAddr().String(),
		RequestURI: uri,
		TLS:        fctx.TLSConnectionState(),
	}).WithContext(ctx)
	return live.Request{Origin: h.Get("Origin"), RemoteAddr: r.RemoteAddr, Header: h, HTTP: r}
}

// originAllowed applies the Server's origin rules (live.Options.AllowedOrigins)
// to an opening request with the given Origin header and Host.
func originAllowed(allowed []string, origin, host string) bool {
	if len(allowed) > 0 {
		for _, o := range allowed {
			if o == "*" || o == origin {
				return true
			}
		}
		return false
	}
	if origin == "" {
		return true // not a browser
	}
	u, err := url.Parse(origin)
	if err != nil {
		return false
	}
	return strings.EqualFold(u.Host, host)
}

// Identify is a live.Options.Identify function that returns the identity
// the application's Fiber middleware stored under IdentityKey for the
// request that opened the connection, or nil (anonymous).
func Identify(ctx context.Context, r *live.Request) (*live.Identity, error) {
	if id := IdentityFromContext(ctx); id != nil {
		return id, nil
	}
	if r != nil && r.HTTP != nil {
		return IdentityFromContext(r.HTTP.Context()), nil
	}
	return nil, nil
}

// identityKey is the context.Context key of the carried identity.
type identityKey struct{}

// IdentityFromContext returns the identity the handlers carried into ctx
// (the context Options.Identify receives, or the request's), or nil.
func IdentityFromContext(ctx context.Context) *live.Identity {
	id, _ := ctx.Value(identityKey{}).(*live.Identity)
	return id
}

func contextWithIdentity(ctx context.Context, id *live.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// asIdentity accepts an identity stored as a pointer or as a value, and
// returns a copy that shares no string memory with it: a Fiber middleware
// easily builds one from c.Get or c.Params, whose strings point into
// fasthttp's reused buffers, and the connection keeps it for its life.
func asIdentity(v any) *live.Identity {
	var id *live.Identity
	switch x := v.(type) {
	case *live.Identity:
		id = x
	case live.Identity:
		id = &x
	}
	if id == nil {
		return nil
	}
	c := &live.Identity{
		ID:          strings.Clone(id.ID),
		Roles:       cloneStrings(id.Roles),
		Permissions: cloneStrings(id.Permissions),
	}
	if id.Claims != nil {
		c.Claims = make(map[string]any, len(id.Claims))
		for k, v := range id.Claims {
			if s, ok := v.(string); ok {
				v = strings.Clone(s)
			}
			c.Claims[strings.Clone(k)] = v
		}
	}
	return c
}

func cloneStrings(ss []string) []string {
	if ss == nil {
		return nil
	}
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = strings.Clone(s)
	}
	return out
}
