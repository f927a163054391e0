package livegin

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"

	live "github.com/live-go/live"
)

// IdentityKey is the key of the Gin context (gin.Context.Set) under which
// the application's middleware stores the caller's *live.Identity for
// Handler to carry into live.
const IdentityKey = "live.identity"

// Handler returns a Gin handler that serves srv. The request path must be
// under the server's Options.Prefix. The *live.Identity stored under
// IdentityKey, if any, is attached to the request's context for
// IdentityFromContext.
func Handler(srv *live.Server) gin.HandlerFunc {
	return handler(srv)
}

func handler(srv http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		r := c.Request
		if v, ok := c.Get(IdentityKey); ok {
			if id := asIdentity(v); id != nil {
				r = r.WithContext(contextWithIdentity(r.Context(), id))
			}
		}
		srv.ServeHTTP(c.Writer, r)
	}
}

// Mount registers Handler(srv) for every method on prefix+"/*path" of r.
// The full path of the routes (r's base path followed by prefix) must equal
// the server's Options.Prefix, live.DefaultPrefix unless set.
func Mount(r gin.IRouter, prefix string, srv *live.Server) {
	r.Any(prefix+"/*path", Handler(srv))
}

// Identify is a live.Options.Identify function that returns the identity
// the application's Gin middleware stored under IdentityKey for the
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
