package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// ---- Parse ----------------------------------------------------------------

// refOutcome is what the reference (validation.ts + LiveServer.handleMessage)
// does with a frame, computed independently of Parse from encoding/json's
// generic decoding.
type refOutcome struct {
	kind     ErrorKind // 0: accepted
	msg      string
	cid, rid any // echoed ids (strings) or nil

	typ     string
	fields  map[string]any // expected decoded values of the Envelope's fields
	payload any
	hasPay  bool
}

func decodeAny(t *testing.T, raw []byte) any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decode %q: %v", raw, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		t.Fatalf("decode %q: trailing data", raw)
	}
	return v
}

func jsTruthy(v any) bool {
	switch v := v.(type) {
	case nil:
		return false
	case bool:
		return v
	case string:
		return v != ""
	case json.Number:
		f, _ := strconv.ParseFloat(string(v), 64)
		return f != 0
	}
	return true
}

func refParse(t *testing.T, data []byte) refOutcome {
	if !json.Valid(data) {
		return refOutcome{kind: KindFrame, msg: MsgInvalidJSON}
	}
	m, ok := decodeAny(t, data).(map[string]any)
	if !ok {
		return refOutcome{kind: KindFrame, msg: MsgExpectedObject}
	}
	if m["type"] == "PING" {
		return refOutcome{typ: TypePing}
	}
	isStr := func(v any) bool { _, ok := v.(string); return ok }
	isObj := func(v any) bool { _, ok := v.(map[string]any); return ok }
	has := func(m map[string]any, k string) bool { _, ok := m[k]; return ok }
	optStr := func(m map[string]any, k string) bool { return !has(m, k) || isStr(m[k]) }
	optObj := func(m map[string]any, k string) bool { return !has(m, k) || isObj(m[k]) }

	out := refOutcome{}
	if isStr(m["componentId"]) {
		out.cid = m["componentId"]
	}
	if isStr(m["requestId"]) {
		out.rid = m["requestId"]
	}
	invalid := func(reason string) refOutcome {
		out.kind, out.msg = KindInvalid, "Invalid message: "+reason
		return out
	}
	if !isStr(m["type"]) {
		return invalid("missing type")
	}
	switch {
	case !optStr(m, "componentId"):
		return invalid("componentId must be a string")
	case !optStr(m, "requestId"):
		return invalid("requestId must be a string")
	case !optStr(m, "responseId"):
		return invalid("responseId must be a string")
	}
	if v, ok := m["expectResponse"]; ok {
		if _, isBool := v.(bool); !isBool {
			return invalid("expectResponse must be a boolean")
		}
	}
	if v, ok := m["timestamp"]; ok {
		if _, isNum := v.(json.Number); !isNum {
			return invalid("timestamp must be a number")
		}
	}
	switch {
	case !optStr(m, "userId"):
		return invalid("userId must be a string")
	case !optStr(m, "room"):
		return invalid("room must be a string")
	}
	typ := m["type"].(string)
	switch typ {
	case "COMPONENT_MOUNT", "COMPONENT_UNMOUNT", "COMPONENT_REHYDRATE", "CALL_ACTION", "PROPERTY_UPDATE",
		"AUTH", "ROOM_JOIN", "ROOM_LEAVE", "ROOM_EMIT", "ROOM_STATE_SET", "ROOM_STATE_GET",
		"FILE_UPLOAD_START", "FILE_UPLOAD_CHUNK", "FILE_UPLOAD_COMPLETE":
	default:
		out.kind, out.msg = KindUnknownType, MsgUnknownType
		return out
	}
	out.typ = typ
	out.fields = map[string]any{}
	payload, hasPayload := m["payload"]
	out.payload, out.hasPay = payload, hasPayload && payload != nil
	p, _ := payload.(map[string]any)
	hasCID := has(m, "componentId")
	set := func(name string, src map[string]any, key string) {
		if v, ok := src[key]; ok {
			out.fields[name] = v
		}
	}
	switch typ {
	case "COMPONENT_MOUNT":
		switch {
		case !isObj(payload):
			return invalid("COMPONENT_MOUNT requires payload")
		case !isStr(p["component"]):
			return invalid("payload.component must be a string")
		case !optObj(p, "props"):
			return invalid("payload.props must be an object")
		case !optStr(p, "room"):
			return invalid("payload.room must be a string")
		case !optStr(p, "userId"):
			return invalid("payload.userId must be a string")
		case !optStr(p, "debugLabel"):
			return invalid("payload.debugLabel must be a string")
		}
		set("Component", p, "component")
		set("Props", p, "props")
		set("Room", p, "room")
		set("DebugLabel", p, "debugLabel")
	case "COMPONENT_UNMOUNT":
		if !hasCID {
			return invalid("componentId is required")
		}
	case "COMPONENT_REHYDRATE":
		if !hasCID {
			return invalid("componentId is required")
		}
		if !isObj(payload) {
			return invalid("COMPONENT_REHYDRATE requires payload")
		}
		if !isStr(p["component"]) {
			return invalid("payload.component must be a string")
		}
		ss, ok := p["signedState"].(map[string]any)
		isNum := func(v any) bool { _, ok := v.(json.Number); return ok }
		optBool := func(k string) bool {
			v, ok := ss[k]
			_, isBool := v.(bool)
			return !ok || isBool
		}
		if !ok || !isStr(ss["data"]) || !isStr(ss["signature"]) || !isNum(ss["timestamp"]) || !isNum(ss["version"]) ||
			!isStr(ss["componentId"]) || !optStr(ss, "nonce") || !optBool("compressed") || !optBool("encrypted") {
			return invalid("payload.signedState is malformed")
		}
		switch {
		case !optStr(p, "room"):
			return invalid("payload.room must be a string")
		case !optStr(p, "userId"):
			return invalid("payload.userId must be a string")
		}
		if v, present := p["seq"]; present { // live-go extension
			n, isNum := v.(json.Number)
			u, err := strconv.ParseUint(string(n), 10, 64)
			if !isNum || err != nil || u >= 1<<53 {
				return invalid("payload.seq must be a non-negative integer")
			}
		}
		set("Component", p, "component")
		set("SignedState", p, "signedState")
		set("Room", p, "room")
	case "CALL_ACTION":
		if !hasCID {
			return invalid("componentId is required")
		}
		if !isStr(m["action"]) {
			return invalid("action must be a string")
		}
		if !optStr(m, "idempotencyKey") { // live-go extension
			return invalid("idempotencyKey must be a string")
		}
		set("Action", m, "action")
		set("IdempotencyKey", m, "idempotencyKey")
	case "PROPERTY_UPDATE":
		switch {
		case !hasCID:
			return invalid("componentId is required")
		case !isStr(m["property"]):
			return invalid("property must be a string")
		case !isObj(payload):
			return invalid("PROPERTY_UPDATE requires payload.value")
		}
		set("Property", m, "property")
		set("Value", p, "value")
	case "AUTH":
		if !optObj(m, "payload") {
			return invalid("AUTH payload must be an object")
		}
	case "ROOM_JOIN", "ROOM_LEAVE", "ROOM_EMIT", "ROOM_STATE_SET", "ROOM_STATE_GET":
		if !hasCID {
			return invalid("componentId is required")
		}
		if !optObj(m, "payload") {
			return invalid("room payload must be an object")
		}
		roomID := m["roomId"]
		if !jsTruthy(roomID) {
			roomID = p["roomId"]
		}
		if s, ok := roomID.(string); !ok || s == "" {
			return invalid("roomId must be a non-empty string")
		}
		if !optStr(p, "roomId") {
			return invalid("payload.roomId must be a string")
		}
		out.fields["RoomID"] = roomID
		switch typ {
		case "ROOM_EMIT":
			if !isStr(p["event"]) {
				return invalid("payload.event must be a string")
			}
			set("Event", p, "event")
			set("Data", p, "data")
		case "ROOM_STATE_SET":
			if !isObj(p["state"]) {
				return invalid("payload.state must be an object")
			}
			set("State", p, "state")
		case "ROOM_JOIN":
			set("State", p, "initialState")
		}
	}
	return out
}

func checkParse(t *testing.T, data []byte) {
	t.Helper()
	env, err := Parse(data)
	want := refParse(t, data)
	if err != nil {
		if err.Kind != want.kind || err.Message != want.msg {
			t.Fatalf("Parse(%q) = %v/%q, reference %v/%q", data, err.Kind, err.Message, want.kind, want.msg)
		}
		var cid, rid any
		if err.HasComponentID {
			cid = err.ComponentID
		}
		if err.HasRequestID {
			rid = err.RequestID
		}
		if cid != want.cid || rid != want.rid {
			t.Fatalf("Parse(%q) echoes %v/%v, reference %v/%v", data, cid, rid, want.cid, want.rid)
		}
		if !json.Valid(AppendErrorReply(nil, err)) {
			t.Fatalf("invalid reply for %q", data)
		}
		return
	}
	if want.kind != 0 {
		t.Fatalf("Parse(%q) accepted, reference rejects with %q", data, want.msg)
	}
	if env.Type != want.typ || !bytes.Equal(env.Frame, data) {
		t.Fatalf("Parse(%q).Type = %q, reference %q", data, env.Type, want.typ)
	}
	if env.Type == TypePing {
		return
	}
	if (env.Payload != nil) != want.hasPay {
		t.Fatalf("Parse(%q).Payload = %q, reference present=%v", data, env.Payload, want.hasPay)
	}
	if env.Payload != nil && !reflect.DeepEqual(decodeAny(t, env.Payload), want.payload) {
		t.Fatalf("Parse(%q).Payload = %s, reference %v", data, env.Payload, want.payload)
	}
	got := map[string]any{}
	str := func(name, v string) {
		if v != "" {
			got[name] = v
		}
	}
	rawField := func(name string, raw []byte) {
		if raw != nil {
			got[name] = decodeAny(t, raw)
		}
	}
	str("Action", env.Action)
	str("IdempotencyKey", env.IdempotencyKey)
	str("Property", env.Property)
	str("Component", env.Component)
	str("Room", env.Room)
	str("DebugLabel", env.DebugLabel)
	str("RoomID", env.RoomID)
	str("Event", env.Event)
	rawField("Value", env.Value)
	rawField("Props", env.Props)
	rawField("SignedState", env.SignedState)
	rawField("Data", env.Data)
	rawField("State", env.State)
	for k, v := range want.fields {
		if v == "" { // empty strings are indistinguishable from absent ones
			delete(want.fields, k)
		}
	}
	if !reflect.DeepEqual(got, want.fields) {
		t.Fatalf("Parse(%q) fields\n got %#v\nwant %#v", data, got, want.fields)
	}
	m := decodeAny(t, data).(map[string]any)
	cid, hasCID := m["componentId"].(string)
	rid, hasRID := m["requestId"].(string)
	if env.ComponentID != cid || env.HasComponentID != hasCID || env.RequestID != rid || env.HasRequestID != hasRID ||
		env.ExpectResponse != (m["expectResponse"] == true) {
		t.Fatalf("Parse(%q) envelope ids %q/%v %q/%v expect %v", data, env.ComponentID, env.HasComponentID, env.RequestID, env.HasRequestID, env.ExpectResponse)
	}
}

func FuzzParse(f *testing.F) {
	seeds := []string{
		string(benchCallAction),
		`{"type":"PING"}`,
		`{"type":"COMPONENT_MOUNT","componentId":"mount-X","payload":{"component":"X","props":{"a":[1,2]},"room":"r","debugLabel":"d"},"requestId":"r1","expectResponse":true,"timestamp":1}`,
		`{"type":"COMPONENT_REHYDRATE","componentId":"c","payload":{"component":"X","signedState":` + validSigned + `}}`,
		`{"type":"PROPERTY_UPDATE","componentId":"c","property":"p","payload":{"value":null}}`,
		`{"type":"AUTH","payload":{"token":"t"}}`,
		`{"type":"ROOM_JOIN","componentId":"c","roomId":0,"payload":{"roomId":"r","initialState":{}}}`,
		`{"type":"ROOM_EMIT","componentId":"c","roomId":"r","payload":{"event":"e","data":[{}]}}`,
		`{"type":"ROOM_STATE_SET","componentId":"c","payload":{"roomId":"r","state":{"k":"v"}}}`,
		`{"type":"FILE_UPLOAD_CHUNK","uploadId":"u","chunkIndex":0,"data":"AAAA"}`,
		`{"\u0074ype":"CALL_ACTION","componentId":"\ud83d\ude00","action":"a\u0000b"}`,
		"{\"type\":\"NOPE\",\"componentId\":\"\xff\"}",
		`[1,{"type":"PING"}]`,
		`{"type":"CALL_ACTION",}`,
		`  {"type" : "ROOM_LEAVE" , "componentId" : "" , "roomId" : -0.0 }  `,
	}
	for _, s := range seeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkParse(t, data)
	})
}

// ---- Depth ----------------------------------------------------------------

// refDepth is a transcription of the reference's pre-parse scan.
func refDepth(data []byte, limit int) (int, bool) {
	depth, maxDepth := 0, 0
	inString, escape := false, false
	for _, c := range data {
		if escape {
			escape = false
			continue
		}
		if inString {
			if c == '\\' {
				escape = true
			} else if c == '"' {
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			inString = true
		case '{', '[':
			depth++
			if depth > maxDepth {
				maxDepth = depth
			}
			if limit >= 0 && maxDepth > limit {
				return maxDepth, true
			}
		case '}', ']':
			depth--
		}
	}
	return maxDepth, false
}

func FuzzDepth(f *testing.F) {
	f.Add([]byte(`{"a":[{"b":"[[[\"{{"}]}`), int8(2))
	f.Add([]byte(`"\\\\\"[[["`), int8(0))
	f.Add([]byte(`]]]][[[{`), int8(1))
	f.Add([]byte(`{"a":"\`), int8(-1))
	f.Fuzz(func(t *testing.T, data []byte, limit int8) {
		d, ex := Depth(data, int(limit))
		wd, wex := refDepth(data, int(limit))
		if d != wd || ex != wex {
			t.Fatalf("Depth(%q, %d) = %d, %v; reference %d, %v", data, limit, d, ex, wd, wex)
		}
	})
}

// ---- AppendString ---------------------------------------------------------

func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c\n\r\t\b\f\x00\x1f\x7f", "<&>", "\u2028\u2029", "é日😀", "\xff\xc3(\xed\xa0\x80"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := AppendString([]byte("prefix"), s)
		if !bytes.HasPrefix(got, []byte("prefix")) {
			t.Fatalf("prefix lost")
		}
		got = got[len("prefix"):]
		var want bytes.Buffer
		enc := json.NewEncoder(&want)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(s); err != nil {
			t.Fatal(err)
		}
		if string(got) != strings.TrimSuffix(want.String(), "\n") {
			t.Fatalf("AppendString(%q) = %s, encoding/json %s", s, got, want.String())
		}
		var back string
		if err := json.Unmarshal(got, &back); err != nil {
			t.Fatalf("AppendString(%q) = %s: %v", s, got, err)
		}
		if utf8.ValidString(s) && back != s {
			t.Fatalf("round trip of %q gave %q", s, back)
		}
		if fromBytes := AppendBytesString(nil, []byte(s)); string(fromBytes) != string(got) {
			t.Fatalf("AppendBytesString(%q) = %s, AppendString %s", s, fromBytes, got)
		}
	})
}

// ---- ForbiddenKey / StripKeys ----------------------------------------------

func isForbiddenName(k string) bool {
	return k == "__proto__" || k == "constructor" || k == "prototype"
}

// refForbidden walks the token stream of a valid JSON value and reports
// whether a forbidden key occurs in an object at level <= maxDepth.
func refForbidden(t *testing.T, raw []byte, maxDepth int) bool {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	type open struct{ obj, wantKey bool }
	var stack []open
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			return false
		}
		if err != nil {
			t.Fatalf("token stream of %q: %v", raw, err)
		}
		top := len(stack) - 1
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{', '[':
				if top >= 0 && stack[top].obj {
					stack[top].wantKey = true
				}
				stack = append(stack, open{obj: tok == '{', wantKey: true})
			default:
				stack = stack[:top]
			}
		case string:
			if top >= 0 && stack[top].obj && stack[top].wantKey {
				if (maxDepth < 0 || top <= maxDepth) && isForbiddenName(tok) {
					return true
				}
				stack[top].wantKey = false
				continue
			}
			if top >= 0 && stack[top].obj {
				stack[top].wantKey = true
			}
		default:
			if top >= 0 && stack[top].obj {
				stack[top].wantKey = true
			}
		}
	}
}

func FuzzForbiddenKey(f *testing.F) {
	f.Add([]byte(`{"a":{"__proto__":{"x":1}}}`), int8(1))
	f.Add([]byte(`[{"b":[{"constructor":1}]}]`), int8(2))
	f.Add([]byte(`{"pro\u0074otype":true}`), int8(0))
	f.Add([]byte(`{"x":"__proto__","y":["constructor"]}`), int8(-1))
	f.Add([]byte(`{"a":{"b":{"c":{"prototype":0}}}}`), int8(2))
	f.Fuzz(func(t *testing.T, raw []byte, maxDepth int8) {
		key, found := ForbiddenKey(raw, int(maxDepth))
		if !json.Valid(raw) {
			return // unspecified, but must not panic
		}
		if want := refForbidden(t, raw, int(maxDepth)); found != want {
			t.Fatalf("ForbiddenKey(%q, %d) = %q, %v; reference %v", raw, maxDepth, key, found, want)
		}
		if found != isForbiddenName(key) {
			t.Fatalf("ForbiddenKey(%q) returned key %q, found %v", raw, key, found)
		}
	})
}

func dropForTest(k string) bool {
	return strings.HasPrefix(k, "$") || isForbiddenName(k) || k == "a"
}

func FuzzStripKeys(f *testing.F) {
	f.Add([]byte(`{"a":1,"b":{"a":2},"$c":3}`))
	f.Add([]byte(` { "b" : [1] , "__proto__" : {} , "d" : "x" } `))
	f.Add([]byte(`{"b":1,"b":2}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`[]`))
	f.Add([]byte(`{"\u0024x":1,"y":2}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		calls := 0
		out, err := StripKeys(raw, func(k string) bool { calls++; return dropForTest(k) })
		if !json.Valid(raw) {
			if !errors.Is(err, ErrInvalidJSON) {
				t.Fatalf("StripKeys(%q) error %v, want ErrInvalidJSON", raw, err)
			}
			return
		}
		in, isObj := decodeAny(t, raw).(map[string]any)
		if !isObj {
			if !errors.Is(err, ErrNotObject) {
				t.Fatalf("StripKeys(%q) error %v, want ErrNotObject", raw, err)
			}
			return
		}
		if err != nil {
			t.Fatalf("StripKeys(%q): %v", raw, err)
		}
		dropped := false
		for k := range in {
			if dropForTest(k) {
				delete(in, k)
				dropped = true
			}
		}
		if !json.Valid(out) {
			t.Fatalf("StripKeys(%q) = %q, not JSON", raw, out)
		}
		if got := decodeAny(t, out); !reflect.DeepEqual(got, in) {
			t.Fatalf("StripKeys(%q) = %s, want %v", raw, out, in)
		}
		aliased := len(out) > 0 && len(raw) > 0 && &out[0] == &raw[0] && len(out) == len(raw)
		if aliased == dropped {
			t.Fatalf("StripKeys(%q): dropped=%v but aliased=%v", raw, dropped, aliased)
		}
		if len(in) > 0 && calls == 0 {
			t.Fatalf("StripKeys(%q) never called drop", raw)
		}
	})
}
