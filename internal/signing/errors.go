package signing

// Error is the type of every sentinel error of this package. Its Error
// method returns the exact string the server puts on the wire (the
// reference's string where one exists), so callers can match sentinels with
// errors.Is and obtain the wire string of any returned error, wrapped or
// not, with errors.As.
type Error struct {
	msg    string
	parent *Error
}

// Error returns the wire string.
func (e *Error) Error() string { return e.msg }

// Unwrap returns the broader sentinel this one refines, or nil.
func (e *Error) Unwrap() error {
	if e.parent == nil {
		return nil
	}
	return e.parent
}

// Validation errors returned by [Signer.Open]. The strings are the
// reference's (spec §1.8, §3.4, §3.5) unless marked as ours.
var (
	// ErrExpired means the state is older than Config.MaxAge.
	ErrExpired = &Error{msg: "State expired"}
	// ErrFutureTimestamp (ours) means the state's timestamp is more than
	// [MaxClockSkew] ahead of the local clock. The reference accepts any
	// future timestamp.
	ErrFutureTimestamp = &Error{msg: "State timestamp in the future"}
	// ErrInvalidSignature means the HMAC matches neither the current nor any
	// previous secret, or the signature is not 64 lowercase hex digits.
	ErrInvalidSignature = &Error{msg: "Invalid signature"}
	// ErrDecrypt (ours) means the signature was valid but the AES-GCM envelope
	// does not open. It unwraps to ErrInvalidSignature.
	ErrDecrypt = &Error{msg: "Invalid state signature", parent: ErrInvalidSignature}
	// ErrInvalidData (ours) means the authenticated data is not valid base64,
	// gzip or JSON. Only a faulty signer can produce this.
	ErrInvalidData = &Error{msg: "Invalid state data"}
	// ErrStateTooLarge (ours) means the data, or its decompressed form, exceeds
	// Config.MaxStateSize.
	ErrStateTooLarge = &Error{msg: "State data too large"}
	// ErrComponentMismatch means __componentName is missing, not a string, or
	// differs from the component the client asks for.
	ErrComponentMismatch = &Error{msg: "Component class mismatch - state tampering detected"}

	// ErrMalformedNonce means the nonce does not have exactly three
	// colon-separated parts.
	ErrMalformedNonce = &Error{msg: "Malformed nonce"}
	// ErrMalformedNonceTimestamp means the first nonce part is not a decimal
	// timestamp.
	ErrMalformedNonceTimestamp = &Error{msg: "Malformed nonce timestamp"}
	// ErrNonceExpired means the nonce is older than the nonce TTL (MaxAge).
	ErrNonceExpired = &Error{msg: "Nonce expired"}
	// ErrNonceFuture means the nonce timestamp is more than [MaxClockSkew] ahead.
	ErrNonceFuture = &Error{msg: "Nonce timestamp in the future"}
	// ErrNoncePredatesWindow means the nonce timestamp is at or below the
	// high-water mark left by evicting used nonces (fail-closed).
	ErrNoncePredatesWindow = &Error{msg: "Nonce predates replay-protection window"}
	// ErrInvalidNonceSignature means the nonce MAC matches no known secret.
	ErrInvalidNonceSignature = &Error{msg: "Invalid nonce signature"}
	// ErrNonceUsed means the nonce was already consumed.
	ErrNonceUsed = &Error{msg: "Nonce already used"}
	// ErrMissingNonce (ours) means nonces are enabled, the caller asked to
	// consume the nonce, and the state carries none.
	ErrMissingNonce = &Error{msg: "Missing nonce"}

	// ErrMalformed means [ParseSignedState] rejected the shape of a signedState
	// object. The protocol layer prefixes it with "Invalid message: ".
	ErrMalformed = &Error{msg: "payload.signedState is malformed"}
)
