package loadgen

import (
	"encoding/json"
	"slices"
	"testing"
)

func TestSplitFrame(t *testing.T) {
	tests := []struct {
		frame string
		want  []string // nil: malformed
	}{
		{`{"type":"A"}`, []string{`{"type":"A"}`}},
		{` {"type":"A"} `, []string{`{"type":"A"}`}},
		{`[{"type":"A"},{"type":"B","data":[1,{"x":"]"}]}]`, []string{`{"type":"A"}`, `{"type":"B","data":[1,{"x":"]"}]}`}},
		{`[ {"a":"\"}"} , {"b":null} ]`, []string{`{"a":"\"}"}`, `{"b":null}`}},
		{`[]`, []string{}},
		{``, nil},
		{`[`, nil},
		{`[{"a":1}`, nil},
		{`[{"a":1},]`, nil},
		{`{"a":"unterminated}`, nil},
		{`{"a":"\\\\"}`, []string{`{"a":"\\\\"}`}},
		{`[{"a":"x\\\"y"},{}]`, []string{`{"a":"x\\\"y"}`, `{}`}},
		{`{"a":1}{"b":2}`, nil},
		{`[{"a":1}] x`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.frame, func(t *testing.T) {
			got := []string{}
			err := splitFrame([]byte(tc.frame), func(msg []byte, _ bool) { got = append(got, string(msg)) })
			if tc.want == nil {
				if err == nil {
					t.Fatalf("splitFrame accepted a malformed frame, gave %q", got)
				}
				return
			}
			if err != nil || !slices.Equal(got, tc.want) {
				t.Fatalf("splitFrame = %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestScanMessage(t *testing.T) {
	tests := []struct {
		msg  string
		want bool
		bad  bool
	}{
		{`{"componentId":"c1","type":"ROOM_SYSTEM","roomId":"r","event":"$sub:join","data":{"subscriberId":"x","count":2},"timestamp":1}`, false, false},
		{`{"componentId":"c1","type":"ROOM_EVENT","roomId":"r","event":"e","data":{"requestId":"inner"},"timestamp":1}`, false, false},
		{`{"type":"CONNECTION_ESTABLISHED","connectionId":"x"}`, false, false},
		{`{"type":"STATE_DELTA","componentId":"c","payload":{"delta":{"count":1}}}`, true, false},
		{`{"type":"STATE_UPDATE","componentId":"c","payload":{"state":{"count":1}}}`, true, false},
		{`{"type":"ERROR","error":"Rate limit exceeded"}`, true, false},
		{`{"type":"MESSAGE_RESPONSE","requestId":"mount","success":true}`, true, false},
		{`{"type":"ROOM_STATE","componentId":"c","payload":{},"requestId":"g"}`, true, false},
		{`{}`, false, false},
		{`[1]`, false, true},
		{`{"type" "x"}`, false, true},
		{`{"type":"x",}`, false, true},
	}
	for _, tc := range tests {
		end, got, err := scanMessage([]byte(tc.msg), 0)
		if err == nil && end != len(tc.msg) {
			t.Errorf("scanMessage(%s) ended at %d of %d", tc.msg, end, len(tc.msg))
		}
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("scanMessage(%s) = %v, %v; want %v, error %v", tc.msg, got, err, tc.want, tc.bad)
		}
	}
}

// FuzzSplitFrame: every valid frame of objects (one, or an array of them) is split into exactly the
// elements encoding/json sees, and nothing panics on any input.
func FuzzSplitFrame(f *testing.F) {
	for _, s := range []string{`{"type":"A"}`, `[{"a":"\\\""},{"b":[1,2,{"c":"}"}]}]`, `[]`, `[{"a":1},]`, `{"a":"\u00e9"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var got [][]byte
		err := splitFrame(frame, func(msg []byte, _ bool) { got = append(got, msg) })
		if !json.Valid(frame) {
			return
		}
		var elems []map[string]json.RawMessage
		if json.Unmarshal(frame, &elems) != nil || slices.ContainsFunc(elems, func(m map[string]json.RawMessage) bool { return m == nil }) {
			var one map[string]json.RawMessage
			if json.Unmarshal(frame, &one) != nil || one == nil {
				return // a valid frame that is neither an object nor an array of objects
			}
			if err != nil || len(got) != 1 {
				t.Fatalf("object frame %q: %d messages, %v", frame, len(got), err)
			}
			return
		}
		if err != nil || len(got) != len(elems) {
			t.Fatalf("array frame %q: %d messages, %v; want %d", frame, len(got), err, len(elems))
		}
	})
}
