package signing

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// goldenTS is the timestamp of the mount recorded in the reference
// transcript.
const goldenTS int64 = 1795773727840

const testSecret = "test-secret"

// fakeClock is a settable clock for Config.Now.
type fakeClock struct{ ms atomic.Int64 }

func newClock(ms int64) *fakeClock {
	c := &fakeClock{}
	c.ms.Store(ms)
	return c
}

func (c *fakeClock) Now() time.Time      { return time.UnixMilli(c.ms.Load()) }
func (c *fakeClock) Add(d time.Duration) { c.ms.Add(d.Milliseconds()) }
func (c *fakeClock) Set(ms int64)        { c.ms.Store(ms) }
func (c *fakeClock) UnixMilli() int64    { return c.ms.Load() }

// newTestSigner returns a signer on a fake clock at goldenTS with the
// secret "test-secret" unless cfg sets another.
func newTestSigner(t testing.TB, cfg Config) (*Signer, *fakeClock) {
	t.Helper()
	clock := newClock(goldenTS)
	if cfg.Secret == nil {
		cfg.Secret = []byte(testSecret)
	}
	if cfg.Now == nil {
		cfg.Now = clock.Now
	}
	s, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return s, clock
}

// macHex is an independent HMAC-SHA256 in lowercase hex.
func macHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// payloadOf builds the documented signing payload independently of the code
// under test.
func payloadOf(ss SignedState) string {
	p := ss.ComponentID + ":" + strconv.FormatInt(ss.Version, 10) + ":" +
		strconv.FormatInt(ss.Timestamp, 10) + ":" + ss.Data
	if ss.Nonce != "" {
		p += ":" + ss.Nonce
	}
	return p
}

// resign sets ss.Signature for secret, so tests can craft states whose HMAC
// is valid but whose content is not what Sign would produce.
func resign(secret string, ss SignedState) SignedState {
	ss.Signature = macHex(secret, payloadOf(ss))
	return ss
}

// makeNonce builds a nonce in the reference format for secret.
func makeNonce(secret string, ts int64, rnd string) string {
	head := strconv.FormatInt(ts, 10) + ":" + rnd
	return head + ":" + macHex(secret, head)[:16]
}
