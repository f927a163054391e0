package live

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/live-go/live/internal/protocol"
	"github.com/live-go/live/internal/upload"
)

// UploadOptions configures chunked file uploads (spec §7). The zero value
// of every field is its documented default.
//
// Uploads are accepted only for a component that the uploading connection
// owns and that implements UploadHook: FILE_UPLOAD_START must name it
// (componentId), otherwise the start is refused with "Component not found
// for upload" or "Component does not accept uploads". A server with no
// such component accepts no upload at all.
type UploadOptions struct {
	// Dir is where the default Storage puts completed files, under a
	// random name with the original's lowercased extension; their URL is
	// "/uploads/<name>" whatever Dir is (serve Dir there yourself).
	// Default "./uploads". Ignored when Storage is set.
	Dir string

	// TempDir holds the files of uploads in progress: chunks are written
	// straight into them, so memory use does not grow with the file size.
	// Default os.TempDir().
	TempDir string

	// MaxFileSize is the largest fileSize accepted at FILE_UPLOAD_START,
	// in bytes. Default 50 MiB.
	MaxFileSize int64

	// MaxBytesPerUser caps the bytes one user (the identity's ID, else
	// the connection) may announce per 24 hours; the whole fileSize is
	// charged at start. Default 500 MiB; negative disables the quota.
	MaxBytesPerUser int64

	// AllowedTypes lists the accepted fileType values: exact MIME types
	// (case-insensitive), "type/*", or "*" for any. JPEG, PNG, GIF, WebP,
	// PDF, ZIP and GZIP content must also start with its format's magic
	// bytes. Default: image/jpeg, image/png, image/gif, image/webp,
	// image/svg+xml, application/pdf, text/plain, text/csv,
	// text/markdown, application/json, application/zip, application/gzip.
	AllowedTypes []string

	// BlockedExtensions lists refused filename extensions (with the dot,
	// case-insensitive), checked as the last extension and as every
	// intermediate one ("x.exe.png"). Default: .exe .bat .cmd .com .msi
	// .scr .pif .sh .bash .zsh .csh .ps1 .psm1 .psd1 .vbs .vbe .js .jse
	// .wsf .wsh .dll .sys .drv .so .dylib; an empty non-nil slice blocks
	// nothing.
	BlockedExtensions []string

	// ChunkTimeout is how long an upload may go without a chunk before it
	// is removed with its temporary file. It is also how long an upload
	// survives its connection: a client that reconnects within it may
	// resume (see FILE_UPLOAD_START_RESPONSE.missingChunks in
	// docs/protocol.md). Default 30 s.
	ChunkTimeout time.Duration

	// MaxConcurrent caps the uploads in progress per connection. Default 4.
	MaxConcurrent int

	// Storage receives completed files. Default: files moved into Dir.
	Storage UploadStorage
}

// UploadedFile describes a completed upload.
type UploadedFile struct {
	// UploadID is the client's id for the upload.
	UploadID string
	// Name is the client's filename without any directory part.
	Name string
	// Type is the declared MIME type (content-checked for the types with
	// known magic bytes).
	Type string
	// Size is the size in bytes.
	Size int64
	// SHA256 is the digest of the content.
	SHA256 [32]byte
	// URL is where Storage published the file.
	URL string
}

// UploadStorage stores completed uploads.
type UploadStorage interface {
	// Store takes the completed file at tmpPath (in UploadOptions.TempDir)
	// and returns its public URL. It may move the file or copy it; what
	// remains at tmpPath afterwards is deleted. It runs on the uploading
	// connection's reader goroutine, so that connection waits for it.
	Store(ctx context.Context, f UploadedFile, tmpPath string) (url string, err error)
}

// UploadRemover is an optional UploadStorage capability, used to delete a
// stored file whose upload the owning component's UploadHook rejected.
type UploadRemover interface {
	Remove(ctx context.Context, url string) error
}

// UploadHook is implemented by components that accept file uploads. OnUpload
// runs when an upload started for the component completes, after the file
// was verified and stored, with the component locked as during an action:
// state changes it makes are sent before the FILE_UPLOAD_COMPLETE reply.
// Returning an error fails the upload: the client gets success:false with
// the error's text, and the stored file is deleted if the storage
// implements UploadRemover.
type UploadHook interface {
	OnUpload(ctx *Ctx, f UploadedFile) error
}

// newUploadManager builds the server's upload manager from its options.
func newUploadManager(o UploadOptions) (*upload.Manager, error) {
	cfg := upload.Config{
		TempDir:           o.TempDir,
		MaxFileSize:       o.MaxFileSize,
		MaxBytesPerUser:   o.MaxBytesPerUser,
		AllowedTypes:      o.AllowedTypes,
		BlockedExtensions: o.BlockedExtensions,
		ChunkTimeout:      o.ChunkTimeout,
		MaxConcurrent:     o.MaxConcurrent,
		Storage:           upload.LocalDir{Dir: o.Dir},
	}
	if o.Storage != nil {
		cfg.Storage = storageAdapter{o.Storage}
	}
	m, err := upload.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("live: Options.Uploads: %w", err)
	}
	return m, nil
}

// storageAdapter presents an UploadStorage to the upload manager.
type storageAdapter struct{ s UploadStorage }

func (a storageAdapter) Store(ctx context.Context, f upload.File, tmpPath string) (string, error) {
	return a.s.Store(ctx, uploadedFile(f), tmpPath)
}

func (a storageAdapter) Remove(ctx context.Context, url string) error {
	if r, ok := a.s.(UploadRemover); ok {
		return r.Remove(ctx, url)
	}
	return nil
}

func uploadedFile(f upload.File) UploadedFile {
	return UploadedFile{UploadID: f.UploadID, Name: f.Name, Type: f.Type, Size: f.Size, SHA256: f.SHA256, URL: f.URL}
}

// uploadOwner identifies c to the upload manager.
func uploadOwner(c *conn) upload.Owner {
	o := upload.Owner{ConnID: c.id}
	if id := c.identity(); id != nil {
		o.UserID = id.ID
	}
	return o
}

// handleUpload handles the JSON upload messages (spec §7.1).
func (s *Server) handleUpload(c *conn, env *protocol.Envelope) {
	switch env.Type {
	case protocol.TypeFileUploadStart:
		s.uploadStart(c, env)
	case protocol.TypeFileUploadChunk:
		ch, err := upload.ParseChunk(env.Frame)
		if err != nil {
			s.uploadError(c, err, env.ComponentID, env.RequestID, env.HasRequestID)
			return
		}
		s.uploadChunk(c, ch, env.ComponentID, env.RequestID, env.HasRequestID)
	case protocol.TypeFileUploadComplete:
		s.uploadComplete(c, env)
	}
}

// handleUploadBinary handles a binary client frame: an upload chunk in the
// framing of spec §1.10.3. Frames that are not upload chunks — another
// header type, or no decodable header at all — are ignored without a reply
// (the reference answers an undecodable frame with an ERROR carrying its
// JSON parser's message).
func (s *Server) handleUploadBinary(c *conn, data []byte) {
	hdr, payload, err := protocol.ParseUploadChunk(data)
	if err != nil {
		s.log.Debug("live: ignoring a binary frame that is not an upload chunk", "conn", c.id, "err", err)
		return
	}
	typ, ch, err := upload.ParseChunkHeader(hdr)
	if err != nil || typ != protocol.TypeFileUploadChunk {
		return
	}
	ch.Data = payload
	s.uploadChunk(c, ch, ch.ComponentID, ch.RequestID, ch.HasRequestID)
}

// uploadError sends ERROR {componentId?, error, requestId?} for a failed
// upload step; server-side failures are logged and reported generically.
func (s *Server) uploadError(c *conn, err error, componentID, requestID string, hasRequestID bool) {
	s.logUploadFailure(c, err)
	o := protocol.Object(make([]byte, 0, 96))
	o.Str("type", protocol.TypeError)
	o.StrIfSet("componentId", componentID)
	o.Str("error", upload.ClientMessage(err))
	if hasRequestID {
		o.Str("requestId", requestID)
	}
	sendTo(c, o.Close())
}

func (s *Server) logUploadFailure(c *conn, err error) {
	var ue *upload.Error
	if !errors.As(err, &ue) {
		s.log.Error("live: upload failed", "conn", c.id, "err", err)
	}
}

// ---- FILE_UPLOAD_START ----

func (s *Server) uploadStart(c *conn, env *protocol.Envelope) {
	st, err := upload.ParseStart(env.Frame)
	var res upload.StartResult
	if err == nil {
		err = s.uploadTarget(c, st.ComponentID)
	}
	if err == nil {
		res, err = s.uploads.Start(uploadOwner(c), st)
	}
	if err != nil {
		s.logUploadFailure(c, err)
	}
	// {type, componentId, uploadId, success, error?, requestId} plus, on
	// success, totalChunks and for a resumed upload resumed, bytesUploaded,
	// missingChunks and missingCount. uploadId is the request's top-level
	// uploadId (the reference echoes payload.uploadId instead, spec §14).
	o := protocol.Object(make([]byte, 0, 160))
	o.Str("type", protocol.TypeFileUploadStartResponse)
	if env.HasComponentID {
		o.Str("componentId", env.ComponentID)
	}
	o.StrIfSet("uploadId", st.UploadID)
	o.Bool("success", err == nil)
	if err != nil {
		o.Str("error", upload.ClientMessage(err))
	} else {
		o.Int("totalChunks", res.TotalChunks)
		if res.Resumed {
			o.Bool("resumed", true)
			o.Int("bytesUploaded", res.BytesUploaded)
			list := make([]byte, 0, 2+len(res.Missing)*4)
			list = append(list, '[')
			for i, n := range res.Missing {
				if i > 0 {
					list = append(list, ',')
				}
				list = strconv.AppendInt(list, n, 10)
			}
			o.Raw("missingChunks", append(list, ']'))
			o.Int("missingCount", res.MissingCount)
		}
	}
	if env.HasRequestID {
		o.Str("requestId", env.RequestID)
	}
	sendTo(c, o.Close())
}

// uploadTarget checks that c may upload to componentID: a component it
// owns that implements UploadHook.
func (s *Server) uploadTarget(c *conn, componentID string) error {
	in := c.owned(componentID)
	if componentID == "" || in == nil {
		return &upload.Error{Message: upload.MsgComponentNotFound}
	}
	if _, ok := in.comp.(UploadHook); !ok {
		return &upload.Error{Message: upload.MsgComponentNoUploads}
	}
	return nil
}

// ---- FILE_UPLOAD_CHUNK (JSON or binary) ----

func (s *Server) uploadChunk(c *conn, ch upload.Chunk, componentID, requestID string, hasRequestID bool) {
	p, err := s.uploads.Chunk(uploadOwner(c), ch)
	if err != nil {
		s.uploadError(c, err, componentID, requestID, hasRequestID)
		return
	}
	// {type, componentId, uploadId, chunkIndex, totalChunks, bytesUploaded,
	// totalBytes, progress, timestamp, requestId}
	b := make([]byte, 0, 256)
	b = append(b, `{"type":"FILE_UPLOAD_PROGRESS","componentId":`...)
	b = protocol.AppendString(b, p.ComponentID)
	b = append(b, `,"uploadId":`...)
	b = protocol.AppendString(b, p.UploadID)
	b = append(b, `,"chunkIndex":`...)
	b = strconv.AppendInt(b, p.ChunkIndex, 10)
	b = append(b, `,"totalChunks":`...)
	b = strconv.AppendInt(b, p.TotalChunks, 10)
	b = append(b, `,"bytesUploaded":`...)
	b = strconv.AppendInt(b, p.BytesUploaded, 10)
	b = append(b, `,"totalBytes":`...)
	b = strconv.AppendInt(b, p.TotalBytes, 10)
	b = append(b, `,"progress":`...)
	b = strconv.AppendFloat(b, p.Percent, 'f', -1, 64)
	b = append(b, `,"timestamp":`...)
	b = strconv.AppendInt(b, time.Now().UnixMilli(), 10)
	if hasRequestID {
		b = append(b, `,"requestId":`...)
		b = protocol.AppendString(b, requestID)
	}
	sendTo(c, append(b, '}'))
}

// ---- FILE_UPLOAD_COMPLETE ----

func (s *Server) uploadComplete(c *conn, env *protocol.Envelope) {
	cm, err := upload.ParseComplete(env.Frame)
	var f upload.File
	if err == nil {
		f, err = s.completeUpload(c, cm)
	}
	// Success: {type, componentId, uploadId, success:true, filename,
	// fileUrl, sha256, timestamp, requestId}; failure: {type,
	// componentId:"", uploadId, success:false, error, timestamp,
	// requestId}, as the reference.
	o := protocol.Object(make([]byte, 0, 200))
	o.Str("type", protocol.TypeFileUploadComplete)
	if err != nil {
		s.logUploadFailure(c, err)
		o.Str("componentId", "")
		o.StrIfSet("uploadId", cm.UploadID)
		o.Bool("success", false)
		o.Str("error", uploadClientMessage(err))
	} else {
		o.Str("componentId", f.ComponentID)
		o.Str("uploadId", f.UploadID)
		o.Bool("success", true)
		o.Str("filename", f.Name)
		o.Str("fileUrl", f.URL)
		o.Str("sha256", hex.EncodeToString(f.SHA256[:]))
	}
	o.Int("timestamp", time.Now().UnixMilli())
	if env.HasRequestID {
		o.Str("requestId", env.RequestID)
	}
	sendTo(c, o.Close())
}

// hookError is an UploadHook's refusal, whose text goes to the client.
type hookError struct{ err error }

func (e *hookError) Error() string { return e.err.Error() }
func (e *hookError) Unwrap() error { return e.err }

func uploadClientMessage(err error) string {
	var he *hookError
	if errors.As(err, &he) {
		return clientMessage(he.err)
	}
	return upload.ClientMessage(err)
}

// completeUpload verifies and stores c's upload, then runs the owning
// component's UploadHook.
func (s *Server) completeUpload(c *conn, cm upload.Complete) (upload.File, error) {
	owner := uploadOwner(c)
	componentID, err := s.uploads.ComponentOf(owner, cm)
	if err != nil {
		return upload.File{}, err
	}
	if err := s.uploadTarget(c, componentID); err != nil {
		return upload.File{}, err
	}
	f, err := s.uploads.Complete(c.ctx, owner, cm)
	if err != nil {
		return upload.File{}, err
	}
	if err := s.runUploadHook(c, componentID, uploadedFile(f)); err != nil {
		if r, ok := s.uploads.Config().Storage.(upload.Remover); ok {
			if rerr := r.Remove(c.ctx, f.URL); rerr != nil {
				s.log.Error("live: cannot remove a rejected upload", "url", f.URL, "err", rerr)
			}
		}
		return upload.File{}, err
	}
	return f, nil
}

// runUploadHook calls the component's OnUpload under its lock, as an action.
func (s *Server) runUploadHook(c *conn, componentID string, f UploadedFile) error {
	in := c.owned(componentID)
	if in == nil {
		return &upload.Error{Message: upload.MsgComponentNotFound}
	}
	h, ok := in.comp.(UploadHook)
	if !ok {
		return &upload.Error{Message: upload.MsgComponentNoUploads}
	}
	in.mu.Lock()
	defer in.unlock()
	if in.destroyed {
		return &upload.Error{Message: upload.MsgComponentNotFound}
	}
	ctx := &Ctx{Context: c.ctx, conn: c}
	in.begin()
	defer in.end(ctx)
	var herr error
	if perr := in.safeCall(ctx, "onUpload", func() { herr = h.OnUpload(ctx, f) }); perr != nil {
		herr = perr
	}
	if herr != nil {
		return &hookError{herr}
	}
	return nil
}
