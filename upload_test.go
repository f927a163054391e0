package live_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/coder/websocket"

	live "github.com/live-go/live"
)

// ---- components ----

// uploadLog records what UploadHook saw.
type uploadLog struct {
	mu    sync.Mutex
	files []live.UploadedFile
}

func (l *uploadLog) add(f live.UploadedFile) {
	l.mu.Lock()
	l.files = append(l.files, f)
	l.mu.Unlock()
}

func (l *uploadLog) all() []live.UploadedFile {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]live.UploadedFile(nil), l.files...)
}

// Uploader accepts uploads and lists their URLs in its state.
type Uploader struct {
	live.Base
	Files []string `json:"files"`
	log   *uploadLog
}

func (u *Uploader) OnUpload(ctx *live.Ctx, f live.UploadedFile) error {
	if f.Name == "reject.txt" {
		return &live.Error{Message: "not wanted here"}
	}
	u.Files = append(u.Files, f.URL)
	u.log.add(f)
	return nil
}

// uploadEnv is a server with the Uploader components and its directories.
type uploadEnv struct {
	srv            *live.Server
	hs             *httptest.Server
	log            *uploadLog
	store, tempDir string
}

func newUploadEnv(t *testing.T, opts live.Options) *uploadEnv {
	t.Helper()
	e := &uploadEnv{log: &uploadLog{}, store: t.TempDir(), tempDir: t.TempDir()}
	if opts.Uploads.Dir == "" {
		opts.Uploads.Dir = e.store
	}
	opts.Uploads.TempDir = e.tempDir
	if opts.StateSecret == nil {
		opts.StateSecret = []byte("upload-test-secret-upload-test-secret")
	}
	srv, err := live.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	registerUploaders(t, srv, e.log)
	e.srv = srv
	return e
}

func registerUploaders(t *testing.T, srv *live.Server, log *uploadLog) {
	t.Helper()
	must(t, live.Register(srv, live.Component[Uploader]{Name: "Uploader", New: func() *Uploader { return &Uploader{log: log} }}))
	must(t, live.Register(srv, live.Component[Uploader]{Name: "SharedUploader", Singleton: true, New: func() *Uploader { return &Uploader{log: log} }}))
	must(t, live.Register(srv, live.Component[Counter]{Name: "Counter", Actions: []string{"increment"}}))
}

func (e *uploadEnv) http(t *testing.T) *httptest.Server {
	t.Helper()
	if e.hs == nil {
		e.hs = newHTTPTest(t, e.srv)
	}
	return e.hs
}

// tempCount returns the number of files in the upload temp dir.
func (e *uploadEnv) tempCount(t *testing.T) int {
	t.Helper()
	ents, err := os.ReadDir(e.tempDir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

// stored returns the content of the file published at url.
func (e *uploadEnv) stored(t *testing.T, url string) []byte {
	t.Helper()
	name, ok := strings.CutPrefix(url, "/uploads/")
	if !ok || strings.ContainsAny(name, `/\`) {
		t.Fatalf("fileUrl %q", url)
	}
	b, err := os.ReadFile(filepath.Join(e.store, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// ---- frames ----

func startMsg(compID, uploadID, name, typ string, size, chunk int, reqID string) map[string]any {
	m := map[string]any{"type": "FILE_UPLOAD_START", "componentId": compID, "uploadId": uploadID,
		"filename": name, "fileType": typ, "fileSize": size, "chunkSize": chunk, "requestId": reqID}
	if compID == "" {
		delete(m, "componentId")
	}
	return m
}

func chunkMsg(compID, uploadID string, i int, data []byte, reqID string) map[string]any {
	return map[string]any{"type": "FILE_UPLOAD_CHUNK", "componentId": compID, "uploadId": uploadID,
		"chunkIndex": i, "totalChunks": 99, "data": base64.StdEncoding.EncodeToString(data), "requestId": reqID}
}

func completeMsg(compID, uploadID, reqID string) map[string]any {
	return map[string]any{"type": "FILE_UPLOAD_COMPLETE", "componentId": compID, "uploadId": uploadID, "requestId": reqID}
}

// binaryChunk builds the binary framing of spec §1.10.3 by hand (u32 LE
// header length, JSON header, data), independently of the server's code.
func binaryChunk(t testing.TB, header map[string]any, data []byte) []byte {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatal(err)
	}
	b := binary.LittleEndian.AppendUint32(nil, uint32(len(h)))
	b = append(b, h...)
	return append(b, data...)
}

func chunkHeader(compID, uploadID string, i int) map[string]any {
	return map[string]any{"type": "FILE_UPLOAD_CHUNK", "componentId": compID, "uploadId": uploadID,
		"chunkIndex": i, "totalChunks": 99, "requestId": fmt.Sprintf("chunk-%s-%d", uploadID, i)}
}

func (rc *rawClient) sendBinary(b []byte) {
	rc.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := rc.c.Write(ctx, websocket.MessageBinary, b); err != nil {
		rc.t.Fatalf("write: %v", err)
	}
}

func pngBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(i*13 + i>>9)
	}
	copy(b, "\x89PNG\r\n\x1a\n")
	return b
}

func part(data []byte, cs, i int) []byte { return data[i*cs : min((i+1)*cs, len(data))] }

// ---- tests ----

// JSON base64 chunks, out of order and repeated: progress replies carry
// the requestId and never go backwards; completion runs the component's
// hook (its state change arrives first) and stores the exact bytes.
func TestUploadJSONChunks(t *testing.T) {
	e := newUploadEnv(t, live.Options{})
	rc := dialRaw(t, e.http(t), nil)
	id, _ := rc.mount("Uploader", nil)
	data := pngBytes(2500)
	const cs = 1000

	rc.send(startMsg(id, "up-1", "photos/Cat.PNG", "image/png", len(data), cs, "s1"))
	wantJSON(t, rc.expect("FILE_UPLOAD_START_RESPONSE"), fmt.Sprintf(
		`{"type":"FILE_UPLOAD_START_RESPONSE","componentId":%q,"uploadId":"up-1","success":true,"totalChunks":3,"requestId":"s1"}`, id))

	var last float64
	for n, i := range []int{2, 0, 2, 1, 0} {
		rc.send(chunkMsg(id, "up-1", i, part(data, cs, i), fmt.Sprintf("c%d", n)))
		p := rc.expect("FILE_UPLOAD_PROGRESS")
		wantKeys(t, p, "type", "componentId", "uploadId", "chunkIndex", "totalChunks", "bytesUploaded", "totalBytes", "progress", "timestamp", "requestId")
		if p["requestId"] != fmt.Sprintf("c%d", n) || p["chunkIndex"] != float64(i) || p["totalChunks"] != 3.0 ||
			p["totalBytes"] != 2500.0 || p["componentId"] != id || p["uploadId"] != "up-1" {
			t.Fatalf("progress %v", p)
		}
		b := p["bytesUploaded"].(float64)
		if b < last || p["progress"] != b/2500*100 {
			t.Fatalf("progress went from %v to %v (%v%%)", last, b, p["progress"])
		}
		last = b
	}
	if last != 2500 {
		t.Fatalf("bytesUploaded %v after every chunk", last)
	}

	rc.send(completeMsg(id, "up-1", "done"))
	delta := rc.expect("STATE_DELTA")
	done := rc.expect("FILE_UPLOAD_COMPLETE")
	wantKeys(t, done, "type", "componentId", "uploadId", "success", "filename", "fileUrl", "sha256", "timestamp", "requestId")
	sum := sha256.Sum256(data)
	if done["success"] != true || done["filename"] != "Cat.PNG" || done["requestId"] != "done" || done["componentId"] != id ||
		done["sha256"] != hex.EncodeToString(sum[:]) {
		t.Fatalf("complete %v", done)
	}
	url := done["fileUrl"].(string)
	if !strings.HasSuffix(url, ".png") {
		t.Errorf("fileUrl %q keeps no lowercased extension", url)
	}
	wantJSON(t, delta["payload"], fmt.Sprintf(`{"delta":{"files":[%q]}}`, url))
	if got := e.stored(t, url); !bytes.Equal(got, data) {
		t.Fatal("stored file differs")
	}
	files := e.log.all()
	if len(files) != 1 || files[0] != (live.UploadedFile{UploadID: "up-1", Name: "Cat.PNG", Type: "image/png", Size: 2500, SHA256: sum, URL: url}) {
		t.Fatalf("hook saw %+v", files)
	}
	if n := e.tempCount(t); n != 0 {
		t.Errorf("%d temp files left", n)
	}
}

// Binary chunks echo the header's requestId. Another connection can
// neither write to nor complete the upload, and learns nothing about it.
func TestUploadBinaryChunksAndOwnership(t *testing.T) {
	e := newUploadEnv(t, live.Options{})
	a := dialRaw(t, e.http(t), nil)
	b := dialRaw(t, e.http(t), nil)
	id, _ := a.mount("Uploader", nil)
	bID, _ := b.mount("Uploader", nil)
	data := pngBytes(10_000)
	const cs = 4096

	a.send(startMsg(id, "bin-1", "x.png", "image/png", len(data), cs, "s"))
	a.expect("FILE_UPLOAD_START_RESPONSE")
	a.sendBinary(binaryChunk(t, chunkHeader(id, "bin-1", 1), part(data, cs, 1)))
	p := a.expect("FILE_UPLOAD_PROGRESS")
	if p["requestId"] != "chunk-bin-1-1" || p["bytesUploaded"] != 4096.0 {
		t.Fatalf("progress %v", p)
	}

	// B, who owns a component of the same kind, targets A's upload.
	b.sendBinary(binaryChunk(t, chunkHeader(bID, "bin-1", 0), part(data, cs, 0)))
	wantJSON(t, b.expect("ERROR"), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"error":"Upload bin-1 not found","requestId":"chunk-bin-1-0"}`, bID))
	b.send(chunkMsg(bID, "bin-1", 0, part(data, cs, 0), "j0"))
	wantJSON(t, b.expect("ERROR"), fmt.Sprintf(`{"type":"ERROR","componentId":%q,"error":"Upload bin-1 not found","requestId":"j0"}`, bID))
	b.send(completeMsg(bID, "bin-1", "bc"))
	done := b.expect("FILE_UPLOAD_COMPLETE")
	if done["success"] != false || done["error"] != "Upload bin-1 not found" || done["componentId"] != "" || done["uploadId"] != "bin-1" {
		t.Fatalf("foreign complete %v", done)
	}
	b.send(startMsg(bID, "bin-1", "x.png", "image/png", len(data), cs, "bs"))
	if r := b.expect("FILE_UPLOAD_START_RESPONSE"); r["error"] != "Upload bin-1 already in progress" {
		t.Fatalf("foreign start %v", r)
	}

	// Frames that are not upload chunks are ignored: another header type,
	// or no decodable header at all.
	for _, other := range [][]byte{
		binaryChunk(t, map[string]any{"type": "SOMETHING_ELSE", "uploadId": "bin-1"}, []byte("x")),
		{0xFF, 0xFF, 0xFF, 0xFF, '{', '}'}, // header length 0xFFFFFFFF
		{0, 0, 0, 0, 'x'},                  // empty header
		{1, 0, 0, 0, '{'},                  // one-byte header
		{2, 0},                             // truncated length
		binaryChunk(t, chunkHeader(id, "bin-1", 0), nil)[:12], // truncated header
		[]byte(`{"type":"FILE_UPLOAD_CHUNK"}`),                // JSON sent as binary
	} {
		a.sendBinary(other)
	}
	a.quiet()

	for _, i := range []int{0, 2, 2} {
		a.sendBinary(binaryChunk(t, chunkHeader(id, "bin-1", i), part(data, cs, i)))
		a.expect("FILE_UPLOAD_PROGRESS")
	}
	a.send(completeMsg(id, "bin-1", "ac"))
	a.expect("STATE_DELTA")
	done = a.expect("FILE_UPLOAD_COMPLETE")
	if done["success"] != true {
		t.Fatalf("complete %v", done)
	}
	if !bytes.Equal(e.stored(t, done["fileUrl"].(string)), data) {
		t.Fatal("stored file differs")
	}
}

// FILE_UPLOAD_START refusals: the exact texts of spec §7.2, the target
// component rules, and the top-level uploadId echoed in every reply.
func TestUploadStartErrors(t *testing.T) {
	e := newUploadEnv(t, live.Options{Uploads: live.UploadOptions{MaxFileSize: 1000, MaxConcurrent: 2}})
	rc := dialRaw(t, e.http(t), nil)
	other := dialRaw(t, e.http(t), nil)
	id, _ := rc.mount("Uploader", nil)
	foreign, _ := other.mount("Uploader", nil)
	counter, _ := rc.mount("Counter", nil)

	rc.send(startMsg(id, "taken", "a.txt", "text/plain", 10, 10, "t"))
	rc.expect("FILE_UPLOAD_START_RESPONSE")

	tests := []struct {
		name string
		msg  map[string]any
		err  string
	}{
		{"no uploadId", map[string]any{"type": "FILE_UPLOAD_START", "componentId": id, "filename": "a", "fileType": "text/plain", "fileSize": 1}, "Invalid uploadId"},
		{"long uploadId", startMsg(id, strings.Repeat("u", 129), "a.txt", "text/plain", 1, 1, ""), "Invalid uploadId"},
		{"no filename", map[string]any{"type": "FILE_UPLOAD_START", "componentId": id, "uploadId": "u", "fileType": "t", "fileSize": 1}, "Invalid filename or fileType"},
		{"string size", map[string]any{"type": "FILE_UPLOAD_START", "componentId": id, "uploadId": "u", "filename": "a", "fileType": "t", "fileSize": "12"}, "Invalid fileSize: 12"},
		{"chunk size", startMsg(id, "u", "a.txt", "text/plain", 10, 2<<20, ""), "Invalid chunkSize: 2097152 (allowed 1-1048576)"},
		{"no component", startMsg("", "u", "a.txt", "text/plain", 10, 10, ""), "Component not found for upload"},
		{"foreign component", startMsg(foreign, "u", "a.txt", "text/plain", 10, 10, ""), "Component not found for upload"},
		{"component without hook", startMsg(counter, "u", "a.txt", "text/plain", 10, 10, ""), "Component does not accept uploads"},
		{"too large", startMsg(id, "u", "a.txt", "text/plain", 1001, 10, ""), "File too large: 1001 bytes. Max: 1000 bytes"},
		{"type", startMsg(id, "u", "a.exe", "application/x-msdownload", 10, 10, ""), "File type not allowed: application/x-msdownload"},
		{"extension", startMsg(id, "u", "a.sh", "text/plain", 10, 10, ""), "File extension not allowed: .sh"},
		{"double extension", startMsg(id, "u", "a.exe.txt", "text/plain", 10, 10, ""), "Suspicious double extension detected: .exe in a.exe.txt"},
		{"name too long", startMsg(id, "u", strings.Repeat("n", 256), "text/plain", 10, 10, ""), "Filename too long"},
		{"in progress", startMsg(id, "taken", "b.txt", "text/plain", 10, 10, ""), "Upload taken already in progress"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer rc.use(t)()
			tt.msg["requestId"] = "r-" + tt.name
			rc.send(tt.msg)
			r := rc.expect("FILE_UPLOAD_START_RESPONSE")
			if r["success"] != false || r["error"] != tt.err || r["requestId"] != "r-"+tt.name {
				t.Fatalf("reply %v, want error %q", r, tt.err)
			}
			if uid, ok := tt.msg["uploadId"].(string); ok && len(uid) <= 128 && r["uploadId"] != uid {
				t.Errorf("uploadId %v not echoed", r["uploadId"])
			}
		})
	}
	rc.send(startMsg(id, "second", "b.txt", "text/plain", 10, 10, "ok"))
	if r := rc.expect("FILE_UPLOAD_START_RESPONSE"); r["success"] != true {
		t.Fatalf("second upload %v", r)
	}
	rc.send(startMsg(id, "third", "c.txt", "text/plain", 10, 10, "lim"))
	if r := rc.expect("FILE_UPLOAD_START_RESPONSE"); r["error"] != "Too many concurrent uploads (max 2 per connection)" {
		t.Fatalf("third upload %v", r)
	}
	if n := e.tempCount(t); n != 2 {
		t.Errorf("%d temp files, want 2", n)
	}
}

// Chunk and completion refusals of spec §7.2, and the magic-byte check
// that catches content disguised as another type.
func TestUploadChunkAndCompleteErrors(t *testing.T) {
	e := newUploadEnv(t, live.Options{})
	rc := dialRaw(t, e.http(t), nil)
	id, _ := rc.mount("Uploader", nil)
	rc.send(startMsg(id, "u", "a.txt", "text/plain", 25, 10, "s"))
	rc.expect("FILE_UPLOAD_START_RESPONSE")

	tests := []struct {
		name string
		msg  map[string]any
		err  string
	}{
		{"unknown upload", chunkMsg(id, "nope", 0, []byte("x"), ""), "Upload nope not found"},
		{"negative index", chunkMsg(id, "u", -1, []byte("x"), ""), "Invalid chunk index: -1"},
		{"index past the end", chunkMsg(id, "u", 3, []byte("x"), ""), "Invalid chunk index: 3"},
		{"fractional index", map[string]any{"type": "FILE_UPLOAD_CHUNK", "uploadId": "u", "chunkIndex": 0.5, "data": "AA=="}, "Invalid chunk index: 0.5"},
		{"no data", map[string]any{"type": "FILE_UPLOAD_CHUNK", "uploadId": "u", "chunkIndex": 0}, "Invalid chunk data"},
		{"numeric data", map[string]any{"type": "FILE_UPLOAD_CHUNK", "uploadId": "u", "chunkIndex": 0, "data": 12}, "Invalid chunk data"},
		{"too large", chunkMsg(id, "u", 0, make([]byte, 11), ""), "Chunk too large: 11 > 10"},
		{"past the file", chunkMsg(id, "u", 2, make([]byte, 6), ""), "Upload exceeds declared fileSize (25 bytes)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			defer rc.use(t)()
			tt.msg["requestId"] = "r"
			rc.send(tt.msg)
			r := rc.expect("ERROR")
			if r["error"] != tt.err || r["requestId"] != "r" {
				t.Fatalf("reply %v, want %q", r, tt.err)
			}
		})
	}
	rc.send(chunkMsg(id, "u", 0, make([]byte, 10), "c0"))
	rc.expect("FILE_UPLOAD_PROGRESS")
	rc.send(completeMsg(id, "u", "early"))
	r := rc.expect("FILE_UPLOAD_COMPLETE")
	if r["success"] != false || r["error"] != "Incomplete upload: received 10/25 bytes" || r["requestId"] != "early" {
		t.Fatalf("early complete %v", r)
	}

	// A Windows executable announced as a PNG is refused at its first
	// chunk and the upload is dropped.
	rc.send(startMsg(id, "fake", "holiday.png", "image/png", 64, 32, "s2"))
	rc.expect("FILE_UPLOAD_START_RESPONSE")
	exe := append([]byte("MZ\x90\x00\x03\x00\x00\x00"), make([]byte, 24)...)
	rc.sendBinary(binaryChunk(t, chunkHeader(id, "fake", 0), exe))
	r = rc.expect("ERROR")
	if r["error"] != "File content does not match claimed type 'image/png'. The file may be disguised as a different format." || r["requestId"] != "chunk-fake-0" {
		t.Fatalf("disguised file: %v", r)
	}
	rc.sendBinary(binaryChunk(t, chunkHeader(id, "fake", 1), make([]byte, 32)))
	if r := rc.expect("ERROR"); r["error"] != "Upload fake not found" {
		t.Fatalf("after the mismatch: %v", r)
	}
	if n := e.tempCount(t); n != 1 {
		t.Errorf("%d temp files, want 1 (the incomplete upload)", n)
	}
}

// An UploadHook error fails the upload and removes the stored file.
func TestUploadHookRejects(t *testing.T) {
	e := newUploadEnv(t, live.Options{})
	rc := dialRaw(t, e.http(t), nil)
	id, _ := rc.mount("Uploader", nil)
	rc.send(startMsg(id, "r1", "reject.txt", "text/plain", 3, 3, "s"))
	rc.expect("FILE_UPLOAD_START_RESPONSE")
	rc.send(chunkMsg(id, "r1", 0, []byte("abc"), "c"))
	rc.expect("FILE_UPLOAD_PROGRESS")
	rc.send(completeMsg(id, "r1", "done"))
	r := rc.expect("FILE_UPLOAD_COMPLETE")
	if r["success"] != false || r["error"] != "not wanted here" || r["uploadId"] != "r1" {
		t.Fatalf("complete %v", r)
	}
	if ents, _ := os.ReadDir(e.store); len(ents) != 0 || e.tempCount(t) != 0 {
		t.Errorf("%d stored and %d temp files left", len(ents), e.tempCount(t))
	}
}

// memClient plays a client over a memSocket (text frames only).
type memClient struct {
	t       *testing.T
	sock    *memSocket
	done    chan struct{}
	pending []map[string]any
}

func serveMemAs(t *testing.T, srv *live.Server, user string) *memClient {
	t.Helper()
	sock := newMemSocket()
	done := make(chan struct{})
	h := http.Header{}
	if user != "" {
		h.Set("X-User", user)
	}
	go func() {
		defer close(done)
		_ = srv.ServeSocket(context.Background(), sock, live.Request{Header: h})
	}()
	mc := &memClient{t: t, sock: sock, done: done}
	mc.expect("CONNECTION_ESTABLISHED")
	return mc
}

func (mc *memClient) send(v any) {
	mc.t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		mc.t.Fatal(err)
	}
	mc.sock.in <- b
}

func (mc *memClient) expect(typ string) map[string]any {
	mc.t.Helper()
	for len(mc.pending) == 0 {
		mc.pending = recvMsgs(mc.t, mc.sock)
	}
	m := mc.pending[0]
	mc.pending = mc.pending[1:]
	if m["type"] != typ {
		mc.t.Fatalf("got %v, want a %s", m, typ)
	}
	return m
}

func (mc *memClient) mount(name string) string {
	mc.t.Helper()
	mc.send(map[string]any{"type": "COMPONENT_MOUNT", "payload": map[string]any{"component": name}, "requestId": "m"})
	mc.expect("STATE_UPDATE")
	return mc.expect("MESSAGE_RESPONSE")["result"].(map[string]any)["componentId"].(string)
}

// close ends the connection and waits for the server's teardown.
func (mc *memClient) close() {
	_ = mc.sock.Close(1000, "")
	<-mc.done
}

func identifyByHeader(_ context.Context, r *live.Request) (*live.Identity, error) {
	if u := r.Header.Get("X-User"); u != "" {
		return &live.Identity{ID: u}, nil
	}
	return nil, nil
}

// A client that loses its connection mid-upload reconnects, repeats
// FILE_UPLOAD_START and is told which chunks are missing; another user
// cannot take the upload over.
func TestUploadResumeAfterReconnect(t *testing.T) {
	e := newUploadEnv(t, live.Options{Identify: identifyByHeader, PingInterval: -1})
	data := pngBytes(400)
	const cs = 100
	start := startMsg("", "resume-1", "r.png", "image/png", len(data), cs, "s")

	a := serveMemAs(t, e.srv, "alice")
	id := a.mount("SharedUploader")
	start["componentId"] = id
	a.send(start)
	a.expect("FILE_UPLOAD_START_RESPONSE")
	for _, i := range []int{0, 2} {
		a.send(chunkMsg(id, "resume-1", i, part(data, cs, i), "c"))
		a.expect("FILE_UPLOAD_PROGRESS")
	}
	keep := serveMemAs(t, e.srv, "carol") // keeps the singleton alive
	if keep.mount("SharedUploader") != id {
		t.Fatal("singleton id changed")
	}
	a.close()

	mallory := serveMemAs(t, e.srv, "mallory")
	if mallory.mount("SharedUploader") != id {
		t.Fatal("singleton id changed")
	}
	mallory.send(start)
	if r := mallory.expect("FILE_UPLOAD_START_RESPONSE"); r["error"] != "Upload resume-1 already in progress" {
		t.Fatalf("another user resumed: %v", r)
	}

	b := serveMemAs(t, e.srv, "alice")
	if b.mount("SharedUploader") != id {
		t.Fatal("singleton id changed")
	}
	b.send(start)
	wantJSON(t, b.expect("FILE_UPLOAD_START_RESPONSE"), fmt.Sprintf(`{"type":"FILE_UPLOAD_START_RESPONSE","componentId":%q,"uploadId":"resume-1",`+
		`"success":true,"totalChunks":4,"resumed":true,"bytesUploaded":200,"missingChunks":[1,3],"missingCount":2,"requestId":"s"}`, id))
	for _, i := range []int{1, 3} {
		b.send(chunkMsg(id, "resume-1", i, part(data, cs, i), "c"))
		b.expect("FILE_UPLOAD_PROGRESS")
	}
	b.send(completeMsg(id, "resume-1", "done"))
	for {
		m := b.pending
		if len(m) == 0 {
			b.pending = recvMsgs(t, b.sock)
			continue
		}
		if m[0]["type"] == "FILE_UPLOAD_COMPLETE" {
			break
		}
		b.pending = m[1:] // the singleton's STATE_DELTA
	}
	done := b.expect("FILE_UPLOAD_COMPLETE")
	if done["success"] != true || !bytes.Equal(e.stored(t, done["fileUrl"].(string)), data) {
		t.Fatalf("complete %v", done)
	}
	for _, c := range []*memClient{b, keep, mallory} {
		c.close()
	}
	_ = e.srv.Shutdown(context.Background())
}

// An upload abandoned mid-way, by a client that went away or one that
// just stopped sending, is removed with its temporary file after the
// chunk timeout (fake clock).
func TestUploadAbandonedRemoved(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newUploadEnv(t, live.Options{PingInterval: -1, Uploads: live.UploadOptions{ChunkTimeout: 30 * time.Second}})
		gone := serveMemAs(t, e.srv, "")
		id := gone.mount("Uploader")
		gone.send(startMsg(id, "left", "a.txt", "text/plain", 20, 10, "s"))
		gone.expect("FILE_UPLOAD_START_RESPONSE")
		gone.send(chunkMsg(id, "left", 0, []byte("0123456789"), "c"))
		gone.expect("FILE_UPLOAD_PROGRESS")

		idle := serveMemAs(t, e.srv, "")
		id2 := idle.mount("Uploader")
		idle.send(startMsg(id2, "idle", "b.txt", "text/plain", 20, 10, "s"))
		idle.expect("FILE_UPLOAD_START_RESPONSE")
		gone.close()
		if n := e.tempCount(t); n != 2 {
			t.Fatalf("%d temp files, want 2", n)
		}

		time.Sleep(29 * time.Second)
		synctest.Wait()
		if n := e.tempCount(t); n != 2 {
			t.Fatalf("%d temp files before the timeout, want 2", n)
		}
		time.Sleep(20 * time.Second)
		synctest.Wait()
		if n := e.tempCount(t); n != 0 {
			t.Fatalf("%d temp files after the timeout, want 0", n)
		}
		idle.send(chunkMsg(id2, "idle", 0, []byte("0123456789"), "late"))
		if r := idle.expect("ERROR"); r["error"] != "Upload idle not found" {
			t.Fatalf("late chunk: %v", r)
		}
		idle.close()
		_ = e.srv.Shutdown(context.Background())
	})
}

// Shutdown removes the temporary files of unfinished uploads.
func TestUploadShutdownCleans(t *testing.T) {
	e := newUploadEnv(t, live.Options{PingInterval: -1})
	c := serveMemAs(t, e.srv, "")
	id := c.mount("Uploader")
	c.send(startMsg(id, "s", "a.txt", "text/plain", 20, 10, "s"))
	c.expect("FILE_UPLOAD_START_RESPONSE")
	if err := e.srv.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-c.done
	if n := e.tempCount(t); n != 0 {
		t.Errorf("%d temp files after Shutdown", n)
	}
}

// heapSampler records the peak HeapInuse while it runs.
type heapSampler struct {
	peak atomic.Uint64
	stop chan struct{}
	done chan struct{}
}

func sampleHeap(every time.Duration) *heapSampler {
	h := &heapSampler{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(h.done)
		t := time.NewTicker(every)
		defer t.Stop()
		var ms runtime.MemStats
		for {
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > h.peak.Load() {
				h.peak.Store(ms.HeapInuse)
			}
			select {
			case <-h.stop:
				return
			case <-t.C:
			}
		}
	}()
	return h
}

func (h *heapSampler) finish() uint64 {
	close(h.stop)
	<-h.done
	return h.peak.Load()
}

// A 200 MiB upload in 1 MiB binary chunks over a real WebSocket: the
// server streams it to disk, so the heap grows by less than 16 MiB; the
// stored file's SHA-256 matches and progress never goes backwards.
func TestUpload200MiB(t *testing.T) {
	if testing.Short() {
		t.Skip("200 MiB upload skipped in -short mode")
	}
	const size, cs = 200 << 20, 1 << 20
	e := newUploadEnv(t, live.Options{
		MaxMessageSize: cs + 4096,
		RateLimitBurst: -1,
		Uploads:        live.UploadOptions{MaxFileSize: size, MaxBytesPerUser: -1, AllowedTypes: []string{"*"}},
	})
	rc := dialRaw(t, e.http(t), nil)
	id, _ := rc.mount("Uploader", nil)
	rc.send(startMsg(id, "big", "big.bin", "application/octet-stream", size, cs, "s"))
	if r := rc.expect("FILE_UPLOAD_START_RESPONSE"); r["success"] != true {
		t.Fatalf("start %v", r)
	}

	// Collect often while measuring, so HeapInuse tracks live memory rather
	// than garbage left by this or earlier tests in the package.
	defer debug.SetGCPercent(debug.SetGCPercent(10))
	runtime.GC()
	var base runtime.MemStats
	runtime.ReadMemStats(&base)
	sampler := sampleHeap(5 * time.Millisecond)

	// The client streams each chunk frame from a 64 KiB buffer, so that the
	// process's heap (client and server share it) measures the server.
	rng := rand.NewChaCha8([32]byte{1, 2, 3})
	sum := sha256.New()
	piece := make([]byte, 64<<10)
	var last float64
	for i := range size / cs {
		h, _ := json.Marshal(chunkHeader(id, "big", i))
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		w, err := rc.c.Writer(ctx, websocket.MessageBinary)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(h))))
		_, _ = w.Write(h)
		for range cs / len(piece) {
			_, _ = rng.Read(piece)
			sum.Write(piece)
			if _, err := w.Write(piece); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		cancel()
		// Keep a few chunks in flight, as a streaming client would,
		// without letting replies pile up.
		if i >= 3 {
			p := rc.expect("FILE_UPLOAD_PROGRESS")
			if b := p["bytesUploaded"].(float64); b < last {
				t.Fatalf("progress went back from %v to %v", last, b)
			} else {
				last = b
			}
		}
	}
	for range 3 {
		p := rc.expect("FILE_UPLOAD_PROGRESS")
		if b := p["bytesUploaded"].(float64); b < last {
			t.Fatalf("progress went back from %v to %v", last, b)
		} else {
			last = b
		}
	}
	if last != size {
		t.Fatalf("bytesUploaded %v at the end, want %d", last, size)
	}
	rc.send(completeMsg(id, "big", "done"))
	rc.expect("STATE_DELTA")
	done := rc.expect("FILE_UPLOAD_COMPLETE")
	peak := sampler.finish()
	growth := int64(peak) - int64(base.HeapInuse)
	t.Logf("200 MiB upload: HeapInuse %.1f MiB before, peak %.1f MiB, growth %.1f MiB",
		float64(base.HeapInuse)/(1<<20), float64(peak)/(1<<20), float64(growth)/(1<<20))
	if growth >= 16<<20 {
		t.Errorf("heap grew by %.1f MiB, want < 16 MiB", float64(growth)/(1<<20))
	}

	want := hex.EncodeToString(sum.Sum(nil))
	if done["success"] != true || done["sha256"] != want {
		t.Fatalf("complete %v, want sha256 %s", done, want)
	}
	name := strings.TrimPrefix(done["fileUrl"].(string), "/uploads/")
	f, err := os.Open(filepath.Join(e.store, name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	disk := sha256.New()
	if _, err := io.Copy(disk, f); err != nil {
		t.Fatal(err)
	}
	if got := hex.EncodeToString(disk.Sum(nil)); got != want {
		t.Fatalf("stored file SHA-256 %s, want %s", got, want)
	}
}
