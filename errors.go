package live

import (
	"errors"
)

// Sentinel errors returned by the library's Go API.
var (
	// ErrServerClosed is returned for work attempted after Shutdown began.
	ErrServerClosed = errors.New("live: server closed")
	// ErrDestroyed is returned when a component is used after it was
	// unmounted or destroyed.
	ErrDestroyed = errors.New("live: component destroyed")
	// ErrCancelled, returned from a BeforeActionHook, cancels the action:
	// the client receives "Action '<name>' was cancelled".
	ErrCancelled = errors.New("live: action cancelled")
	// ErrSlowConsumer is the close cause of a connection whose send queue
	// stayed over its hard bound.
	ErrSlowConsumer = errors.New("live: slow consumer")
	// ErrClientLeft marks the end of a connection the client closed on
	// purpose: a WebSocket close frame with status 1000 (normal closure),
	// or a long-poll client's close request. A Socket's Read wraps it in
	// the error it returns then. The server destroys such a connection's
	// components at once (OnDisconnect, then OnDestroy) instead of keeping
	// them for Options.ResumeGrace: a client that said goodbye does not
	// resume. Any other end (a dropped network, a close with 1001 as a
	// browser sends when a page is put away, which may come back from the
	// back-forward cache) keeps them for the grace period. Custom Socket
	// implementations should wrap it the same way.
	ErrClientLeft = errors.New("live: client closed the connection")
)

// Error is an error with a message meant for the client. Actions may return
// one (or wrap one) to control exactly what the client sees; any other
// error's Error() text is sent as it is.
type Error struct {
	// Code is an optional machine-readable code, prefixed to the message
	// on the wire as "CODE: message" when set.
	Code string
	// Message is the human-readable text.
	Message string
	// Err is an optional cause, kept for errors.Is/As and logs, never sent.
	Err error
}

// Error implements error.
func (e *Error) Error() string { return e.wire() }

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

func (e *Error) wire() string {
	if e.Code == "" {
		return e.Message
	}
	return e.Code + ": " + e.Message
}

// Close codes used by the server.
const (
	// CloseOriginNotAllowed closes a connection whose Origin is not allowed
	// (reason "Origin not allowed"); clients must not reconnect.
	CloseOriginNotAllowed = 4003
	// CloseGoingAway is sent on Shutdown (reason "server shutdown").
	CloseGoingAway = 1001
	// CloseSlowConsumer closes a connection that cannot keep up with its
	// outgoing traffic (reason "slow consumer").
	CloseSlowConsumer = 1008
	// CloseTryAgainLater rejects a connection above MaxConnections.
	CloseTryAgainLater = 1013
	// CloseUnauthorized refuses a connection whose Options.Identify
	// failed (reason "Unauthorized").
	CloseUnauthorized = 4001
	// CloseClientAway is the code a client closes with when it disconnects
	// for a while and means to resume (the browser client's disconnect()):
	// any code but 1000 keeps the connection's components for
	// Options.ResumeGrace; 1000 ends them at once (see ErrClientLeft).
	CloseClientAway = 4000
)

// clientMessage returns the text sent to the client for an action error.
func clientMessage(err error) string {
	var le *Error
	if errors.As(err, &le) {
		return le.wire()
	}
	return err.Error()
}
