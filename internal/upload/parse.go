package upload

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
)

// maxSafeInteger is JavaScript's Number.MAX_SAFE_INTEGER.
const maxSafeInteger = 1<<53 - 1

// Start is a validated FILE_UPLOAD_START request (spec §7.1).
type Start struct {
	// UploadID is the client's id for the upload: 1 to 128 characters.
	UploadID string
	// ComponentID is the component the upload is for ("" if none).
	ComponentID string
	// Filename is the client's file name (directories are stripped by the
	// Manager).
	Filename string
	// FileType is the declared MIME type.
	FileType string
	// FileSize is the announced size in bytes (> 0).
	FileSize int64
	// ChunkSize is the size of every chunk but the last, 1 to 1048576
	// bytes; DefaultChunkSize when the client sent none.
	ChunkSize int64
}

// startFields are the top-level members of FILE_UPLOAD_START, kept raw so
// that their JSON types can be checked.
type startFields struct {
	UploadID    json.RawMessage `json:"uploadId"`
	ComponentID json.RawMessage `json:"componentId"`
	Filename    json.RawMessage `json:"filename"`
	FileType    json.RawMessage `json:"fileType"`
	FileSize    json.RawMessage `json:"fileSize"`
	ChunkSize   json.RawMessage `json:"chunkSize"`
}

// ParseStart reads the upload fields of a FILE_UPLOAD_START frame and
// checks their shape, in the reference's order: "Invalid uploadId",
// "Invalid componentId", "Invalid filename or fileType", "Invalid fileSize:
// <v>", "Invalid chunkSize: <v> (allowed 1-1048576)" (values shown as
// JavaScript would). The returned Start has every field read so far set,
// even on error (UploadID in particular, for the reply).
func ParseStart(frame []byte) (Start, error) {
	var f startFields
	if err := json.Unmarshal(frame, &f); err != nil {
		return Start{}, fmt.Errorf("upload: FILE_UPLOAD_START: %w", err)
	}
	var s Start
	id, ok := jsonString(f.UploadID)
	if !ok || id == "" || utf16Len(id) > MaxUploadIDLen {
		return s, &Error{Message: MsgInvalidUploadID}
	}
	s.UploadID = id
	if !isNull(f.ComponentID) {
		cid, ok := jsonString(f.ComponentID)
		if !ok {
			return s, &Error{Message: MsgInvalidComponentID}
		}
		s.ComponentID = cid
	}
	name, ok1 := jsonString(f.Filename)
	typ, ok2 := jsonString(f.FileType)
	if !ok1 || !ok2 || name == "" || typ == "" {
		return s, &Error{Message: MsgInvalidNameOrType}
	}
	s.Filename, s.FileType = name, typ
	size, ok := jsonInteger(f.FileSize)
	if !ok || size <= 0 || size > maxSafeInteger {
		return s, errorf("Invalid fileSize: %s", jsString(f.FileSize))
	}
	s.FileSize = size
	s.ChunkSize = DefaultChunkSize
	if len(f.ChunkSize) > 0 {
		cs, ok := jsonInteger(f.ChunkSize)
		if !ok || cs < MinChunkSize || cs > MaxChunkSize {
			return s, invalidChunkSize(jsString(f.ChunkSize))
		}
		s.ChunkSize = cs
	}
	return s, nil
}

func invalidChunkSize(v string) *Error {
	return errorf("Invalid chunkSize: %s (allowed %d-%d)", v, MinChunkSize, MaxChunkSize)
}

// Chunk is one FILE_UPLOAD_CHUNK, from a JSON message (base64 data) or a
// binary frame (raw data). Its fields are kept as the client sent them so
// that the Manager reports problems in the reference's order.
type Chunk struct {
	// UploadID is the upload's id ("" when the client's was not a string).
	UploadID string
	// UploadIDText is how the client's uploadId is shown in "Upload <id>
	// not found" (JavaScript's String(uploadId)); UploadID when empty.
	UploadIDText string
	// ComponentID is the message's componentId, if it was a string.
	ComponentID    string
	HasComponentID bool
	// RequestID is the binary header's requestId, if it was a string
	// (JSON messages carry theirs in the envelope).
	RequestID    string
	HasRequestID bool
	// Index is the chunk index, meaningful when IndexOK: the client sent
	// an integral number in [0, 2^53).
	Index   int64
	IndexOK bool
	// IndexText is how the client's chunkIndex is shown in "Invalid chunk
	// index: <i>".
	IndexText string
	// Data is the chunk's content (binary frames, or already decoded).
	Data []byte
	// Base64 is the data member of a JSON chunk when it was a string, still
	// encoded; HasBase64 tells it was. The Manager decodes it into a pooled
	// buffer.
	Base64    []byte
	HasBase64 bool
	// Binary is set for chunks from a binary frame: Data is the content.
	Binary bool
}

type chunkFields struct {
	Type        json.RawMessage `json:"type"`
	UploadID    json.RawMessage `json:"uploadId"`
	ComponentID json.RawMessage `json:"componentId"`
	RequestID   json.RawMessage `json:"requestId"`
	ChunkIndex  json.RawMessage `json:"chunkIndex"`
	Data        json.RawMessage `json:"data"`
}

func (f *chunkFields) chunk() Chunk {
	var c Chunk
	c.UploadID, _ = jsonString(f.UploadID)
	c.UploadIDText = jsString(f.UploadID)
	c.ComponentID, c.HasComponentID = jsonString(f.ComponentID)
	c.RequestID, c.HasRequestID = jsonString(f.RequestID)
	c.IndexText = jsString(f.ChunkIndex)
	if i, ok := jsonInteger(f.ChunkIndex); ok && i >= 0 && i <= maxSafeInteger {
		c.Index, c.IndexOK = i, true
	}
	return c
}

// ParseChunk reads a JSON FILE_UPLOAD_CHUNK frame. It fails only when the
// frame is not a JSON object; field problems are reported by
// Manager.Chunk.
func ParseChunk(frame []byte) (Chunk, error) {
	var f chunkFields
	if err := json.Unmarshal(frame, &f); err != nil {
		return Chunk{}, fmt.Errorf("upload: FILE_UPLOAD_CHUNK: %w", err)
	}
	c := f.chunk()
	c.HasRequestID, c.RequestID = false, "" // the envelope's requestId is the one to echo
	if raw := bytes.TrimSpace(f.Data); len(raw) >= 2 && raw[0] == '"' {
		if inner := raw[1 : len(raw)-1]; bytes.IndexByte(inner, '\\') < 0 {
			// No escapes: the string's bytes are the member's text, in
			// the copy json.Unmarshal made for RawMessage.
			c.Base64, c.HasBase64 = inner, true
		} else if s, ok := jsonString(raw); ok {
			c.Base64, c.HasBase64 = []byte(s), true
		}
	}
	return c, nil
}

// ParseChunkHeader reads the JSON header of a binary upload chunk (spec
// §1.10.3) and returns its type member (only FILE_UPLOAD_CHUNK headers are
// processed; "" when it was not a string) and the chunk, whose Data the
// caller sets to the frame's tail.
func ParseChunkHeader(header []byte) (typ string, c Chunk, err error) {
	var f chunkFields
	if err := json.Unmarshal(header, &f); err != nil {
		return "", Chunk{}, fmt.Errorf("upload: chunk header: %w", err)
	}
	typ, _ = jsonString(f.Type)
	c = f.chunk()
	c.Binary = true
	return typ, c, nil
}

// Complete is a FILE_UPLOAD_COMPLETE request.
type Complete struct {
	// UploadID is the upload's id ("" when the client's was not a string).
	UploadID string
	// UploadIDText is how the client's uploadId is shown in messages.
	UploadIDText string
}

// ParseComplete reads a FILE_UPLOAD_COMPLETE frame.
func ParseComplete(frame []byte) (Complete, error) {
	var f struct {
		UploadID json.RawMessage `json:"uploadId"`
	}
	if err := json.Unmarshal(frame, &f); err != nil {
		return Complete{}, fmt.Errorf("upload: FILE_UPLOAD_COMPLETE: %w", err)
	}
	id, _ := jsonString(f.UploadID)
	return Complete{UploadID: id, UploadIDText: jsString(f.UploadID)}, nil
}

// jsonString decodes raw when it is a JSON string.
func jsonString(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || raw[0] != '"' {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// jsonInteger decodes raw when it is a JSON number with an integral value
// (Number.isInteger: 3.0 and 1e3 count) that fits in an int64.
func jsonInteger(raw json.RawMessage) (int64, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || !(raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9') {
		return 0, false
	}
	var f float64
	if json.Unmarshal(raw, &f) != nil || f != math.Trunc(f) || math.Abs(f) > 1<<62 {
		return 0, false
	}
	return int64(f), true
}

// isNull reports an absent member or a JSON null.
func isNull(raw json.RawMessage) bool {
	raw = bytes.TrimSpace(raw)
	return len(raw) == 0 || bytes.Equal(raw, []byte("null"))
}
