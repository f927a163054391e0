package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/live-go/live/internal/protocol"
)

// Options configures a Server. The zero value of every field is its
// documented default; New copies and validates the options.
type Options struct {
	// Prefix is the URL path under which the server's routes live. The
	// WebSocket endpoint is Prefix+"/ws". Default "/api/live".
	Prefix string

	// AllowedOrigins lists the exact Origin header values that may open a
	// connection; others are accepted and immediately closed with code 4003
	// "Origin not allowed" (so clients do not retry). The single entry "*"
	// allows every origin. Default (empty): same-origin only — a browser
	// Origin must have the same host as the request, and requests without
	// an Origin header (non-browser clients) are allowed.
	AllowedOrigins []string

	// MaxMessageSize is the largest inbound frame in bytes; larger frames
	// are answered with ERROR "Message too large" and discarded. Default
	// 4 MiB.
	MaxMessageSize int64

	// MaxJSONDepth is the deepest {/[ nesting accepted in an inbound JSON
	// frame; deeper frames get ERROR "JSON nesting too deep (max N)".
	// Default 32; negative disables the check.
	MaxJSONDepth int

	// RateLimitBurst is the per-connection token bucket size: one token per
	// inbound frame. Default 100; negative disables rate limiting.
	RateLimitBurst int

	// RateLimitPerSecond is the bucket refill rate in tokens per second.
	// Default 50.
	RateLimitPerSecond float64

	// MaxConnections caps concurrent connections; further ones are closed
	// with code 1013 "Maximum connections exceeded". Default 10000.
	MaxConnections int

	// SendQueueBytes bounds each connection's outgoing queue. Above it the
	// connection's queued deltas are dropped and replaced by a fresh
	// snapshot (resync); above twice this bound the connection is closed
	// with code 1008 "slow consumer". Default 4 MiB.
	SendQueueBytes int

	// WriteTimeout bounds one socket write; a client that does not drain
	// its socket for this long is disconnected. Default 10 s.
	WriteTimeout time.Duration

	// PingInterval is the period of WebSocket-level pings used to detect
	// dead peers. Default 30 s; negative disables pings.
	PingInterval time.Duration

	// StateSecret is the HMAC-SHA256 key for signed state (at least 32
	// bytes recommended). Default: the LIVE_STATE_SECRET environment
	// variable; if that is unset too, a random per-process secret is used
	// and a warning is logged (signed states then do not survive a restart
	// and are not accepted by other nodes).
	StateSecret []byte

	// PreviousStateSecrets are older secrets still accepted when verifying
	// signed states (key rotation). New signatures always use StateSecret.
	PreviousStateSecrets [][]byte

	// StateMaxAge is how long a signed state can be rehydrated. Default
	// 30 min.
	StateMaxAge time.Duration

	// EncryptState encrypts signed state data with AES-256-GCM, the key
	// derived from StateSecret with HKDF-SHA256, so encrypted states open
	// after a restart and on every node that shares the secret.
	EncryptState bool

	// SignatureRenewInterval throttles STATE_SIGNATURE renewals: after
	// state changes a component is re-signed at most once per interval.
	// Default 1 s; negative disables renewal.
	SignatureRenewInterval time.Duration

	// ResumeGrace is how long a component outlives its last connection so
	// that a client reconnecting in time resumes the same instance and
	// receives exactly the deltas it missed. Default 30 s; negative
	// destroys components as soon as their last connection closes.
	ResumeGrace time.Duration

	// MaxDetached caps the components kept for resuming clients at once
	// (those whose last connection closed less than ResumeGrace ago).
	// Beyond it the one kept longest is destroyed early; its client
	// rehydrates from its signed state instead, as after a server restart
	// (it only misses the resume's exact deltas and its server-only
	// fields). Without the cap a flood of connect+mount+close cycles would
	// hold memory for every cycle of the last ResumeGrace. Default 10,000;
	// negative: no cap.
	MaxDetached int

	// IdempotencyWindow is how long a CALL_ACTION idempotencyKey is
	// remembered per component: a retry with the same key within it gets
	// the first call's reply without running the action again. Default
	// 5 min.
	IdempotencyWindow time.Duration

	// Identify derives the caller's identity from the HTTP request that
	// opens a connection (a session cookie, an Authorization header, a
	// JWT...), so browsers need no AUTH message. Returning nil means
	// anonymous; an error refuses the connection (close 4001
	// "Unauthorized"). Default: every connection starts anonymous.
	Identify func(ctx context.Context, r *Request) (*Identity, error)

	// AuthProviders authenticate AUTH messages, tried in order; the first
	// one returning an identity wins. The first provider may also
	// implement ActionAuthorizer and RoomAuthorizer. Default: none (AUTH
	// always answers "Authentication failed").
	AuthProviders []AuthProvider

	// SSE configures the Server-Sent Events transport at Prefix+"/sse"
	// (GET opens the stream, POST {path}/send carries client frames; spec
	// §1.12). Enabled by default.
	SSE SSEOptions

	// LongPoll configures the HTTP long-polling transport at
	// Prefix+"/http" (spec §1.12). Enabled by default.
	LongPoll LongPollOptions

	// Cluster joins this server to other nodes (see Cluster). Default nil:
	// a single node, everything in memory.
	Cluster Cluster

	// ClusterLeaseTTL is how long a singleton owner's lease lasts without
	// renewal (renewed every third of it); after the owner dies another
	// node takes over within about this time. Default 15 s.
	ClusterLeaseTTL time.Duration

	// ClusterActionTimeout bounds an action forwarded to a singleton's
	// owner on another node. Default 5 s.
	ClusterActionTimeout time.Duration

	// DisableMonitoring turns off the read-only monitoring routes
	// ({prefix}/stats, {prefix}/components).
	DisableMonitoring bool

	// MonitorAuthorizer admits requests to the monitoring routes that change
	// something (POST {prefix}/rooms/{id}/messages|emit); a non-nil error
	// answers 403. Default nil: those routes always answer 403.
	MonitorAuthorizer func(r *http.Request) error

	// Logger receives the server's logs. Default: discard.
	Logger *slog.Logger

	// Observer receives the server's events (connections, mounts,
	// actions, deltas, queues, rooms, rate limits, cluster) for metrics;
	// see Observer. Default nil: no events, at the cost of a nil check.
	Observer Observer

	// ActionWarnings configures the slow-action and action-error-rate
	// warnings logged to Logger; see ActionWarningOptions for the
	// defaults.
	ActionWarnings ActionWarningOptions

	// Uploads configures chunked file uploads (FILE_UPLOAD_*, spec §7);
	// see UploadOptions for the defaults. Only components implementing
	// UploadHook receive uploads.
	Uploads UploadOptions
}

// Option defaults.
const (
	DefaultPrefix             = "/api/live"
	DefaultMaxMessageSize     = protocol.DefaultMaxMessageSize
	DefaultMaxJSONDepth       = protocol.DefaultMaxDepth
	DefaultRateLimitBurst     = 100
	DefaultRateLimitPerSecond = 50
	DefaultMaxConnections     = 10000
	DefaultSendQueueBytes     = 4 << 20
	DefaultWriteTimeout       = 10 * time.Second
	DefaultPingInterval       = 30 * time.Second
	DefaultStateMaxAge        = 30 * time.Minute
	DefaultSignatureRenew     = time.Second
	DefaultResumeGrace        = 30 * time.Second
	DefaultMaxDetached        = 10000
	DefaultIdempotencyWindow  = 5 * time.Minute
	DefaultSlowAction         = time.Second
	DefaultWarningWindow      = time.Minute
	DefaultErrorRate          = 0.5
	DefaultErrorRateMinCalls  = 20
)

// ActionWarningOptions configures two warnings logged at slog.LevelWarn,
// each at most once per action per Window, so a misbehaving action cannot
// flood the logs:
//
//   - "live: slow action" when a call takes SlowAction or longer, with the
//     component, action and duration;
//   - "live: high action error rate" when, within the current Window, an
//     action has been called at least ErrorRateMinCalls times and at least
//     ErrorRate of those calls failed, with the component, action, calls,
//     errors and window.
//
// Windows are fixed, per component name and registered action name (calls
// to actions the component does not have share one entry per component).
// The duration is ActionEvent.Duration's.
type ActionWarningOptions struct {
	// SlowAction is the slow-action threshold. Default 1 s; negative
	// disables the warning.
	SlowAction time.Duration

	// Window is the fixed window of both warnings: error rates are
	// counted over it, and each warning is logged at most once per action
	// per window. Default 1 min.
	Window time.Duration

	// ErrorRate is the fraction of failed calls (0 < ErrorRate <= 1) that
	// triggers the error-rate warning. Default 0.5; negative disables the
	// warning.
	ErrorRate float64

	// ErrorRateMinCalls is the number of calls in the window below which
	// no error rate is reported. Default 20.
	ErrorRateMinCalls int
}

func (w ActionWarningOptions) withDefaults() (ActionWarningOptions, error) {
	if w.SlowAction == 0 {
		w.SlowAction = DefaultSlowAction
	}
	if w.Window == 0 {
		w.Window = DefaultWarningWindow
	}
	if w.Window < 0 {
		return w, fmt.Errorf("live: ActionWarnings.Window must not be negative")
	}
	if w.ErrorRate == 0 {
		w.ErrorRate = DefaultErrorRate
	}
	if w.ErrorRate > 1 {
		return w, fmt.Errorf("live: ActionWarnings.ErrorRate %v must be at most 1", w.ErrorRate)
	}
	if w.ErrorRateMinCalls == 0 {
		w.ErrorRateMinCalls = DefaultErrorRateMinCalls
	}
	if w.ErrorRateMinCalls < 0 {
		return w, fmt.Errorf("live: ActionWarnings.ErrorRateMinCalls must not be negative")
	}
	return w, nil
}

// withDefaults returns a validated copy of o with defaults filled in.
func (o Options) withDefaults() (Options, error) {
	if o.Prefix == "" {
		o.Prefix = DefaultPrefix
	}
	if !strings.HasPrefix(o.Prefix, "/") {
		return o, fmt.Errorf("live: Options.Prefix %q must start with /", o.Prefix)
	}
	o.Prefix = strings.TrimSuffix(o.Prefix, "/")
	o.AllowedOrigins = append([]string(nil), o.AllowedOrigins...)
	if o.MaxMessageSize == 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	if o.MaxMessageSize < 0 {
		return o, fmt.Errorf("live: Options.MaxMessageSize must be positive")
	}
	if o.MaxJSONDepth == 0 {
		o.MaxJSONDepth = DefaultMaxJSONDepth
	}
	if o.RateLimitBurst == 0 {
		o.RateLimitBurst = DefaultRateLimitBurst
	}
	if o.RateLimitPerSecond == 0 {
		o.RateLimitPerSecond = DefaultRateLimitPerSecond
	}
	if o.RateLimitPerSecond < 0 {
		return o, fmt.Errorf("live: Options.RateLimitPerSecond must not be negative")
	}
	if o.MaxConnections == 0 {
		o.MaxConnections = DefaultMaxConnections
	}
	if o.SendQueueBytes == 0 {
		o.SendQueueBytes = DefaultSendQueueBytes
	}
	if o.SendQueueBytes < 1024 {
		return o, fmt.Errorf("live: Options.SendQueueBytes must be at least 1024")
	}
	if o.WriteTimeout == 0 {
		o.WriteTimeout = DefaultWriteTimeout
	}
	if o.PingInterval == 0 {
		o.PingInterval = DefaultPingInterval
	}
	if o.StateMaxAge == 0 {
		o.StateMaxAge = DefaultStateMaxAge
	}
	if o.SignatureRenewInterval == 0 {
		o.SignatureRenewInterval = DefaultSignatureRenew
	}
	if o.ResumeGrace == 0 {
		o.ResumeGrace = DefaultResumeGrace
	}
	if o.MaxDetached == 0 {
		o.MaxDetached = DefaultMaxDetached
	}
	if o.IdempotencyWindow == 0 {
		o.IdempotencyWindow = DefaultIdempotencyWindow
	}
	var err error
	if o.SSE, err = o.SSE.withDefaults(); err != nil {
		return o, err
	}
	if o.LongPoll, err = o.LongPoll.withDefaults(); err != nil {
		return o, err
	}
	if o.ActionWarnings, err = o.ActionWarnings.withDefaults(); err != nil {
		return o, err
	}
	if o.ClusterLeaseTTL == 0 {
		o.ClusterLeaseTTL = DefaultClusterLeaseTTL
	}
	if o.ClusterActionTimeout == 0 {
		o.ClusterActionTimeout = DefaultClusterActionTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if len(o.StateSecret) == 0 {
		if env := os.Getenv("LIVE_STATE_SECRET"); env != "" {
			o.StateSecret = []byte(env)
		} else {
			var b [32]byte
			_, _ = rand.Read(b[:])
			o.StateSecret = []byte(hex.EncodeToString(b[:]))
			o.Logger.Warn("live: no StateSecret and no LIVE_STATE_SECRET set; using a random per-process secret: signed states will not survive a restart or work across nodes")
		}
	}
	o.StateSecret = append([]byte(nil), o.StateSecret...)
	prev := make([][]byte, len(o.PreviousStateSecrets))
	for i, p := range o.PreviousStateSecrets {
		prev[i] = append([]byte(nil), p...)
	}
	o.PreviousStateSecrets = prev
	return o, nil
}
