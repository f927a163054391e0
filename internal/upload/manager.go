package upload

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Owner identifies who sends an upload request: the connection, and the
// authenticated user behind it ("" when anonymous).
type Owner struct {
	ConnID string
	UserID string
}

// quotaKey is the key the per-user quota is counted under: the user id,
// else the connection (spec §7.2).
func (o Owner) quotaKey() string {
	if o.UserID != "" {
		return "user:" + o.UserID
	}
	return "conn:" + o.ConnID
}

// StartResult is the outcome of a successful Start.
type StartResult struct {
	// TotalChunks is ceil(FileSize / ChunkSize).
	TotalChunks int64
	// Resumed is set when the request took over an upload already in
	// progress (see Manager.Start); the fields below then describe it.
	Resumed bool
	// BytesUploaded counts the bytes received so far.
	BytesUploaded int64
	// Missing lists the first missing chunk indexes (at most
	// DefaultMissingReportLimit), in order.
	Missing []int64
	// MissingCount is the total number of missing chunks.
	MissingCount int64
}

// Progress describes an upload after a chunk (FILE_UPLOAD_PROGRESS).
type Progress struct {
	UploadID      string
	ComponentID   string
	ChunkIndex    int64
	TotalChunks   int64
	BytesUploaded int64
	TotalBytes    int64
	// Percent is BytesUploaded / TotalBytes × 100.
	Percent float64
}

// Manager holds the uploads in progress of one server. Create it with New
// and stop it with Close.
type Manager struct {
	cfg Config

	mu      sync.Mutex
	closed  bool
	uploads map[string]*upload   // by uploadId
	byConn  map[string][]*upload // attached uploads by connection
	quota   map[string]*quotaUse // by Owner.quotaKey
	timer   *time.Timer          // the sweep, armed while uploads exist

	bufs sync.Pool // *[]byte of MaxChunkSize: base64 decoding, hashing
}

type quotaUse struct {
	used  int64
	since time.Time
}

// upload is one upload in progress.
type upload struct {
	// Fixed at start.
	id, componentID      string
	filename, name, ext  string
	fileType, userID     string
	size, chunkSize, num int64
	path                 string

	conn       string       // owning connection, "" when detached; guarded by Manager.mu
	lastActive atomic.Int64 // UnixNano of the last start, chunk or resume

	// mu guards the rest. Lock order: upload.mu before Manager.mu (never
	// the reverse: Manager.mu is never held while waiting for an upload).
	mu       sync.Mutex
	f        *os.File
	got      bitmap
	received int64
	h        hash.Hash
	hashed   int64 // the file's first hashed bytes went into h
	done     bool  // completed, aborted or removed
}

// New returns a Manager configured by cfg (see Config for defaults).
func New(cfg Config) (*Manager, error) {
	c, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(c.TempDir, 0o700); err != nil {
		return nil, fmt.Errorf("upload: temp dir: %w", err)
	}
	m := &Manager{
		cfg:     c,
		uploads: map[string]*upload{},
		byConn:  map[string][]*upload{},
		quota:   map[string]*quotaUse{},
	}
	m.bufs.New = func() any { b := make([]byte, MaxChunkSize); return &b }
	return m, nil
}

// Config returns the Manager's configuration with defaults applied.
func (m *Manager) Config() Config { return m.cfg }

// Active returns the number of uploads in progress.
func (m *Manager) Active() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.uploads)
}

// Start begins an upload for owner, or takes one over (resume).
//
// Checks, in order, after those of ParseStart: "File too large: <n> bytes.
// Max: <m> bytes", "Upload quota exceeded for user.", "File type not
// allowed: <type>", "File extension not allowed: <ext>", "Suspicious double
// extension detected: <.ext> in <name>", "Filename too long", "Upload <id>
// already in progress", and the per-connection limit "Too many concurrent
// uploads (max <n> per connection)".
//
// Resume: when uploadId is already in progress with the same componentId,
// filename, fileType, fileSize and chunkSize, and it is either owner's
// connection's own upload or a detached one (its connection closed, see
// ReleaseConn) started by the same user or anonymously, Start binds it to
// owner's connection and returns Resumed with the chunks still missing;
// nothing is charged again.
func (m *Manager) Start(owner Owner, s Start) (StartResult, error) {
	if s.FileSize <= 0 || s.FileSize > maxSafeInteger {
		return StartResult{}, errorf("Invalid fileSize: %d", s.FileSize)
	}
	if s.ChunkSize < MinChunkSize || s.ChunkSize > MaxChunkSize {
		return StartResult{}, invalidChunkSize(fmt.Sprint(s.ChunkSize))
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return StartResult{}, ErrClosed
	}
	if u := m.uploads[s.UploadID]; u != nil && u.resumableBy(owner, s) {
		if err := m.attachLocked(u, owner.ConnID); err != nil {
			m.mu.Unlock()
			return StartResult{}, err
		}
		m.mu.Unlock()
		return u.resumeResult()
	}
	name, ext, err := m.checkStartLocked(owner, s, time.Now())
	m.mu.Unlock()
	if err != nil {
		return StartResult{}, err
	}

	// Create the temporary file without holding the lock, then publish.
	f, err := os.CreateTemp(m.cfg.TempDir, "live-upload-*")
	if err != nil {
		return StartResult{}, fmt.Errorf("upload: create temp file: %w", err)
	}
	num := (s.FileSize + s.ChunkSize - 1) / s.ChunkSize
	u := &upload{
		id: s.UploadID, componentID: s.ComponentID,
		filename: s.Filename, name: name, ext: ext,
		fileType: s.FileType, userID: owner.UserID,
		size: s.FileSize, chunkSize: s.ChunkSize, num: num,
		path: f.Name(), conn: owner.ConnID,
		f: f, got: newBitmap(num), h: sha256.New(),
	}
	now := time.Now()
	u.lastActive.Store(now.UnixNano())

	m.mu.Lock()
	// Re-check what may have changed while the lock was released.
	if _, _, err := m.checkStartLocked(owner, s, now); err != nil || m.closed {
		m.mu.Unlock()
		u.discard()
		if err == nil {
			err = ErrClosed
		}
		return StartResult{}, err
	}
	if m.cfg.MaxBytesPerUser > 0 {
		m.quotaLocked(owner.quotaKey(), now).used += s.FileSize
	}
	m.uploads[u.id] = u
	m.byConn[owner.ConnID] = append(m.byConn[owner.ConnID], u)
	m.armLocked()
	m.mu.Unlock()
	return StartResult{TotalChunks: num}, nil
}

// checkStartLocked applies Start's checks and returns the filename's base
// name and lowercased extension. Called with m.mu held.
func (m *Manager) checkStartLocked(owner Owner, s Start, now time.Time) (name, ext string, err error) {
	if s.FileSize > m.cfg.MaxFileSize {
		return "", "", errorf("File too large: %d bytes. Max: %d bytes", s.FileSize, m.cfg.MaxFileSize)
	}
	if m.cfg.MaxBytesPerUser > 0 {
		if q := m.quotaLocked(owner.quotaKey(), now); q.used+s.FileSize > m.cfg.MaxBytesPerUser {
			return "", "", &Error{Message: MsgQuotaExceeded}
		}
	}
	if !m.cfg.typeAllowed(s.FileType) {
		return "", "", errorf("File type not allowed: %s", s.FileType)
	}
	name = baseName(s.Filename)
	if name == "" || name == "." || name == ".." {
		return "", "", &Error{Message: MsgInvalidNameOrType}
	}
	ext = strings.ToLower(extName(name))
	if m.cfg.blocked(ext) {
		return "", "", errorf("File extension not allowed: %s", ext)
	}
	if parts := strings.Split(name, "."); len(parts) > 2 {
		for _, p := range parts[1 : len(parts)-1] {
			if mid := "." + strings.ToLower(p); m.cfg.blocked(mid) {
				return "", "", errorf("Suspicious double extension detected: %s in %s", mid, name)
			}
		}
	}
	// Windows ignores trailing dots and spaces: "x.exe." and "x.exe " are
	// executables there.
	if t := strings.ToLower(extName(strings.TrimRight(name, ". "))); t != ext && m.cfg.blocked(t) {
		return "", "", errorf("File extension not allowed: %s", t)
	}
	if utf16Len(name) > MaxFilenameLen {
		return "", "", &Error{Message: MsgFilenameTooLong}
	}
	if _, taken := m.uploads[s.UploadID]; taken {
		return "", "", errorf("Upload %s already in progress", s.UploadID)
	}
	if len(m.byConn[owner.ConnID]) >= m.cfg.MaxConcurrent {
		return "", "", tooMany(m.cfg.MaxConcurrent)
	}
	return name, ext, nil
}

func tooMany(n int) *Error {
	return errorf("Too many concurrent uploads (max %d per connection)", n)
}

// quotaLocked returns key's quota use, reset when its interval is over.
func (m *Manager) quotaLocked(key string, now time.Time) *quotaUse {
	q := m.quota[key]
	if q == nil || now.Sub(q.since) >= m.cfg.QuotaInterval {
		q = &quotaUse{since: now}
		m.quota[key] = q
	}
	return q
}

// resumableBy reports whether owner may take u over with the request s.
// Reads u.conn: called with Manager.mu held.
func (u *upload) resumableBy(owner Owner, s Start) bool {
	same := u.componentID == s.ComponentID && u.filename == s.Filename && u.fileType == s.FileType &&
		u.size == s.FileSize && u.chunkSize == s.ChunkSize
	if !same {
		return false
	}
	if u.conn == owner.ConnID {
		return true
	}
	return u.conn == "" && (u.userID == "" || u.userID == owner.UserID)
}

// attachLocked binds u to conn. Called with m.mu held.
func (m *Manager) attachLocked(u *upload, conn string) error {
	if u.conn != conn {
		if len(m.byConn[conn]) >= m.cfg.MaxConcurrent {
			return tooMany(m.cfg.MaxConcurrent)
		}
		m.unbindLocked(u)
		u.conn = conn
		m.byConn[conn] = append(m.byConn[conn], u)
	}
	u.lastActive.Store(time.Now().UnixNano())
	return nil
}

// unbindLocked removes u from its connection's list. Called with m.mu held.
func (m *Manager) unbindLocked(u *upload) {
	if u.conn == "" {
		return
	}
	list := m.byConn[u.conn]
	for i, x := range list {
		if x == u {
			list = append(list[:i:i], list[i+1:]...)
			break
		}
	}
	if len(list) == 0 {
		delete(m.byConn, u.conn)
	} else {
		m.byConn[u.conn] = list
	}
	u.conn = ""
}

func (u *upload) resumeResult() (StartResult, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return StartResult{}, errorf("Upload %s not found", u.id)
	}
	return StartResult{
		TotalChunks:   u.num,
		Resumed:       true,
		BytesUploaded: u.received,
		Missing:       u.got.missing(nil, DefaultMissingReportLimit),
		MissingCount:  u.num - u.got.set,
	}, nil
}

// lookup returns owner's upload id, or the "not found" error (also for an
// upload of another connection).
func (m *Manager) lookup(owner Owner, id, text string) (*upload, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	if u := m.uploads[id]; u != nil && id != "" && u.conn == owner.ConnID && owner.ConnID != "" {
		return u, nil
	}
	if text == "" {
		text = id
	}
	return nil, errorf("Upload %s not found", text)
}

// Chunk stores one chunk of owner's upload at offset Index × chunkSize and
// returns the progress. A chunk received before is accepted again without
// being written or counted (idempotent). Errors, in order: "Upload <id> not
// found" (also for another connection's upload), "Invalid chunk index: <i>"
// (not an integer, negative or ≥ totalChunks), "Invalid chunk data" (JSON
// chunk without string data, or not base64), "Chunk too large: <n> >
// <chunkSize>", "Upload exceeds declared fileSize (<fileSize> bytes)", and
// for the first chunk of a type with a known signature the content
// mismatch of Complete (the upload is then removed).
func (m *Manager) Chunk(owner Owner, c Chunk) (Progress, error) {
	u, err := m.lookup(owner, c.UploadID, c.UploadIDText)
	if err != nil {
		return Progress{}, err
	}
	if !c.IndexOK || c.Index >= u.num {
		text := c.IndexText
		if text == "" {
			text = fmt.Sprint(c.Index)
		}
		return Progress{}, errorf("Invalid chunk index: %s", text)
	}
	data := c.Data
	if !c.Binary && c.Data == nil {
		if !c.HasBase64 {
			return Progress{}, &Error{Message: MsgInvalidChunkData}
		}
		if n := base64Len(c.Base64); n > u.chunkSize {
			return Progress{}, errorf("Chunk too large: %d > %d", n, u.chunkSize)
		}
		bp := m.bufs.Get().(*[]byte)
		defer m.bufs.Put(bp)
		n, err := base64.StdEncoding.Decode(*bp, c.Base64)
		if err != nil {
			return Progress{}, &Error{Message: MsgInvalidChunkData}
		}
		data = (*bp)[:n]
	}
	if int64(len(data)) > u.chunkSize {
		return Progress{}, errorf("Chunk too large: %d > %d", len(data), u.chunkSize)
	}
	off := c.Index * u.chunkSize
	if off+int64(len(data)) > u.size {
		return Progress{}, errorf("Upload exceeds declared fileSize (%d bytes)", u.size)
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return Progress{}, errorf("Upload %s not found", u.id)
	}
	if !u.got.has(c.Index) {
		if c.Index == 0 && checkMagic(u.fileType, data, int64(len(data)) == u.size) == magicMismatch {
			u.abortLocked()
			m.forget(u)
			return Progress{}, contentMismatch(u.fileType)
		}
		if _, err := u.f.WriteAt(data, off); err != nil {
			return Progress{}, fmt.Errorf("upload: write chunk %d of %s: %w", c.Index, u.id, err)
		}
		u.got.add(c.Index)
		u.received += int64(len(data))
		if off == u.hashed {
			u.h.Write(data)
			u.hashed += int64(len(data))
			u.catchUpLocked(m)
		}
	}
	u.lastActive.Store(time.Now().UnixNano())
	return u.progressLocked(c.Index), nil
}

// catchUpLocked extends the running digest over the chunks that arrived
// ahead of order and now follow the hashed prefix, reading them back from
// the file (each at most once). A read failure just stops it: Complete
// hashes whatever remains. Called with u.mu held.
func (u *upload) catchUpLocked(m *Manager) {
	if u.hashed >= u.size || u.hashed%u.chunkSize != 0 || !u.got.has(u.hashed/u.chunkSize) {
		return
	}
	bp := m.bufs.Get().(*[]byte)
	defer m.bufs.Put(bp)
	for u.hashed < u.size && u.hashed%u.chunkSize == 0 && u.got.has(u.hashed/u.chunkSize) {
		buf := (*bp)[:min(u.chunkSize, u.size-u.hashed)]
		if _, err := u.f.ReadAt(buf, u.hashed); err != nil {
			return
		}
		u.h.Write(buf)
		u.hashed += int64(len(buf))
	}
}

func (u *upload) progressLocked(index int64) Progress {
	b := min(u.received, u.size)
	return Progress{
		UploadID:      u.id,
		ComponentID:   u.componentID,
		ChunkIndex:    index,
		TotalChunks:   u.num,
		BytesUploaded: b,
		TotalBytes:    u.size,
		Percent:       min(float64(b)/float64(u.size)*100, 100),
	}
}

// base64Len returns the decoded length of standard base64 text (padding
// and line breaks are not data).
func base64Len(b []byte) int64 {
	n := 0
	for _, c := range b {
		if c != '=' && c != '\r' && c != '\n' {
			n++
		}
	}
	return int64(n) * 3 / 4
}

// ComponentOf returns the componentId owner's upload was started for, or
// the "Upload <id> not found" error of Complete.
func (m *Manager) ComponentOf(owner Owner, c Complete) (string, error) {
	u, err := m.lookup(owner, c.UploadID, c.UploadIDText)
	if err != nil {
		return "", err
	}
	return u.componentID, nil
}

// Missing returns the first limit missing chunk indexes of owner's upload
// and the total number missing (resume support).
func (m *Manager) Missing(owner Owner, uploadID string, limit int) (missing []int64, count int64, err error) {
	u, err := m.lookup(owner, uploadID, "")
	if err != nil {
		return nil, 0, err
	}
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return nil, 0, errorf("Upload %s not found", u.id)
	}
	return u.got.missing(nil, limit), u.num - u.got.set, nil
}

// Complete finishes owner's upload: it checks that every byte arrived
// ("Incomplete upload: received <a>/<b> bytes"; the upload stays so that
// the client can send what is missing) and that the content matches the
// declared type's signature ("File content does not match claimed type
// …"; the upload is removed), then hands the file to Storage and returns
// its description with the URL. The upload is gone afterwards, whatever
// Storage answered.
func (m *Manager) Complete(ctx context.Context, owner Owner, c Complete) (File, error) {
	u, err := m.lookup(owner, c.UploadID, c.UploadIDText)
	if err != nil {
		return File{}, err
	}
	file, err := u.finish(m)
	if err != nil {
		return File{}, err
	}
	m.forget(u)
	defer os.Remove(u.path) // Storage may have moved it already
	url, err := m.cfg.Storage.Store(ctx, file, u.path)
	if err != nil {
		return File{}, fmt.Errorf("upload: store %s: %w", u.id, err)
	}
	file.URL = url
	return file, nil
}

// finish verifies a complete upload, computes its digest and closes its
// file.
func (u *upload) finish(m *Manager) (File, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.done {
		return File{}, errorf("Upload %s not found", u.id)
	}
	if u.received != u.size {
		return File{}, errorf("Incomplete upload: received %d/%d bytes", u.received, u.size)
	}
	if !u.got.has(0) {
		return File{}, &Error{Message: MsgFirstChunkMissing}
	}
	var head [magicLen]byte
	n, err := u.f.ReadAt(head[:min(int64(magicLen), u.size)], 0)
	if err != nil && !errors.Is(err, io.EOF) {
		return File{}, fmt.Errorf("upload: read %s: %w", u.id, err)
	}
	if checkMagic(u.fileType, head[:n], true) != magicOK {
		u.abortLocked()
		m.forget(u)
		return File{}, contentMismatch(u.fileType)
	}
	if u.hashed < u.size {
		bp := m.bufs.Get().(*[]byte)
		_, err := io.CopyBuffer(u.h, io.NewSectionReader(u.f, u.hashed, u.size-u.hashed), *bp)
		m.bufs.Put(bp)
		if err != nil {
			return File{}, fmt.Errorf("upload: hash %s: %w", u.id, err)
		}
		u.hashed = u.size
	}
	u.done = true
	if err := u.f.Close(); err != nil {
		_ = os.Remove(u.path)
		return File{}, fmt.Errorf("upload: close %s: %w", u.id, err)
	}
	f := File{
		UploadID: u.id, ComponentID: u.componentID, Name: u.name, Ext: u.ext,
		Type: u.fileType, Size: u.size, UserID: u.userID,
	}
	u.h.Sum(f.SHA256[:0])
	return f, nil
}

// abortLocked closes and deletes u's file. Called with u.mu held.
func (u *upload) abortLocked() {
	if u.done {
		return
	}
	u.done = true
	_ = u.f.Close()
	_ = os.Remove(u.path)
}

// discard aborts u.
func (u *upload) discard() {
	u.mu.Lock()
	u.abortLocked()
	u.mu.Unlock()
}

// forget removes u from the registry (if it is still there).
func (m *Manager) forget(u *upload) {
	m.mu.Lock()
	if m.uploads[u.id] == u {
		delete(m.uploads, u.id)
		m.unbindLocked(u)
	}
	m.mu.Unlock()
}

// ReleaseConn detaches the uploads of a closed connection. They are kept
// for Config.ChunkTimeout from now so that the client can resume them from
// a new connection (see Start); after that the sweep removes them.
func (m *Manager) ReleaseConn(connID string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := time.Now().UnixNano()
	for _, u := range m.byConn[connID] {
		u.conn = ""
		u.lastActive.Store(now)
	}
	delete(m.byConn, connID)
}

// Cancel removes owner's upload and its temporary file.
func (m *Manager) Cancel(owner Owner, uploadID string) error {
	u, err := m.lookup(owner, uploadID, "")
	if err != nil {
		return err
	}
	m.forget(u)
	u.discard()
	return nil
}

// armLocked starts the sweep timer if it is not running. Called with m.mu
// held.
func (m *Manager) armLocked() {
	if m.timer == nil {
		m.timer = time.AfterFunc(m.sweepEvery(), m.sweep)
	}
}

func (m *Manager) sweepEvery() time.Duration { return max(m.cfg.ChunkTimeout/2, time.Millisecond) }

// sweep removes the uploads idle for longer than ChunkTimeout and expired
// quota entries; it re-arms itself while uploads remain.
func (m *Manager) sweep() {
	now := time.Now()
	limit := now.Add(-m.cfg.ChunkTimeout).UnixNano()
	var stale []*upload
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return
	}
	for id, u := range m.uploads {
		if u.lastActive.Load() < limit {
			delete(m.uploads, id)
			m.unbindLocked(u)
			stale = append(stale, u)
		}
	}
	for k, q := range m.quota {
		if now.Sub(q.since) >= m.cfg.QuotaInterval {
			delete(m.quota, k)
		}
	}
	if len(m.uploads) > 0 {
		m.timer.Reset(m.sweepEvery())
	} else {
		m.timer = nil
	}
	m.mu.Unlock()
	for _, u := range stale {
		u.discard()
	}
}

// Close removes every upload in progress with its temporary file and stops
// the sweep. Later calls of any method fail with ErrClosed.
func (m *Manager) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil
	}
	m.closed = true
	if m.timer != nil {
		m.timer.Stop()
		m.timer = nil
	}
	all := m.uploads
	m.uploads, m.byConn = map[string]*upload{}, map[string][]*upload{}
	m.mu.Unlock()
	for _, u := range all {
		u.discard()
	}
	return nil
}

// baseName returns the last element of a client path, accepting / and \
// as separators (Node's path.basename, also stripping Windows paths).
func baseName(p string) string {
	p = strings.TrimRight(p, `/\`)
	if i := strings.LastIndexAny(p, `/\`); i >= 0 {
		p = p[i+1:]
	}
	return p
}

// extName returns the extension of a base name as Node's path.extname:
// from the last dot, unless that dot starts the name.
func extName(name string) string {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 {
		return ""
	}
	return name[i:]
}
