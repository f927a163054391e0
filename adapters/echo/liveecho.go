package liveecho

import (
	"context"
	"net/http"

	"github.com/labstack/echo/v4"

	live "github.com/live-go/live"
)

// IdentityKey is the key of the Echo context (echo.Context.Set) under which
// the application's middleware stores the caller's *live.Identity for
// Handler to carry into live.
const IdentityKey = "live.identity"

// Router is what Mount registers routes on: *echo.Echo and *echo.Group.
type Router interface {
	Any(path string, h echo.HandlerFunc, m ...echo.MiddlewareFunc) []*echo.Route
}

var (
	_ Router = (*echo.Echo)(nil)
	_ Router = (*echo.Group)(nil)
)

// Handler returns an Echo handler that serves srv. The request path must be
// under the server's Options.Prefix. The *live.Identity stored under
// IdentityKey, if any, is attached to the request's context for
// IdentityFromContext. The handler writes its own response and always
// returns nil.
func Handler(srv *live.Server) echo.HandlerFunc {
	return handler(srv)
}

func handler(srv http.Handler) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		if id := asIdentity(c.Get(IdentityKey)); id != nil {
			r = r.WithContext(contextWithIdentity(r.Context(), id))
		}
		srv.ServeHTTP(c.Response(), r)
		return nil
	}
}

// Mount registers Handler(srv) for every method on prefix+"/*" of r. The
// full path of the routes (a group's prefix followed by prefix) must equal
// the server's Options.Prefix, live.DefaultPrefix unless set.
func Mount(r Router, prefix string, srv *live.Server) {
	r.Any(prefix+"/*", Handler(srv))
}

// Identify is a live.Options.Identify function that returns the identity
// the application's Echo middleware stored under IdentityKey for the
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

// IdentityFromContext returns the identity Handler carried into ctx (the
// context Options.Identify receives, or the request's), or nil.
func IdentityFromContext(ctx context.Context) *live.Identity {
	id, _ := ctx.Value(identityKey{}).(*live.Identity)
	return id
}

func contextWithIdentity(ctx context.Context, id *live.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// asIdentity accepts an identity stored as a pointer or as a value.
func asIdentity(v any) *live.Identity {
	switch id := v.(type) {
	case *live.Identity:
		return id
	case live.Identity:
		return &id
	}
	return nil
}
