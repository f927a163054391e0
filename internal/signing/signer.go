package signing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Limits and constants of the signing format.
const (
	// DefaultMaxAge is the default Config.MaxAge: 30 minutes, as in the
	// reference (maxStateAge).
	DefaultMaxAge = 30 * time.Minute
	// DefaultMaxStateSize is the default Config.MaxStateSize: 16 MiB.
	DefaultMaxStateSize = 16 << 20
	// MaxPreviousSecrets is how many earlier secrets stay valid for
	// verification, as in the reference.
	MaxPreviousSecrets = 3
	// MaxClockSkew is how far in the future a state or nonce timestamp may
	// lie before it is rejected.
	MaxClockSkew = 30 * time.Second
	// CompressionThreshold is the data length, in UTF-16 code units, above
	// which Sign tries gzip.
	CompressionThreshold = 1024
	// EncryptionKeyInfo is the HKDF-SHA256 info string from which the
	// AES-256 key is derived (no salt).
	EncryptionKeyInfo = "live-go/state-encryption/v1"
)

// componentNameKey is the key appended to the signed state object.
const componentNameKey = "__componentName"

var componentNameLit = []byte(`"` + componentNameKey + `"`)

// Config configures a [Signer]. The zero value of every field except Secret
// selects the documented default.
type Config struct {
	// Secret is the HMAC key (raw bytes; the reference uses the UTF-8 bytes
	// of LIVE_STATE_SECRET). Required; at least 32 bytes of entropy are
	// recommended. New returns an error when it is empty.
	Secret []byte
	// PreviousSecrets are older secrets still accepted for verification,
	// newest first; at most MaxPreviousSecrets. Default none.
	PreviousSecrets [][]byte
	// MaxAge is how long a signed state, and its nonce, stays valid.
	// Default DefaultMaxAge (30 min).
	MaxAge time.Duration
	// Encrypt turns on AES-256-GCM encryption of Data. Default false.
	Encrypt bool
	// Nonces makes Sign attach a nonce and makes Open with ConsumeNonce
	// require one. Default false (the server turns it on).
	Nonces bool
	// NonceStore records consumed nonces. Default: an in-process
	// MemoryNonceStore with capacity MaxNonces and TTL MaxAge.
	NonceStore NonceStore
	// MaxNonces is the capacity of the default NonceStore; ignored when
	// NonceStore is set. Default DefaultMaxNonces (100 000).
	MaxNonces int
	// MaxStateSize bounds Data and the decompressed state in bytes.
	// Default DefaultMaxStateSize (16 MiB).
	MaxStateSize int
	// Now is the clock. Default time.Now.
	Now func() time.Time
}

// OpenOptions are per-call options of [Signer.Open].
type OpenOptions struct {
	// ConsumeNonce makes the state single-use: its nonce is checked and
	// recorded, a second Open of the same state fails with ErrNonceUsed,
	// and, when nonces are enabled, a state without a nonce fails with
	// ErrMissingNonce. Without it the nonce is only covered by the HMAC.
	ConsumeNonce bool
}

// Signer signs and verifies component state. It is safe for concurrent
// use; Rotate may run concurrently with Sign and Open.
type Signer struct {
	maxAge       time.Duration
	maxStateSize int
	encrypt      bool
	nonces       bool
	store        NonceStore
	now          func() time.Time

	rotateMu sync.Mutex // serialises Rotate
	ring     atomic.Pointer[keyring]
}

// keyring is an immutable set of keys; keys[0] is the current one.
type keyring struct {
	keys []*key
}

// key holds everything derived from one secret.
type key struct {
	secret []byte
	macs   sync.Pool // *macState
	aead   cipher.AEAD
}

type macState struct {
	h       hash.Hash
	sum     [sha256.Size]byte
	scratch [maxNonceLen]byte
}

func newKey(secret []byte) (*key, error) {
	if len(secret) == 0 {
		return nil, errors.New("signing: empty secret")
	}
	k := &key{secret: bytes.Clone(secret)}
	k.macs.New = func() any { return &macState{h: hmac.New(sha256.New, k.secret)} }
	aesKey, err := hkdf.Key(sha256.New, k.secret, nil, EncryptionKeyInfo, 32)
	if err != nil {
		return nil, fmt.Errorf("signing: derive encryption key: %w", err)
	}
	block, err := aes.NewCipher(aesKey)
	if err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	if k.aead, err = cipher.NewGCM(block); err != nil {
		return nil, fmt.Errorf("signing: %w", err)
	}
	return k, nil
}

// sum returns HMAC-SHA256(secret, msg).
func (k *key) sum(msg []byte) [sha256.Size]byte {
	m := k.macs.Get().(*macState)
	m.h.Reset()
	m.h.Write(msg)
	m.h.Sum(m.sum[:0])
	out := m.sum
	k.macs.Put(m)
	return out
}

// sumSmall is sum for short messages (at most maxNonceLen bytes) held in
// caller stack buffers: msg is copied into pooled memory so it does not
// escape.
func (k *key) sumSmall(msg []byte) [sha256.Size]byte {
	m := k.macs.Get().(*macState)
	n := copy(m.scratch[:], msg)
	m.h.Reset()
	m.h.Write(m.scratch[:n])
	m.h.Sum(m.sum[:0])
	out := m.sum
	k.macs.Put(m)
	return out
}

// New validates cfg, applies defaults and returns a Signer.
func New(cfg Config) (*Signer, error) {
	if len(cfg.Secret) == 0 {
		return nil, errors.New("signing: Config.Secret is required")
	}
	if len(cfg.PreviousSecrets) > MaxPreviousSecrets {
		return nil, fmt.Errorf("signing: at most %d previous secrets, got %d", MaxPreviousSecrets, len(cfg.PreviousSecrets))
	}
	if cfg.MaxAge < 0 || cfg.MaxNonces < 0 || cfg.MaxStateSize < 0 {
		return nil, errors.New("signing: MaxAge, MaxNonces and MaxStateSize must not be negative")
	}
	s := &Signer{
		maxAge:       cmpOr(cfg.MaxAge, DefaultMaxAge),
		maxStateSize: cmpOr(cfg.MaxStateSize, DefaultMaxStateSize),
		encrypt:      cfg.Encrypt,
		nonces:       cfg.Nonces,
		store:        cfg.NonceStore,
		now:          cfg.Now,
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.store == nil {
		s.store = NewMemoryNonceStore(s.maxAge, cfg.MaxNonces, s.now)
	}
	ring := &keyring{}
	for i, secret := range append([][]byte{cfg.Secret}, cfg.PreviousSecrets...) {
		k, err := newKey(secret)
		if err != nil {
			return nil, fmt.Errorf("signing: secret %d: %w", i, err)
		}
		ring.keys = append(ring.keys, k)
	}
	s.ring.Store(ring)
	return s, nil
}

func cmpOr[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

// Rotate makes newSecret the signing secret. The current secret moves to
// the front of the previous secrets, of which at most MaxPreviousSecrets
// are kept; states signed with any of them keep verifying (and decrypting)
// until they expire. It returns an error, and changes nothing, when
// newSecret is empty.
func (s *Signer) Rotate(newSecret []byte) error {
	k, err := newKey(newSecret)
	if err != nil {
		return err
	}
	s.rotateMu.Lock()
	defer s.rotateMu.Unlock()
	old := s.ring.Load().keys
	keys := make([]*key, 0, 1+MaxPreviousSecrets)
	keys = append(keys, k)
	keys = append(keys, old[:min(len(old), MaxPreviousSecrets)]...)
	s.ring.Store(&keyring{keys: keys})
	return nil
}

// Buffer pools. Buffers that grew beyond maxPooledBuf are dropped so one
// large state does not pin memory.
const maxPooledBuf = 64 << 10

var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 512); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > maxPooledBuf {
		return
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

type appendWriter struct{ b []byte }

func (w *appendWriter) Write(p []byte) (int, error) {
	w.b = append(w.b, p...)
	return len(p), nil
}

type gzipWriter struct {
	zw *gzip.Writer
	w  appendWriter
}

var gzipWriters = sync.Pool{New: func() any {
	g := &gzipWriter{}
	g.zw = gzip.NewWriter(&g.w)
	return g
}}

var gzipReaders sync.Pool // *gzip.Reader

// Sign signs state, the compact JSON object of the component's public
// state, following spec §3.2: __componentName is appended as the last key,
// data longer than CompressionThreshold UTF-16 code units is gzipped when
// that saves at least 10 %, the result is encrypted when Config.Encrypt is
// set, a nonce is attached when Config.Nonces is set, and the signature is
// the lowercase hex HMAC-SHA256 of
// componentId:version:timestamp:data[:nonce]. state must be valid UTF-8
// JSON with no top-level __componentName key; Sign checks only that it is
// delimited by braces and does not contain that key.
func (s *Signer) Sign(componentID, componentName string, version int64, state []byte) (SignedState, error) {
	if componentName == "" {
		return SignedState{}, errors.New("signing: empty component name")
	}
	k := s.ring.Load().keys[0]
	bp := getBuf()
	defer putBuf(bp)
	data, err := appendData((*bp)[:0], state, componentName)
	*bp = data
	if err != nil {
		return SignedState{}, err
	}
	ss := SignedState{ComponentID: componentID, Version: version}
	if len(data) > CompressionThreshold {
		if n := utf16Len(data); n > CompressionThreshold {
			zp := getBuf()
			defer putBuf(zp)
			var ok bool
			*zp, ok = compress((*zp)[:0], data, n)
			if ok {
				data = *zp
				ss.Compressed = true
			}
		}
	}
	if s.encrypt {
		ep := getBuf()
		defer putBuf(ep)
		*ep = seal((*ep)[:0], k.aead, data)
		data = *ep
		ss.Encrypted = true
	}
	ss.Timestamp = s.now().UnixMilli()
	if s.nonces {
		ss.Nonce = s.newNonce(k, ss.Timestamp)
	}
	pp := getBuf()
	defer putBuf(pp)
	*pp = appendPayload((*pp)[:0], componentID, version, ss.Timestamp, data, ss.Nonce)
	mac := k.sum(*pp)
	var sig [2 * sha256.Size]byte
	hex.Encode(sig[:], mac[:])
	ss.Signature = string(sig[:])
	ss.Data = string(data)
	return ss, nil
}

// appendData appends state with "__componentName":name as its last member.
func appendData(dst, state []byte, name string) ([]byte, error) {
	end := len(state)
	for end > 0 && isSpace(state[end-1]) {
		end--
	}
	start := skipSpace(state, 0)
	if end-start < 2 || state[start] != '{' || state[end-1] != '}' {
		return dst, errors.New("signing: state is not a JSON object")
	}
	if bytes.Contains(state, componentNameLit) && hasTopLevelKey(state, componentNameKey) {
		return dst, fmt.Errorf("signing: state must not contain the reserved key %q", componentNameKey)
	}
	body := end - 1 // index of the closing brace
	for body > start+1 && isSpace(state[body-1]) {
		body--
	}
	dst = append(dst, state[start:body]...)
	if body > start+1 {
		dst = append(dst, ',')
	}
	dst = append(dst, componentNameLit...)
	dst = append(dst, ':')
	dst = appendString(dst, name)
	return append(dst, '}'), nil
}

func hasTopLevelKey(obj []byte, name string) bool {
	if !json.Valid(obj) {
		return false
	}
	it, ok := newObjIter(obj)
	if !ok {
		return false
	}
	for {
		m, ok, _ := it.next()
		if !ok {
			return false
		}
		if literalEquals(obj[m.keyStart:m.keyEnd], name) {
			return true
		}
	}
}

// compress appends base64(gzip(data)) to dst and reports whether it is
// worth keeping: shorter than 90 % of units, the UTF-16 length of data.
// The comparison is done in float64 like the reference's JavaScript.
func compress(dst, data []byte, units int) ([]byte, bool) {
	g := gzipWriters.Get().(*gzipWriter)
	zp := getBuf()
	g.w.b = (*zp)[:0]
	g.zw.Reset(&g.w)
	_, _ = g.zw.Write(data) // appendWriter never fails
	_ = g.zw.Close()
	gz := g.w.b
	g.w.b = nil
	gzipWriters.Put(g)
	dst = base64.StdEncoding.AppendEncode(dst, gz)
	*zp = gz
	putBuf(zp)
	return dst, float64(base64.StdEncoding.EncodedLen(len(gz))) < float64(units)*0.9
}

// seal appends the envelope base64(iv):base64(tag):base64(ciphertext).
func seal(dst []byte, aead cipher.AEAD, plaintext []byte) []byte {
	var iv [12]byte
	_, _ = rand.Read(iv[:]) // crypto/rand.Read never returns an error
	cp := getBuf()
	ct := aead.Seal((*cp)[:0], iv[:], plaintext, nil)
	tagAt := len(ct) - aead.Overhead()
	dst = base64.StdEncoding.AppendEncode(dst, iv[:])
	dst = append(dst, ':')
	dst = base64.StdEncoding.AppendEncode(dst, ct[tagAt:])
	dst = append(dst, ':')
	dst = base64.StdEncoding.AppendEncode(dst, ct[:tagAt])
	*cp = ct
	putBuf(cp)
	return dst
}

// appendPayload appends the HMAC input of spec §3.2.
func appendPayload[T string | []byte](dst []byte, componentID string, version, ts int64, data T, nonce string) []byte {
	dst = append(dst, componentID...)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, version, 10)
	dst = append(dst, ':')
	dst = strconv.AppendInt(dst, ts, 10)
	dst = append(dst, ':')
	dst = append(dst, data...)
	if nonce != "" {
		dst = append(dst, ':')
		dst = append(dst, nonce...)
	}
	return dst
}

// Open verifies ss and returns the state object it carries, without the
// __componentName key (the other bytes are kept as signed). The checks run
// in this order, each failing with the sentinel named:
//
//  1. age: older than MaxAge → ErrExpired; more than MaxClockSkew in the
//     future → ErrFutureTimestamp; Data longer than MaxStateSize →
//     ErrStateTooLarge;
//  2. HMAC, in constant time, with the current and then each previous
//     secret → ErrInvalidSignature;
//  3. with opts.ConsumeNonce: the stateless nonce checks of spec §3.5
//     (ErrMalformedNonce … ErrInvalidNonceSignature), or ErrMissingNonce
//     when nonces are enabled and the state has none;
//  4. AES-GCM decryption with the key derived from the secret that matched
//     → ErrDecrypt (which is also ErrInvalidSignature);
//  5. gunzip, bounded by MaxStateSize → ErrInvalidData, ErrStateTooLarge;
//  6. JSON object with a single __componentName equal to componentName →
//     ErrInvalidData, ErrComponentMismatch;
//  7. with opts.ConsumeNonce and a nonce: NonceStore.Use → ErrNonceUsed,
//     ErrNoncePredatesWindow, or the store's error.
//
// The nonce is consumed last, so a state that fails any other check stays
// usable. ctx is passed to the NonceStore.
func (s *Signer) Open(ctx context.Context, ss SignedState, componentName string, opts OpenOptions) ([]byte, error) {
	now := s.now().UnixMilli()
	if ss.Timestamp < now-s.maxAge.Milliseconds() {
		return nil, ErrExpired
	}
	if ss.Timestamp > now+MaxClockSkew.Milliseconds() {
		return nil, ErrFutureTimestamp
	}
	if len(ss.Data) > s.maxStateSize {
		return nil, ErrStateTooLarge
	}
	ring := s.ring.Load()
	k, err := s.verifyMAC(ring, &ss)
	if err != nil {
		return nil, err
	}
	var nonceTS int64
	if opts.ConsumeNonce {
		switch {
		case ss.Nonce != "":
			p, err := s.checkNonce(ring, ss.Nonce, now)
			if err != nil {
				return nil, err
			}
			nonceTS = p.ts
		case s.nonces:
			return nil, ErrMissingNonce
		}
	}
	raw, err := s.extract(k, &ss)
	if err != nil {
		return nil, err
	}
	if raw, err = stripComponentName(raw, componentName); err != nil {
		return nil, err
	}
	if opts.ConsumeNonce && ss.Nonce != "" {
		if err := s.store.Use(ctx, ss.Nonce, time.UnixMilli(nonceTS)); err != nil {
			var se *Error
			if errors.As(err, &se) {
				return nil, err
			}
			return nil, fmt.Errorf("signing: nonce store: %w", err)
		}
	}
	return raw, nil
}

// verifyMAC returns the key whose HMAC matches ss.
func (s *Signer) verifyMAC(ring *keyring, ss *SignedState) (*key, error) {
	var got [sha256.Size]byte
	if !decodeLowerHex(got[:], ss.Signature) {
		return nil, ErrInvalidSignature
	}
	pp := getBuf()
	defer putBuf(pp)
	*pp = appendPayload((*pp)[:0], ss.ComponentID, ss.Version, ss.Timestamp, ss.Data, ss.Nonce)
	for _, k := range ring.keys {
		want := k.sum(*pp)
		if hmac.Equal(want[:], got[:]) {
			return k, nil
		}
	}
	return nil, ErrInvalidSignature
}

// decodeLowerHex decodes exactly len(dst)*2 lowercase hex digits, the only
// form the reference emits and accepts (it compares hex strings).
func decodeLowerHex(dst []byte, s string) bool {
	if len(s) != 2*len(dst) {
		return false
	}
	for i := range dst {
		hi, ok1 := lowerHexVal(s[2*i])
		lo, ok2 := lowerHexVal(s[2*i+1])
		if !ok1 || !ok2 {
			return false
		}
		dst[i] = hi<<4 | lo
	}
	return true
}

func lowerHexVal(c byte) (byte, bool) {
	v := lowerHexTable[c]
	return v & 0x0F, v != 0
}

// lowerHexTable maps a lowercase hex digit to its value plus 0x10; every
// other byte maps to 0.
var lowerHexTable = func() (t [256]byte) {
	for i, c := range hexDigits {
		t[c] = byte(i) | 0x10
	}
	return t
}()

// extract undoes encryption and compression and returns a fresh copy of the
// JSON text.
func (s *Signer) extract(k *key, ss *SignedState) ([]byte, error) {
	var raw []byte
	if ss.Encrypted {
		pt, err := open(k.aead, ss.Data)
		if err != nil {
			return nil, err
		}
		raw = pt
	}
	if ss.Compressed {
		var b64 []byte
		if raw != nil {
			b64 = raw
		} else {
			b64 = []byte(ss.Data)
		}
		gz := make([]byte, base64.StdEncoding.DecodedLen(len(b64)))
		n, err := base64.StdEncoding.Decode(gz, b64)
		if err != nil {
			return nil, fmt.Errorf("%w: base64: %w", ErrInvalidData, err)
		}
		if raw, err = s.gunzip(gz[:n]); err != nil {
			return nil, err
		}
	}
	if raw == nil {
		raw = []byte(ss.Data)
	}
	return raw, nil
}

// open decrypts an envelope base64(iv):base64(tag):base64(ciphertext).
func open(aead cipher.AEAD, env string) ([]byte, error) {
	ivPart, rest, ok1 := strings.Cut(env, ":")
	tagPart, ctPart, ok2 := strings.Cut(rest, ":")
	if !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: malformed envelope", ErrDecrypt)
	}
	var iv [12]byte
	var tag [16]byte
	if !decodeB64Exact(iv[:], ivPart) || !decodeB64Exact(tag[:], tagPart) {
		return nil, fmt.Errorf("%w: malformed envelope", ErrDecrypt)
	}
	buf := make([]byte, base64.StdEncoding.DecodedLen(len(ctPart))+len(tag))
	n, err := base64.StdEncoding.Decode(buf, []byte(ctPart))
	if err != nil {
		return nil, fmt.Errorf("%w: ciphertext: %w", ErrDecrypt, err)
	}
	sealed := append(buf[:n], tag[:]...)
	pt, err := aead.Open(sealed[:0], iv[:], sealed, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return pt, nil
}

// decodeB64Exact decodes standard base64 s into dst and reports whether it
// had exactly len(dst) bytes.
func decodeB64Exact(dst []byte, s string) bool {
	if base64.StdEncoding.EncodedLen(len(dst)) != len(s) {
		return false
	}
	var tmp [18]byte // DecodedLen(EncodedLen(16)) = 18
	n, err := base64.StdEncoding.Decode(tmp[:], []byte(s))
	if err != nil || n != len(dst) {
		return false
	}
	copy(dst, tmp[:n])
	return true
}

// gunzip decompresses gz into a new buffer of at most maxStateSize bytes.
func (s *Signer) gunzip(gz []byte) ([]byte, error) {
	zr, _ := gzipReaders.Get().(*gzip.Reader)
	if zr == nil {
		zr = new(gzip.Reader)
	}
	defer func() {
		_ = zr.Reset(bytes.NewReader(nil)) // drop the reference to gz; the EOF error is expected
		gzipReaders.Put(zr)
	}()
	if err := zr.Reset(bytes.NewReader(gz)); err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrInvalidData, err)
	}
	out, err := io.ReadAll(io.LimitReader(zr, int64(s.maxStateSize)+1))
	if err != nil {
		return nil, fmt.Errorf("%w: gzip: %w", ErrInvalidData, err)
	}
	if len(out) > s.maxStateSize {
		return nil, ErrStateTooLarge
	}
	return out, nil
}

// stripComponentName checks that raw is a JSON object whose only
// __componentName member is the string name and removes that member in
// place, leaving every other byte as it was.
func stripComponentName(raw []byte, name string) ([]byte, error) {
	if !json.Valid(raw) {
		return nil, fmt.Errorf("%w: invalid JSON", ErrInvalidData)
	}
	it, ok := newObjIter(raw)
	if !ok {
		return nil, ErrComponentMismatch
	}
	var (
		found    bool
		match    member
		prevEnd  = -1 // end of the member before the match
		lastEnd  = -1 // end of the previous member while scanning
		cutStart = -1
		cutEnd   = -1
	)
	for {
		m, ok, bad := it.next()
		if bad {
			return nil, fmt.Errorf("%w: invalid JSON", ErrInvalidData)
		}
		if !ok {
			break
		}
		if found && cutStart < 0 {
			// The member after the match: cut from the match to here,
			// taking the separating comma with it.
			cutStart, cutEnd = match.keyStart, m.keyStart
		}
		if literalEquals(raw[m.keyStart:m.keyEnd], componentNameKey) {
			if found {
				return nil, ErrComponentMismatch
			}
			found, match, prevEnd = true, m, lastEnd
		}
		lastEnd = m.valEnd
	}
	if !found || raw[match.valStart] != '"' || !literalEquals(raw[match.valStart:match.valEnd], name) {
		return nil, ErrComponentMismatch
	}
	if cutStart < 0 {
		if prevEnd >= 0 {
			cutStart, cutEnd = prevEnd, match.valEnd // last member: drop the comma before it
		} else {
			cutStart, cutEnd = match.keyStart, match.valEnd // only member
		}
	}
	n := copy(raw[cutStart:], raw[cutEnd:])
	return raw[:cutStart+n], nil
}
