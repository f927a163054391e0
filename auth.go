package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/live-go/live/internal/protocol"
)

// Identity is an authenticated caller. It is immutable once a connection
// holds it: the library copies it and never changes it.
type Identity struct {
	// ID is the user (session) id. Client-supplied userId fields are never
	// used; this is the only source of a user id.
	ID string `json:"id"`
	// Roles are matched by Component.Auth and ActionAuth rules (any of).
	Roles []string `json:"roles,omitempty"`
	// Permissions are matched by rules (all of).
	Permissions []string `json:"permissions,omitempty"`
	// Claims are extra session fields, sent back in AUTH_RESPONSE.
	Claims map[string]any `json:"-"`
}

// HasRole reports whether id has role r. A nil Identity has no roles.
func (id *Identity) HasRole(r string) bool { return id != nil && slices.Contains(id.Roles, r) }

// HasPermission reports whether id has permission p.
func (id *Identity) HasPermission(p string) bool {
	return id != nil && slices.Contains(id.Permissions, p)
}

func (id *Identity) clone() *Identity {
	if id == nil {
		return nil
	}
	c := &Identity{ID: id.ID, Roles: slices.Clone(id.Roles), Permissions: slices.Clone(id.Permissions)}
	if id.Claims != nil {
		c.Claims = deepCopy(id.Claims).(map[string]any)
	}
	return c
}

// deepCopy copies maps and slices recursively, so no two identities share
// mutable claim values.
func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		s := make([]any, len(x))
		for i, e := range x {
			s[i] = deepCopy(e)
		}
		return s
	case []string:
		return slices.Clone(x)
	case map[string]string:
		m := make(map[string]string, len(x))
		for k, e := range x {
			m[k] = e
		}
		return m
	}
	return v
}

// sessionJSON is the AUTH_RESPONSE session object: claims, then id, roles
// and permissions (which claims cannot override).
func (id *Identity) sessionJSON() ([]byte, error) {
	m := make(map[string]any, len(id.Claims)+3)
	for k, v := range id.Claims {
		m[k] = v
	}
	m["id"] = id.ID
	m["roles"] = append([]string{}, id.Roles...)
	m["permissions"] = append([]string{}, id.Permissions...)
	return json.Marshal(m)
}

// AuthProvider authenticates the credentials of an AUTH message.
type AuthProvider interface {
	// Name identifies the provider in error messages.
	Name() string
	// Authenticate returns the identity for credentials (the AUTH payload),
	// or nil (and no error) when they do not authenticate anyone.
	Authenticate(ctx context.Context, credentials json.RawMessage) (*Identity, error)
}

// ActionAuthorizer is an optional AuthProvider capability consulted (on the
// first provider) for every action that has an ActionAuth rule.
type ActionAuthorizer interface {
	AuthorizeAction(ctx context.Context, id *Identity, component, action string) (bool, error)
}

// RoomAuthorizer is an optional AuthProvider capability consulted (on the
// first provider) for every client ROOM_JOIN.
type RoomAuthorizer interface {
	AuthorizeRoom(ctx context.Context, id *Identity, roomID string) (bool, error)
}

// AuthRule is a declarative authorization check (spec §5.4). Every set
// condition must hold.
type AuthRule struct {
	// Required demands an authenticated caller.
	Required bool
	// Roles: the caller needs at least one of them.
	Roles []string
	// Permissions: the caller needs all of them.
	Permissions []string
	// Authorize is a custom check; a non-nil error denies with its text
	// as the reason. For actions, payload is the raw CALL_ACTION payload;
	// at mount and rehydrate it is nil. It runs on the caller's goroutine.
	Authorize func(ctx context.Context, id *Identity, payload json.RawMessage) error
}

// errAuthDenied builds "AUTH_DENIED: <reason>".
func errAuthDenied(reason string) error {
	return &actionError{msg: "AUTH_DENIED: " + reason}
}

// checkComponent applies a mount-time rule.
func (r *AuthRule) checkComponent(ctx context.Context, id *Identity) error {
	if r == nil {
		return nil
	}
	anon := id == nil
	if r.Required && anon {
		return errAuthDenied("Authentication required")
	}
	if len(r.Roles) > 0 {
		if anon {
			return errAuthDenied("Authentication required. Roles needed: " + strings.Join(r.Roles, ", "))
		}
		if !slices.ContainsFunc(r.Roles, id.HasRole) {
			return errAuthDenied("Insufficient roles. Required one of: " + strings.Join(r.Roles, ", "))
		}
	}
	if len(r.Permissions) > 0 {
		if anon {
			return errAuthDenied("Authentication required. Permissions needed: " + strings.Join(r.Permissions, ", "))
		}
		for _, p := range r.Permissions {
			if !id.HasPermission(p) {
				return errAuthDenied("Insufficient permissions. Required all: " + strings.Join(r.Permissions, ", "))
			}
		}
	}
	if r.Authorize != nil {
		if err := callAuthorize(ctx, r.Authorize, id, nil); err != nil {
			var pe *panicError
			if errors.As(err, &pe) {
				return errAuthDenied("Authorization error: " + pe.msg)
			}
			return errAuthDenied(reasonOr(err, "Denied by custom authorize"))
		}
	}
	return nil
}

// checkAction applies a per-action rule with the caller's identity.
func (s *Server) checkAction(ctx context.Context, r *AuthRule, id *Identity, component, action string, payload []byte) error {
	anon := id == nil
	if r.Required && anon {
		return errAuthDenied(fmt.Sprintf("Authentication required for action '%s'", action))
	}
	if len(r.Roles) > 0 {
		if anon {
			return errAuthDenied(fmt.Sprintf("Authentication required for action '%s'", action))
		}
		if !slices.ContainsFunc(r.Roles, id.HasRole) {
			return errAuthDenied(fmt.Sprintf("Insufficient roles for action '%s'. Required one of: %s", action, strings.Join(r.Roles, ", ")))
		}
	}
	if len(r.Permissions) > 0 {
		if anon {
			return errAuthDenied(fmt.Sprintf("Authentication required for action '%s'", action))
		}
		for _, p := range r.Permissions {
			if !id.HasPermission(p) {
				return errAuthDenied(fmt.Sprintf("Insufficient permissions for action '%s'. Required all: %s", action, strings.Join(r.Permissions, ", ")))
			}
		}
	}
	if r.Authorize != nil {
		if err := callAuthorize(ctx, r.Authorize, id, payload); err != nil {
			var pe *panicError
			if errors.As(err, &pe) {
				return errAuthDenied(fmt.Sprintf("Action '%s' authorization error: %s", action, pe.msg))
			}
			return errAuthDenied(reasonOr(err, fmt.Sprintf("Action '%s' denied by custom authorize", action)))
		}
	}
	if len(s.opts.AuthProviders) > 0 {
		p := s.opts.AuthProviders[0]
		if az, ok := p.(ActionAuthorizer); ok {
			okay, err := az.AuthorizeAction(ctx, id.clone(), component, action)
			if err != nil {
				return errAuthDenied(fmt.Sprintf("Action '%s' authorization error: %s", action, err))
			}
			if !okay {
				return errAuthDenied(fmt.Sprintf("Action '%s' denied by auth provider '%s'", action, p.Name()))
			}
		}
	}
	return nil
}

// panicError marks a custom authorize that panicked (the reference's
// "throw" case).
type panicError struct{ msg string }

func (e *panicError) Error() string { return e.msg }

func callAuthorize(ctx context.Context, f func(context.Context, *Identity, json.RawMessage) error, id *Identity, payload []byte) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = &panicError{msg: fmt.Sprint(r)}
		}
	}()
	return f(ctx, id.clone(), payload)
}

func reasonOr(err error, def string) string {
	if msg := err.Error(); msg != "" {
		return msg
	}
	return def
}

// handleAuth answers AUTH (spec §5.3). The first authenticated identity of a
// connection is final: later AUTH messages cannot change it.
func (s *Server) handleAuth(c *conn, env *protocol.Envelope) {
	reply := func(success bool, payload []byte) {
		o := protocol.Object(make([]byte, 0, 96+len(payload)))
		o.Str("type", protocol.TypeAuthResponse)
		o.Bool("success", success)
		o.Raw("payload", payload)
		if env.HasRequestID {
			o.Str("requestId", env.RequestID)
		}
		sendTo(c, o.Close())
	}
	failed := func(msg string) []byte {
		o := protocol.Object(nil)
		o.Bool("authenticated", false)
		o.Str("error", msg)
		return o.Close()
	}
	if id := c.identity(); id != nil {
		reply(false, failed("Already authenticated: the session of a connection cannot change"))
		return
	}
	creds := env.Payload
	var id *Identity
	if len(creds) > 0 && !emptyCredentials(creds) {
		for _, p := range s.opts.AuthProviders {
			got, err := p.Authenticate(c.ctx, json.RawMessage(append([]byte(nil), creds...)))
			if err != nil {
				s.log.Warn("live: auth provider failed", "provider", p.Name(), "err", err)
				continue
			}
			if got != nil {
				id = got.clone()
				break
			}
		}
	}
	if id == nil || !c.setIdentity(id) {
		reply(false, failed("Authentication failed"))
		return
	}
	session, err := id.sessionJSON()
	if err != nil {
		reply(false, failed("Authentication failed"))
		return
	}
	o := protocol.Object(nil)
	o.Bool("authenticated", true)
	o.Raw("session", session)
	reply(true, o.Close())
}

// emptyCredentials reports whether every credential value is falsy (spec
// §5.3: such an AUTH is anonymous).
func emptyCredentials(raw []byte) bool {
	var m map[string]any
	if json.Unmarshal(raw, &m) != nil {
		return true
	}
	for _, v := range m {
		switch x := v.(type) {
		case nil:
		case bool:
			if x {
				return false
			}
		case string:
			if x != "" {
				return false
			}
		case float64:
			if x != 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
