package upload

import (
	"errors"
	"fmt"
)

// Error is an upload failure whose Message is sent to the client as is
// (the exact texts of spec §7.2). Failures of the server itself (disk I/O,
// storage) are returned as other errors, which ClientMessage hides.
type Error struct {
	// Message is the client-facing text.
	Message string
}

// Error implements error.
func (e *Error) Error() string { return e.Message }

func errorf(format string, args ...any) *Error {
	return &Error{Message: fmt.Sprintf(format, args...)}
}

// ErrClosed is returned by every Manager method after Close.
var ErrClosed = errors.New("upload: manager closed")

// internalMessage is what a client is told about a server-side failure.
const internalMessage = "Upload failed: internal error"

// ClientMessage returns the text to send to the client for err: the
// message of an *Error, or a generic text for anything else (whose details
// belong in the server's log, not on the wire).
func ClientMessage(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Message
	}
	return internalMessage
}

// Client-facing messages without arguments (spec §7.2).
const (
	MsgInvalidUploadID       = "Invalid uploadId"
	MsgInvalidComponentID    = "Invalid componentId"
	MsgInvalidNameOrType     = "Invalid filename or fileType"
	MsgQuotaExceeded         = "Upload quota exceeded for user."
	MsgFilenameTooLong       = "Filename too long"
	MsgInvalidChunkData      = "Invalid chunk data"
	MsgFirstChunkMissing     = "Cannot validate file content: first chunk missing"
	MsgComponentNotFound     = "Component not found for upload"
	MsgComponentNoUploads    = "Component does not accept uploads"
	msgContentMismatchFormat = "File content does not match claimed type '%s'. The file may be disguised as a different format."
)
