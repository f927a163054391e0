package signing

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf16"

	"github.com/google/go-cmp/cmp"
)

const counterState = `{"count":0,"lastAction":null}`

func TestNewConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
	}{
		{"empty secret", Config{}},
		{"empty previous secret", Config{Secret: []byte("a"), PreviousSecrets: [][]byte{nil}}},
		{"too many previous", Config{Secret: []byte("a"), PreviousSecrets: [][]byte{[]byte("1"), []byte("2"), []byte("3"), []byte("4")}}},
		{"negative max age", Config{Secret: []byte("a"), MaxAge: -1}},
		{"negative max nonces", Config{Secret: []byte("a"), MaxNonces: -1}},
		{"negative max state size", Config{Secret: []byte("a"), MaxStateSize: -1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := New(tt.cfg); err == nil {
				t.Fatal("New succeeded, want error")
			}
		})
	}
	t.Run("secret is copied", func(t *testing.T) {
		secret := []byte(testSecret)
		s, _ := newTestSigner(t, Config{Secret: secret})
		secret[0] = 'X'
		ss, err := s.Sign("AbCdEfGh", "Counter", 1, []byte(counterState))
		if err != nil {
			t.Fatal(err)
		}
		if want := macHex(testSecret, payloadOf(ss)); ss.Signature != want {
			t.Fatalf("signature %s, want %s (secret not copied)", ss.Signature, want)
		}
	})
}

// TestGoldenVector checks Sign against the documented format, computing the
// expected signature independently.
func TestGoldenVector(t *testing.T) {
	s, _ := newTestSigner(t, Config{})
	ss, err := s.Sign("AbCdEfGh", "Counter", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	const wantData = `{"count":0,"lastAction":null,"__componentName":"Counter"}`
	want := SignedState{
		Data:        wantData,
		Signature:   macHex(testSecret, `AbCdEfGh:1:1795773727840:`+wantData),
		Timestamp:   goldenTS,
		Version:     1,
		ComponentID: "AbCdEfGh",
	}
	if diff := cmp.Diff(want, ss); diff != "" {
		t.Fatalf("Sign mismatch (-want +got):\n%s", diff)
	}
	wantJSON := `{"data":"{\"count\":0,\"lastAction\":null,\"__componentName\":\"Counter\"}","signature":"` +
		want.Signature + `","timestamp":1795773727840,"version":1,"componentId":"AbCdEfGh","compressed":false,"encrypted":false}`
	if got := string(ss.AppendJSON(nil)); got != wantJSON {
		t.Fatalf("AppendJSON:\n got %s\nwant %s", got, wantJSON)
	}
	got, err := s.Open(context.Background(), ss, "Counter", OpenOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != counterState {
		t.Fatalf("Open = %s, want %s", got, counterState)
	}
}

func TestAppendData(t *testing.T) {
	tests := []struct {
		name, state, comp, want string
	}{
		{"empty object", `{}`, "X", `{"__componentName":"X"}`},
		{"empty object with space", ` { } `, "X", `{"__componentName":"X"}`},
		{"one key", `{"a":1}`, "X", `{"a":1,"__componentName":"X"}`},
		{"trailing space", `{"a":1} `, "X", `{"a":1,"__componentName":"X"}`},
		{"name escaped like JSON.stringify", `{}`, "a\"b\\c\n\x01<>&\u2028é", `{"__componentName":"a\"b\\c\n\u0001<>&` + "\u2028é" + `"}`},
		{"nested reserved key allowed", `{"a":{"__componentName":1}}`, "X", `{"a":{"__componentName":1},"__componentName":"X"}`},
		{"reserved text as value allowed", `{"a":"__componentName"}`, "X", `{"a":"__componentName","__componentName":"X"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := appendData(nil, []byte(tt.state), tt.comp)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Fatalf("got %s, want %s", got, tt.want)
			}
			if !json.Valid(got) {
				t.Fatalf("output is not valid JSON: %s", got)
			}
		})
	}
	for _, bad := range []string{``, `{`, `[]`, `"x"`, `null`, `{"__componentName":"Y"}`, `{"a":1,"__componentName":2}`} {
		t.Run("reject "+bad, func(t *testing.T) {
			if _, err := appendData(nil, []byte(bad), "X"); err == nil {
				t.Fatalf("appendData(%q) succeeded", bad)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	s, _ := newTestSigner(t, Config{})
	if _, err := s.Sign("id", "", 1, []byte(`{}`)); err == nil {
		t.Error("empty component name accepted")
	}
	if _, err := s.Sign("id", "X", 1, []byte(`[1]`)); err == nil {
		t.Error("non-object state accepted")
	}
}

// stateWithUnits returns a compact state whose signed data (with name "C")
// is exactly units UTF-16 code units long, padded with r.
func stateWithUnits(t *testing.T, units int, r rune) string {
	t.Helper()
	const overhead = len(`{"s":"","__componentName":"C"}`)
	per := len(utf16.Encode([]rune{r}))
	n := (units - overhead) / per
	if overhead+n*per != units {
		t.Fatalf("cannot build %d units from %q", units, r)
	}
	return `{"s":"` + strings.Repeat(string(r), n) + `"}`
}

func TestRoundTrip(t *testing.T) {
	incompressible := make([]byte, 3000)
	rand.Read(incompressible)
	bigRandom := `{"blob":"` + base64.StdEncoding.EncodeToString(incompressible) + `"}`
	bigRepeat := `{"items":[` + strings.Repeat(`{"id":1,"text":"hello world"},`, 100) + `null]}`

	tests := []struct {
		name           string
		state          string
		encrypt        bool
		wantCompressed bool
	}{
		{"small", counterState, false, false},
		{"empty", `{}`, false, false},
		{"compressible", bigRepeat, false, true},
		{"incompressible", bigRandom, false, false},
		{"encrypted", counterState, true, false},
		{"encrypted and compressed", bigRepeat, true, true},
		{"ascii 1024 units not compressed", stateWithUnits(t, 1024, 'a'), false, false},
		{"ascii 1025 units compressed", stateWithUnits(t, 1025, 'a'), false, true},
		// 2-byte runes: 1024 units but ~2000 bytes. Counting bytes would compress.
		{"latin 1024 units not compressed", stateWithUnits(t, 1024, 'é'), false, false},
		{"latin 1026 units compressed", stateWithUnits(t, 1026, 'é'), false, true},
		// 3-byte runes: 1 unit each.
		{"cjk 1024 units not compressed", stateWithUnits(t, 1024, '世'), false, false},
		// 4-byte runes: 2 units each, so fewer than 1024 code points exceed the threshold.
		{"emoji 1024 units not compressed", stateWithUnits(t, 1024, '😀'), false, false},
		{"emoji 1026 units compressed", stateWithUnits(t, 1026, '😀'), false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, _ := newTestSigner(t, Config{Encrypt: tt.encrypt})
			ss, err := s.Sign("comp-1", "C", 7, []byte(tt.state))
			if err != nil {
				t.Fatal(err)
			}
			if ss.Compressed != tt.wantCompressed {
				t.Errorf("Compressed = %v, want %v", ss.Compressed, tt.wantCompressed)
			}
			if ss.Encrypted != tt.encrypt {
				t.Errorf("Encrypted = %v, want %v", ss.Encrypted, tt.encrypt)
			}
			if want := macHex(testSecret, payloadOf(ss)); ss.Signature != want {
				t.Errorf("signature %s, want %s", ss.Signature, want)
			}
			// Decode the data independently of the package.
			plain := ss.Data
			if ss.Encrypted {
				plain = decryptIndependently(t, testSecret, ss.Data)
			}
			wantData, _ := appendData(nil, []byte(tt.state), "C")
			if ss.Compressed {
				units := len(utf16.Encode([]rune(string(wantData))))
				if float64(len(plain)) >= float64(units)*0.9 {
					t.Errorf("compressed data of %d chars not < 90%% of %d units", len(plain), units)
				}
				plain = gunzipIndependently(t, plain)
			}
			if plain != string(wantData) {
				t.Errorf("decoded data = %.80s…, want %.80s…", plain, wantData)
			}
			got, err := s.Open(context.Background(), ss, "C", OpenOptions{})
			if err != nil {
				t.Fatalf("Open: %v", err)
			}
			if string(got) != tt.state {
				t.Fatalf("Open = %.80s…, want %.80s…", got, tt.state)
			}
		})
	}
}

// decryptIndependently opens the envelope with a key derived as documented.
func decryptIndependently(t *testing.T, secret, env string) string {
	t.Helper()
	parts := strings.Split(env, ":")
	if len(parts) != 3 {
		t.Fatalf("envelope has %d parts, want 3", len(parts))
	}
	dec := func(s string) []byte {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("base64 %q: %v", s, err)
		}
		return b
	}
	iv, tag, ct := dec(parts[0]), dec(parts[1]), dec(parts[2])
	if len(iv) != 12 || len(tag) != 16 {
		t.Fatalf("iv %d bytes, tag %d bytes; want 12 and 16", len(iv), len(tag))
	}
	key, err := hkdf.Key(sha256.New, []byte(secret), nil, "live-go/state-encryption/v1", 32)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := aes.NewCipher(key)
	gcm, _ := cipher.NewGCM(block)
	pt, err := gcm.Open(nil, iv, append(ct, tag...), nil)
	if err != nil {
		t.Fatalf("independent decryption: %v", err)
	}
	return string(pt)
}

func gunzipIndependently(t *testing.T, b64 string) string {
	t.Helper()
	gz, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

func gzipB64(t testing.TB, data []byte) string {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(data)
	zw.Close()
	return base64.StdEncoding.EncodeToString(buf.Bytes())
}

func TestOpenTampered(t *testing.T) {
	s, _ := newTestSigner(t, Config{Nonces: true})
	ss, err := s.Sign("AbCdEfGh", "Counter", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	flip := func(sig string) string {
		c := byte('0')
		if sig[10] == '0' {
			c = '1'
		}
		return sig[:10] + string(c) + sig[11:]
	}
	tests := []struct {
		name   string
		mutate func(*SignedState)
	}{
		{"data", func(s *SignedState) { s.Data = strings.Replace(s.Data, `"count":0`, `"count":9`, 1) }},
		{"version", func(s *SignedState) { s.Version++ }},
		{"timestamp", func(s *SignedState) { s.Timestamp-- }},
		{"componentId", func(s *SignedState) { s.ComponentID = "AbCdEfGx" }},
		{"nonce", func(s *SignedState) { s.Nonce = "" }},
		{"signature bit", func(s *SignedState) { s.Signature = flip(s.Signature) }},
		{"signature uppercase", func(s *SignedState) { s.Signature = strings.ToUpper(s.Signature) }},
		{"signature empty", func(s *SignedState) { s.Signature = "" }},
		{"signature prefix", func(s *SignedState) { s.Signature = s.Signature[:32] }},
		{"signature one short", func(s *SignedState) { s.Signature = s.Signature[:63] }},
		{"signature one long", func(s *SignedState) { s.Signature += "0" }},
		{"signature doubled", func(s *SignedState) { s.Signature += s.Signature }},
		{"signature non-hex", func(s *SignedState) { s.Signature = strings.Repeat("zz", 32) }},
		{"compressed flag", func(s *SignedState) { s.Compressed = true }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bad := ss
			tt.mutate(&bad)
			_, err := s.Open(context.Background(), bad, "Counter", OpenOptions{})
			if tt.name == "compressed flag" {
				// The flags are not covered by the HMAC (as in the reference);
				// a flipped flag must still fail safely.
				if !errors.Is(err, ErrInvalidData) {
					t.Fatalf("err = %v, want %v", err, ErrInvalidData)
				}
				return
			}
			if err != ErrInvalidSignature {
				t.Fatalf("err = %v, want %v", err, ErrInvalidSignature)
			}
			if err.Error() != "Invalid signature" {
				t.Fatalf("wire string %q", err.Error())
			}
		})
	}
	if _, err := s.Open(context.Background(), ss, "Counter", OpenOptions{}); err != nil {
		t.Fatalf("untampered state: %v", err)
	}
}

func TestOpenAge(t *testing.T) {
	tests := []struct {
		name    string
		advance time.Duration
		maxAge  time.Duration
		want    error
	}{
		{"fresh", 0, 0, nil},
		{"exactly max age", DefaultMaxAge, 0, nil},
		{"expired", DefaultMaxAge + time.Millisecond, 0, ErrExpired},
		{"custom max age", time.Minute + time.Millisecond, time.Minute, ErrExpired},
		{"within skew", -MaxClockSkew, 0, nil},
		{"beyond skew", -MaxClockSkew - time.Millisecond, 0, ErrFutureTimestamp},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, clock := newTestSigner(t, Config{MaxAge: tt.maxAge})
			ss, err := s.Sign("id", "C", 1, []byte(counterState))
			if err != nil {
				t.Fatal(err)
			}
			clock.Add(tt.advance)
			_, err = s.Open(context.Background(), ss, "C", OpenOptions{})
			if err != tt.want {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
	t.Run("wire strings", func(t *testing.T) {
		if ErrExpired.Error() != "State expired" {
			t.Fatalf("ErrExpired = %q", ErrExpired.Error())
		}
	})
}

func TestOpenComponentName(t *testing.T) {
	s, _ := newTestSigner(t, Config{})
	craft := func(data string) SignedState {
		return resign(testSecret, SignedState{Data: data, Timestamp: goldenTS, Version: 1, ComponentID: "id"})
	}
	tests := []struct {
		name string
		ss   SignedState
		comp string
		want error
		out  string
	}{
		{"wrong name", craft(`{"a":1,"__componentName":"Counter"}`), "Other", ErrComponentMismatch, ""},
		{"missing key", craft(`{"a":1}`), "Counter", ErrComponentMismatch, ""},
		{"non-string value", craft(`{"__componentName":1}`), "Counter", ErrComponentMismatch, ""},
		{"null value", craft(`{"__componentName":null}`), "Counter", ErrComponentMismatch, ""},
		{"duplicate key", craft(`{"__componentName":"Counter","__componentName":"Counter"}`), "Counter", ErrComponentMismatch, ""},
		{"array", craft(`["__componentName","Counter"]`), "Counter", ErrComponentMismatch, ""},
		{"null", craft(`null`), "Counter", ErrComponentMismatch, ""},
		{"nested key does not count", craft(`{"a":{"__componentName":"Counter"}}`), "Counter", ErrComponentMismatch, ""},
		{"invalid JSON", craft(`{"a":`), "Counter", ErrInvalidData, ""},
		{"case sensitive", craft(`{"__componentName":"counter"}`), "Counter", ErrComponentMismatch, ""},
		{"only member", craft(`{"__componentName":"Counter"}`), "Counter", nil, `{}`},
		{"first member", craft(`{"__componentName":"Counter","a":1,"b":[2]}`), "Counter", nil, `{"a":1,"b":[2]}`},
		{"middle member", craft(`{"a":1,"__componentName":"Counter","b":{"c":"}"}}`), "Counter", nil, `{"a":1,"b":{"c":"}"}}`},
		{"last member", craft(`{"a":"x,\"y","__componentName":"Counter"}`), "Counter", nil, `{"a":"x,\"y"}`},
		{"with whitespace", craft(` { "a" : 1 , "__componentName" : "Counter" } `), "Counter", nil, ` { "a" : 1 } `},
		{"escaped key and value", craft(`{"\u005f_componentName":"Count\u0065r","a":1}`), "Counter", nil, `{"a":1}`},
		{"unicode name", craft(`{"__componentName":"Zähler"}`), "Zähler", nil, `{}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.Open(context.Background(), tt.ss, tt.comp, OpenOptions{})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if tt.want == ErrComponentMismatch && err.Error() != "Component class mismatch - state tampering detected" {
				t.Fatalf("wire string %q", err.Error())
			}
			if err == nil && string(got) != tt.out {
				t.Fatalf("Open = %s, want %s", got, tt.out)
			}
		})
	}
}

func TestOpenCompressedData(t *testing.T) {
	s, _ := newTestSigner(t, Config{MaxStateSize: 1 << 20})
	craft := func(data string) SignedState {
		return resign(testSecret, SignedState{Data: data, Timestamp: goldenTS, Version: 1, ComponentID: "id", Compressed: true})
	}
	bomb := gzipB64(t, bytes.Repeat([]byte{' '}, 2<<20))
	if len(bomb) > 1<<14 {
		t.Fatalf("bomb is %d bytes, expected a small one", len(bomb))
	}
	tests := []struct {
		name string
		data string
		want error
	}{
		{"valid", gzipB64(t, []byte(`{"a":1,"__componentName":"C"}`)), nil},
		{"bad base64", "!!!!", ErrInvalidData},
		{"not gzip", base64.StdEncoding.EncodeToString([]byte("hello world")), ErrInvalidData},
		{"truncated gzip", gzipB64(t, []byte(`{"a":1}`))[:16], ErrInvalidData},
		{"gzip bomb", bomb, ErrStateTooLarge},
		{"data above cap", strings.Repeat("A", 1<<20+4), ErrStateTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := s.Open(context.Background(), craft(tt.data), "C", OpenOptions{})
			if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestEncryption(t *testing.T) {
	ctx := context.Background()
	s1, _ := newTestSigner(t, Config{Encrypt: true})
	ss, err := s1.Sign("id", "C", 1, []byte(counterState))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(ss.Data, "count") {
		t.Fatalf("encrypted data leaks plaintext: %s", ss.Data)
	}
	again, _ := s1.Sign("id", "C", 1, []byte(counterState))
	if again.Data == ss.Data {
		t.Fatal("two encryptions produced the same envelope (IV reuse)")
	}

	t.Run("restart with same secret", func(t *testing.T) {
		s2, _ := newTestSigner(t, Config{}) // encryption off: still opens encrypted states
		got, err := s2.Open(ctx, ss, "C", OpenOptions{})
		if err != nil || string(got) != counterState {
			t.Fatalf("Open = %s, %v", got, err)
		}
	})
	t.Run("other secret", func(t *testing.T) {
		s3, _ := newTestSigner(t, Config{Secret: []byte("other-secret"), Encrypt: true})
		if _, err := s3.Open(ctx, ss, "C", OpenOptions{}); err != ErrInvalidSignature {
			t.Fatalf("err = %v, want %v", err, ErrInvalidSignature)
		}
	})

	parts := strings.Split(ss.Data, ":")
	ct, _ := base64.StdEncoding.DecodeString(parts[2])
	ct[0] ^= 1
	tag, _ := base64.StdEncoding.DecodeString(parts[1])
	tag[0] ^= 1
	tests := []struct {
		name string
		data string
	}{
		{"ciphertext bit", parts[0] + ":" + parts[1] + ":" + base64.StdEncoding.EncodeToString(ct)},
		{"tag bit", parts[0] + ":" + base64.StdEncoding.EncodeToString(tag) + ":" + parts[2]},
		{"short iv", base64.StdEncoding.EncodeToString(make([]byte, 8)) + ":" + parts[1] + ":" + parts[2]},
		{"short tag", parts[0] + ":" + base64.StdEncoding.EncodeToString(make([]byte, 12)) + ":" + parts[2]},
		{"two parts", parts[0] + ":" + parts[1]},
		{"four parts", ss.Data + ":" + parts[2]},
		{"bad base64", parts[0] + ":" + parts[1] + ":%%%"},
		{"empty", ""},
	}
	for _, tt := range tests {
		t.Run("tamper "+tt.name, func(t *testing.T) {
			bad := ss
			bad.Data = tt.data
			bad = resign(testSecret, bad) // valid HMAC, broken envelope
			_, err := s1.Open(ctx, bad, "C", OpenOptions{})
			if !errors.Is(err, ErrDecrypt) || !errors.Is(err, ErrInvalidSignature) {
				t.Fatalf("err = %v, want %v wrapping %v", err, ErrDecrypt, ErrInvalidSignature)
			}
			var se *Error
			if !errors.As(err, &se) || se.Error() != "Invalid state signature" {
				t.Fatalf("wire error = %v", se)
			}
		})
	}
}

func TestRotation(t *testing.T) {
	ctx := context.Background()
	s, _ := newTestSigner(t, Config{Secret: []byte("key-0"), Encrypt: true})
	var states []SignedState
	for i := range 5 {
		ss, err := s.Sign("id", "C", int64(i+1), []byte(counterState))
		if err != nil {
			t.Fatal(err)
		}
		if want := macHex("key-"+string(rune('0'+i)), payloadOf(ss)); ss.Signature != want {
			t.Fatalf("state %d not signed with key-%d", i, i)
		}
		states = append(states, ss)
		if err := s.Rotate([]byte("key-" + string(rune('1'+i)))); err != nil {
			t.Fatal(err)
		}
	}
	// Current key is key-5; previous are key-4, key-3, key-2.
	for i, ss := range states {
		_, err := s.Open(ctx, ss, "C", OpenOptions{})
		wantOK := i >= 2
		if wantOK && err != nil {
			t.Errorf("state signed with key-%d: %v", i, err)
		}
		if !wantOK && err != ErrInvalidSignature {
			t.Errorf("state signed with dropped key-%d: err = %v, want %v", i, err, ErrInvalidSignature)
		}
	}
	if err := s.Rotate(nil); err == nil {
		t.Error("Rotate(nil) succeeded")
	}
	t.Run("previous secrets in config", func(t *testing.T) {
		s2, _ := newTestSigner(t, Config{Secret: []byte("new"), PreviousSecrets: [][]byte{[]byte("key-4")}})
		if _, err := s2.Open(ctx, states[4], "C", OpenOptions{}); err != nil {
			t.Fatal(err)
		}
		if _, err := s2.Open(ctx, states[3], "C", OpenOptions{}); err != ErrInvalidSignature {
			t.Fatalf("unknown key: err = %v", err)
		}
	})
}

func TestConcurrentUse(t *testing.T) {
	s, _ := newTestSigner(t, Config{Nonces: true, Encrypt: true})
	ctx := context.Background()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := range 4 {
		wg.Go(func() {
			for i := range 50 {
				ss, err := s.Sign("id", "C", int64(i), []byte(counterState))
				if err != nil {
					errs <- err
					return
				}
				if _, err := s.Open(ctx, ss, "C", OpenOptions{ConsumeNonce: true}); err != nil {
					errs <- err
					return
				}
				// At most MaxPreviousSecrets rotations in all, so a state signed
				// by a slow goroutine before them still opens.
				if g == 0 && i%20 == 0 {
					if err := s.Rotate([]byte{byte(i), 1, 2, 3}); err != nil {
						errs <- err
						return
					}
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestUTF16Len(t *testing.T) {
	for _, s := range []string{"", "abc", "é", "世界", "😀", "a😀é世\u2028", strings.Repeat("𝄞x", 50)} {
		if got, want := utf16Len([]byte(s)), len(utf16.Encode([]rune(s))); got != want {
			t.Errorf("utf16Len(%q) = %d, want %d", s, got, want)
		}
	}
}
