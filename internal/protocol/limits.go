package protocol

import "time"

// Limits and defaults of the reference (spec §6.2 and Appendix A). The live
// package may choose stricter values; these are the reference's.
const (
	// ProtocolVersion is exported by the reference but never transmitted.
	ProtocolVersion = 1

	// DefaultMaxMessageSize is the largest accepted inbound frame, in bytes
	// (the reference compares UTF-16 code units for text frames).
	DefaultMaxMessageSize = 4 << 20
	// DefaultMaxDepth is the nesting limit of the pre-parse scan (Depth).
	DefaultMaxDepth = 32
	// SanitizeDepth is how deep payload objects are checked for forbidden
	// keys (ForbiddenKey); deeper values are left untouched by the reference.
	SanitizeDepth = 32
	// MsgpackMaxDepth is the nesting limit of the server's msgpack decoder.
	MsgpackMaxDepth = 64

	// DefaultRateLimitMaxTokens is the size of the per-connection token bucket.
	DefaultRateLimitMaxTokens = 100
	// DefaultRateLimitRefillRate is the bucket refill rate, in tokens per second.
	DefaultRateLimitRefillRate = 50

	// MaxRoomStateSize is the largest room state, in bytes of its JSON form.
	MaxRoomStateSize = 10 << 20
	// MaxRoomsPerConnection caps the rooms one connection joins by ROOM_JOIN.
	MaxRoomsPerConnection = 50
	// MaxRoomNameLength is the longest room id (see RoomIDPattern).
	MaxRoomNameLength = 64
	// RoomIDPattern is the regular expression every room id must match.
	RoomIDPattern = `^[a-zA-Z0-9_:.-]{1,64}$`

	// MaxQueueSize is the reference's per-socket outgoing queue, in messages.
	MaxQueueSize = 1000
	// MaxConnections is the reference's default connection cap.
	MaxConnections = 10000

	// DefaultChunkSize is the default upload chunk size, in bytes.
	DefaultChunkSize = 64 << 10
	// MinUploadChunkSize is the smallest accepted upload chunk, in bytes.
	MinUploadChunkSize = 1
	// MaxUploadChunkSize is the largest accepted upload chunk, in bytes.
	MaxUploadChunkSize = 1 << 20

	// NonceMapCap is the number of remembered state nonces before eviction.
	NonceMapCap = 100000
	// NonceEvictPercent is the share of the nonce map evicted when full.
	NonceEvictPercent = 10

	// DefaultNonceTTL is how long a state nonce is remembered.
	DefaultNonceTTL = 5 * time.Minute
	// DefaultMaxStateAge is how long a signed state can be rehydrated.
	DefaultMaxStateAge = 30 * time.Minute
	// DefaultRenewInterval is the minimum spacing of STATE_SIGNATURE renewals.
	DefaultRenewInterval = time.Second
	// EmptyRoomDestroyDelay is how long an empty room survives.
	EmptyRoomDestroyDelay = 5 * time.Minute
	// HeartbeatInterval is the connection heartbeat period (server and client).
	HeartbeatInterval = 30 * time.Second
	// HealthCheckInterval is the connection health check period.
	HealthCheckInterval = 60 * time.Second
)

// Default HTTP paths (Appendix A).
const (
	DefaultWSPath     = "/api/live/ws"
	DefaultSSEPath    = "/api/live/sse"
	DefaultHTTPPath   = "/api/live/http"
	DefaultHTTPPrefix = "/api/live"
)

// WebSocket close codes used by the protocol (Appendix A).
const (
	// CloseOriginRejected closes a socket whose Origin is not allowed; the
	// official client does not reconnect after it.
	CloseOriginRejected = 4003
	// CloseGoingAway is used on shutdown, timeout and client departure.
	CloseGoingAway = 1001
	// ClosePolicyViolation is used for backpressure on SSE/HTTP transports.
	ClosePolicyViolation = 1008
	// CloseClientAway is sent by a client that disconnects for a while and
	// means to come back (an extension): unlike 1000, which ends the
	// session at once, it leaves the components kept for a resume.
	CloseClientAway = 4000
)
