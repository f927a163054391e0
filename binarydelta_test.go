package live_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/go-cmp/cmp"

	live "github.com/live-go/live"
)

// Ship sends its position and hue as binary deltas; its name stays JSON.
type Ship struct {
	live.Base
	X     float64 `json:"x"`
	Y     float64 `json:"y"`
	Hue   int     `json:"hue"`
	Alive bool    `json:"alive"`
	Name  string  `json:"name"`
}

var shipCodec = mustCodec(live.NewBinaryCodec(
	live.BinaryField{Name: "x", Type: live.BinaryFloat32},
	live.BinaryField{Name: "y", Type: live.BinaryFloat32},
	live.BinaryField{Name: "hue", Type: live.BinaryUint8},
	live.BinaryField{Name: "alive", Type: live.BinaryBool},
))

func mustCodec(c *live.BinaryCodec, err error) *live.BinaryCodec {
	if err != nil {
		panic(err)
	}
	return c
}

func (s *Ship) BinaryState() *live.BinaryCodec { return shipCodec }

type MoveArgs struct {
	X, Y  float64
	Hue   int
	Alive bool
	Name  string
}

func (s *Ship) Move(ctx *live.Ctx, p MoveArgs) error {
	s.X, s.Y, s.Hue, s.Alive, s.Name = p.X, p.Y, p.Hue, p.Alive, p.Name
	return s.SendBinaryDelta()
}

// Drift changes the position from a background goroutine, the way a game
// loop would: through Update.
func (s *Ship) Drift(ctx *live.Ctx) error {
	go func() {
		_ = s.Update(func() {
			s.X += 1
			if err := s.SendBinaryDelta(); err != nil {
				s.Name = "update failed: " + err.Error()
			}
		})
	}()
	return nil
}

// Plain does not implement BinaryStater.
type Plain struct {
	live.Base
	N int `json:"n"`
}

func (p *Plain) Try(ctx *live.Ctx) error { return p.SendBinaryDelta() }

// Stray's codec names a field it does not have.
type Stray struct {
	live.Base
	N int `json:"n"`
}

var strayCodec = mustCodec(live.NewBinaryCodec(live.BinaryField{Name: "missing", Type: live.BinaryUint8}))

func (s *Stray) BinaryState() *live.BinaryCodec { return strayCodec }
func (s *Stray) Try(ctx *live.Ctx) error        { s.N++; return s.SendBinaryDelta() }

func newBinaryServer(t *testing.T) (*live.Server, chan *Ship) {
	t.Helper()
	srv, err := live.New(live.Options{StateSecret: []byte("binary-delta-secret-binary-delta-secret")})
	if err != nil {
		t.Fatal(err)
	}
	ships := make(chan *Ship, 1)
	must(t, live.Register(srv, live.Component[Ship]{Name: "Ship", Actions: []string{"move", "drift"}, Singleton: true,
		New: func() *Ship { s := &Ship{}; ships <- s; return s }}))
	must(t, live.Register(srv, live.Component[Plain]{Name: "Plain", Actions: []string{"try"}}))
	must(t, live.Register(srv, live.Component[Stray]{Name: "Stray", Actions: []string{"try"}}))
	return srv, ships
}

// use makes rc report to t (a subtest) until the returned func runs.
func (rc *rawClient) use(t *testing.T) (restore func()) {
	old := rc.t
	rc.t = t
	return func() { rc.t = old }
}

// f32 is the little-endian float32 encoding of v.
func f32(v float32) []byte { return binary.LittleEndian.AppendUint32(nil, math.Float32bits(v)) }

func shipFrame(id string, mask byte, values ...[]byte) []byte {
	b := append([]byte{0x01, byte(len(id))}, id...)
	b = append(b, mask)
	for _, v := range values {
		b = append(b, v...)
	}
	return b
}

// An action's SendBinaryDelta reaches every connection of the component as
// one 0x01 frame of the changed codec fields (byte layout of spec
// §1.10.1); the JSON delta carries only the other fields.
func TestSendBinaryDelta(t *testing.T) {
	srv, _ := newBinaryServer(t)
	hs := newHTTPTest(t, srv)
	a := dialRaw(t, hs, nil)
	b := dialRaw(t, hs, nil)
	id, _ := a.mount("Ship", nil)
	if bid, _ := b.mount("Ship", nil); bid != id {
		t.Fatalf("singleton ids %s and %s", id, bid)
	}

	steps := []struct {
		name  string
		args  map[string]any
		frame []byte // nil: no binary frame
		delta string // JSON delta, "" for none
	}{
		{"position and name", map[string]any{"X": 1.5, "Y": -2, "Name": "Argo"},
			shipFrame(id, 0b0011, f32(1.5), f32(-2)), `{"name":"Argo"}`},
		{"nothing changed", map[string]any{"X": 1.5, "Y": -2, "Name": "Argo"}, nil, ""},
		{"hue wraps around", map[string]any{"X": 1.5, "Y": -2, "Hue": 300, "Alive": true, "Name": "Argo"},
			shipFrame(id, 0b1100, []byte{44}, []byte{1}), ""},
		{"negative hue", map[string]any{"X": 1.5, "Y": -2, "Hue": -1, "Alive": true, "Name": "Argo"},
			shipFrame(id, 0b0100, []byte{255}), ""},
		{"everything", map[string]any{"X": 0, "Y": 1e39, "Hue": 0, "Alive": false, "Name": "B"},
			shipFrame(id, 0b1111, f32(0), f32(float32(math.Inf(1))), []byte{0}, []byte{0}), `{"name":"B"}`},
	}
	for i, st := range steps {
		t.Run(st.name, func(t *testing.T) {
			defer a.use(t)()
			defer b.use(t)()
			req := "r" + string(rune('0'+i))
			a.call(id, "move", st.args, true, req)
			if st.delta != "" {
				for _, c := range []*rawClient{a, b} {
					d := c.expect("STATE_DELTA")
					wantJSON(t, d["payload"].(map[string]any)["delta"], st.delta)
				}
			}
			if r := a.expect("ACTION_RESPONSE"); r["success"] != true || r["requestId"] != req {
				t.Fatalf("reply %v", r)
			}
			for _, c := range []*rawClient{a, b} {
				c.quiet() // every frame of this step has arrived
				c.mu.Lock()
				bins := c.bins
				c.bins = nil
				c.mu.Unlock()
				var want [][]byte
				if st.frame != nil {
					want = [][]byte{st.frame}
				}
				if diff := cmp.Diff(want, bins); diff != "" {
					t.Fatalf("binary frames (-want +got):\n%s", diff)
				}
			}
		})
	}

	// Snapshots keep carrying every field.
	c := dialRaw(t, hs, nil)
	c.send(map[string]any{"type": "COMPONENT_MOUNT", "payload": map[string]any{"component": "Ship"}, "requestId": "m"})
	upd := c.expect("STATE_UPDATE")
	wantJSON(t, upd["payload"].(map[string]any)["state"], `{"x":0,"y":1e+39,"hue":0,"alive":false,"name":"B"}`)
}

// SendBinaryDelta works from Update and refuses to run outside component
// code, for components without a codec, and for a codec naming a field
// the component does not have.
func TestSendBinaryDeltaMisuse(t *testing.T) {
	srv, ships := newBinaryServer(t)
	hs := newHTTPTest(t, srv)
	rc := dialRaw(t, hs, nil)
	id, _ := rc.mount("Ship", nil)
	ship := <-ships
	// The mount reply crossed a TCP socket, which orders nothing for the
	// race detector; Stats takes the connection's queue lock, which the
	// mount released after it set the component up.
	_ = srv.Stats()
	// From a goroutine that does not hold the component (no action runs:
	// the mount has been answered).
	if err := ship.SendBinaryDelta(); !errors.Is(err, live.ErrNotInComponentCode) {
		t.Fatalf("SendBinaryDelta outside component code: %v", err)
	}
	rc.call(id, "drift", nil, true, "d")
	if r := rc.expect("ACTION_RESPONSE"); r["success"] != true {
		t.Fatalf("drift: %v", r)
	}
	if got, want := rc.nextBinary(), shipFrame(id, 0b0001, f32(1)); !bytes.Equal(got, want) {
		t.Fatalf("frame from Update % x, want % x", got, want)
	}

	pid, _ := rc.mount("Plain", nil)
	rc.call(pid, "try", nil, true, "p")
	if r := rc.expect("ERROR"); !strings.Contains(r["payload"].(map[string]any)["error"].(string), "does not implement BinaryStater") {
		t.Fatalf("plain: %v", r)
	}
	rc.expect("ACTION_RESPONSE")

	sid, _ := rc.mount("Stray", nil)
	rc.call(sid, "try", nil, true, "s")
	if r := rc.expect("STATE_DELTA"); r["componentId"] != sid {
		t.Fatalf("stray delta: %v", r)
	}
	r := rc.expect("ERROR")
	if msg := r["payload"].(map[string]any)["error"].(string); !strings.Contains(msg, `binary field "missing" is not a public state field`) {
		t.Fatalf("stray: %v", r)
	}
	rc.expect("ACTION_RESPONSE")
}

// Golden payloads of the codec, including the reference's documented
// wrap-around conversions (spec §1.10.1).
func TestBinaryCodecGolden(t *testing.T) {
	all := mustCodec(live.NewBinaryCodec(
		live.BinaryField{Name: "u8", Type: live.BinaryUint8},
		live.BinaryField{Name: "u16", Type: live.BinaryUint16},
		live.BinaryField{Name: "u32", Type: live.BinaryUint32},
		live.BinaryField{Name: "i8", Type: live.BinaryInt8},
		live.BinaryField{Name: "i16", Type: live.BinaryInt16},
		live.BinaryField{Name: "i32", Type: live.BinaryInt32},
		live.BinaryField{Name: "f32", Type: live.BinaryFloat32},
		live.BinaryField{Name: "f64", Type: live.BinaryFloat64},
		live.BinaryField{Name: "ok", Type: live.BinaryBool},
		live.BinaryField{Name: "s", Type: live.BinaryString},
	))
	tests := []struct {
		name  string
		delta map[string]any
		want  []byte
	}{
		{"empty delta", map[string]any{}, nil},
		{"unknown keys only", map[string]any{"other": 1}, nil},
		{"u8 256 wraps to 0", map[string]any{"u8": 256}, []byte{0x01, 0x00, 0}},
		{"u8 257 wraps to 1", map[string]any{"u8": 257}, []byte{0x01, 0x00, 1}},
		{"u8 -1 wraps to 255", map[string]any{"u8": -1}, []byte{0x01, 0x00, 255}},
		{"i8 128 wraps to -128", map[string]any{"i8": 128}, []byte{0x08, 0x00, 0x80}},
		{"u32 2^32 wraps to 0", map[string]any{"u32": float64(1 << 32)}, []byte{0x04, 0x00, 0, 0, 0, 0}},
		{"u16 little-endian", map[string]any{"u16": 0x1234}, []byte{0x02, 0x00, 0x34, 0x12}},
		{"i16 -2", map[string]any{"i16": -2}, []byte{0x10, 0x00, 0xFE, 0xFF}},
		{"i32 NaN is 0", map[string]any{"i32": math.NaN()}, []byte{0x20, 0x00, 0, 0, 0, 0}},
		{"f32 Infinity kept", map[string]any{"f32": math.Inf(1)}, []byte{0x40, 0x00, 0x00, 0x00, 0x80, 0x7F}},
		{"f64 1.5", map[string]any{"f64": 1.5}, []byte{0x80, 0x00, 0, 0, 0, 0, 0, 0, 0xF8, 0x3F}},
		{"bool truthy string", map[string]any{"ok": "yes"}, []byte{0x00, 0x01, 1}},
		{"string", map[string]any{"s": "hé"}, []byte{0x00, 0x02, 3, 0, 'h', 0xC3, 0xA9}},
		{"two bytes of mask", map[string]any{"u8": 1, "s": ""}, []byte{0x01, 0x02, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := all.Encode(tt.delta)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("Encode = % x, want % x", got, tt.want)
			}
			if got == nil {
				return
			}
			back, err := all.Decode(got)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if len(back) != len(tt.delta) {
				t.Errorf("Decode = %v", back)
			}
		})
	}
	if _, err := all.Decode([]byte{0x01}); err == nil {
		t.Error("truncated bitmask decoded")
	}
	if _, err := all.Decode([]byte{0x04, 0x00, 1, 2}); err == nil {
		t.Error("truncated u32 decoded")
	}
	if _, err := live.NewBinaryCodec(live.BinaryField{Name: "a"}, live.BinaryField{Name: "a"}); err == nil {
		t.Error("duplicate field accepted")
	}
	if _, err := live.NewBinaryCodec(live.BinaryField{Name: "a", Type: 99}); err == nil {
		t.Error("unknown type accepted")
	}
}

// NewBinaryCodecFromState derives the fields as the reference's clients do
// from the default state.
func TestBinaryCodecFromState(t *testing.T) {
	c, err := live.NewBinaryCodecFromState(Ship{X: 1, Name: "n"}, map[string]live.BinaryType{"hue": live.BinaryUint8, "absent": live.BinaryInt8})
	if err != nil {
		t.Fatal(err)
	}
	want := []live.BinaryField{
		{Name: "x", Type: live.BinaryFloat64},
		{Name: "y", Type: live.BinaryFloat64},
		{Name: "hue", Type: live.BinaryUint8},
		{Name: "alive", Type: live.BinaryBool},
		{Name: "name", Type: live.BinaryString},
	}
	if diff := cmp.Diff(want, c.Fields()); diff != "" {
		t.Errorf("fields (-want +got):\n%s", diff)
	}
	if live.BinaryUint8.String() != "uint8" || live.BinaryBool.String() != "boolean" {
		t.Error("type names")
	}
	if _, err := live.NewBinaryCodecFromState(func() {}, nil); err == nil {
		t.Error("unencodable state accepted")
	}
	if _, err := live.NewBinaryCodecFromState([]int{1}, nil); err == nil {
		t.Error("non-object state accepted")
	}
}

// FuzzBinaryCodec decodes arbitrary payloads with a codec of every type:
// no panic, and whatever decodes re-encodes to a payload that decodes to
// the same delta.
func FuzzBinaryCodec(f *testing.F) {
	c := mustCodec(live.NewBinaryCodec(
		live.BinaryField{Name: "a", Type: live.BinaryUint8},
		live.BinaryField{Name: "b", Type: live.BinaryInt16},
		live.BinaryField{Name: "c", Type: live.BinaryFloat32},
		live.BinaryField{Name: "d", Type: live.BinaryString},
		live.BinaryField{Name: "e", Type: live.BinaryBool},
		live.BinaryField{Name: "f", Type: live.BinaryUint32},
		live.BinaryField{Name: "g", Type: live.BinaryFloat64},
		live.BinaryField{Name: "h", Type: live.BinaryInt32},
		live.BinaryField{Name: "i", Type: live.BinaryInt8},
	))
	f.Add([]byte{0x01, 0x00, 7})
	f.Add([]byte{0xFF, 0x01})
	f.Add([]byte{0x08, 0x00, 0xFF, 0xFF, 'x'})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, payload []byte) {
		d, err := c.Decode(payload)
		if err != nil {
			return
		}
		enc, err := c.Encode(d)
		if err != nil {
			t.Fatalf("re-encode %v: %v", d, err)
		}
		if len(d) == 0 {
			if enc != nil {
				t.Fatalf("empty delta encoded to % x", enc)
			}
			return
		}
		again, err := c.Decode(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded % x: %v", enc, err)
		}
		if diff := cmp.Diff(d, again, cmp.Comparer(func(x, y float64) bool { return x == y || x != x && y != y })); diff != "" {
			t.Fatalf("round trip (-first +second):\n%s", diff)
		}
	})
}

func ExampleNewBinaryCodec() {
	codec, err := live.NewBinaryCodec(
		live.BinaryField{Name: "x", Type: live.BinaryFloat32},
		live.BinaryField{Name: "y", Type: live.BinaryFloat32},
		live.BinaryField{Name: "hp", Type: live.BinaryUint8},
	)
	if err != nil {
		panic(err)
	}
	// A component returns the codec from BinaryState() and calls
	// SendBinaryDelta() after moving; clients decode the payload with a
	// codec of the same fields.
	payload, _ := codec.Encode(map[string]any{"x": 1.5, "hp": 300})
	fmt.Printf("% x\n", payload)
	delta, _ := codec.Decode(payload)
	fmt.Println(delta["x"], delta["hp"])
	// Output:
	// 05 00 00 c0 3f 2c
	// 1.5 44
}

func BenchmarkBinaryCodecEncode(b *testing.B) {
	delta := map[string]any{"x": 12.5, "y": -3.25, "hue": 200, "alive": true}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := shipCodec.Encode(delta); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSendBinaryDelta is a game-loop tick: Update moves the ship and
// sends its position as a 0x01 frame to one connection.
func BenchmarkSendBinaryDelta(b *testing.B) {
	srv, err := live.New(live.Options{StateSecret: []byte("binary-delta-secret-binary-delta-secret"), PingInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	ships := make(chan *Ship, 1)
	if err := live.Register(srv, live.Component[Ship]{Name: "Ship", New: func() *Ship { s := &Ship{}; ships <- s; return s }}); err != nil {
		b.Fatal(err)
	}
	sock := newMemSocket()
	var frames atomic.Int64
	sock.sink = func(binary bool, data []byte) {
		if binary {
			frames.Add(1)
		}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.ServeSocket(context.Background(), sock, live.Request{})
	}()
	sock.in <- []byte(`{"type":"COMPONENT_MOUNT","payload":{"component":"Ship"}}`)
	ship := <-ships
	b.ReportAllocs()
	for b.Loop() {
		err := ship.Update(func() {
			ship.X++
			ship.Y -= 0.5
			if err := ship.SendBinaryDelta(); err != nil {
				b.Fatal(err)
			}
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	_ = srv.Shutdown(context.Background())
	<-done
	if frames.Load() == 0 {
		b.Fatal("no binary frame was written")
	}
}
