package upload

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseStart(t *testing.T) {
	long := strings.Repeat("x", 129)
	tests := []struct {
		name  string
		frame string
		want  Start
		err   string
	}{
		{"ok with defaults", `{"type":"FILE_UPLOAD_START","uploadId":"u1","filename":"a.png","fileType":"image/png","fileSize":10}`,
			Start{UploadID: "u1", Filename: "a.png", FileType: "image/png", FileSize: 10, ChunkSize: DefaultChunkSize}, ""},
		{"ok full", `{"uploadId":"u1","componentId":"c","filename":"a","fileType":"t","fileSize":1e3,"chunkSize":1048576}`,
			Start{UploadID: "u1", ComponentID: "c", Filename: "a", FileType: "t", FileSize: 1000, ChunkSize: MaxChunkSize}, ""},
		{"null componentId is none", `{"uploadId":"u","componentId":null,"filename":"a","fileType":"t","fileSize":1}`,
			Start{UploadID: "u", Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, ""},
		{"128-char id", `{"uploadId":"` + long[:128] + `","filename":"a","fileType":"t","fileSize":1}`,
			Start{UploadID: long[:128], Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, ""},
		{"missing uploadId", `{"filename":"a","fileType":"t","fileSize":1}`, Start{}, MsgInvalidUploadID},
		{"numeric uploadId", `{"uploadId":5,"filename":"a","fileType":"t","fileSize":1}`, Start{}, MsgInvalidUploadID},
		{"empty uploadId", `{"uploadId":"","filename":"a","fileType":"t","fileSize":1}`, Start{}, MsgInvalidUploadID},
		{"129-char uploadId", `{"uploadId":"` + long + `","filename":"a","fileType":"t","fileSize":1}`, Start{}, MsgInvalidUploadID},
		{"numeric componentId", `{"uploadId":"u","componentId":3,"filename":"a","fileType":"t","fileSize":1}`, Start{UploadID: "u"}, MsgInvalidComponentID},
		{"missing filename", `{"uploadId":"u","fileType":"t","fileSize":1}`, Start{UploadID: "u"}, MsgInvalidNameOrType},
		{"empty fileType", `{"uploadId":"u","filename":"a","fileType":"","fileSize":1}`, Start{UploadID: "u"}, MsgInvalidNameOrType},
		{"fileSize 0", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":0}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: 0"},
		{"fileSize negative", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":-5}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: -5"},
		{"fileSize fraction", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1.5}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: 1.5"},
		{"fileSize string", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":"100"}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: 100"},
		{"fileSize null", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":null}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: null"},
		{"fileSize missing", `{"uploadId":"u","filename":"a","fileType":"t"}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: undefined"},
		{"fileSize unsafe", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":9007199254740992}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: 9007199254740992"},
		{"fileSize overflow", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1e400}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: Infinity"},
		{"fileSize object", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":{}}`, Start{UploadID: "u", Filename: "a", FileType: "t"}, "Invalid fileSize: [object Object]"},
		{"chunkSize 0", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1,"chunkSize":0}`,
			Start{UploadID: "u", Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, "Invalid chunkSize: 0 (allowed 1-1048576)"},
		{"chunkSize too big", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1,"chunkSize":1048577}`,
			Start{UploadID: "u", Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, "Invalid chunkSize: 1048577 (allowed 1-1048576)"},
		{"chunkSize null", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1,"chunkSize":null}`,
			Start{UploadID: "u", Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, "Invalid chunkSize: null (allowed 1-1048576)"},
		{"chunkSize fraction", `{"uploadId":"u","filename":"a","fileType":"t","fileSize":1,"chunkSize":0.5}`,
			Start{UploadID: "u", Filename: "a", FileType: "t", FileSize: 1, ChunkSize: DefaultChunkSize}, "Invalid chunkSize: 0.5 (allowed 1-1048576)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseStart([]byte(tt.frame))
			if tt.err == "" && err != nil {
				t.Fatalf("unexpected error %v", err)
			}
			if tt.err != "" {
				wantErr(t, err, tt.err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Start (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ParseStart([]byte(`[1]`)); err == nil || ClientMessage(err) != internalMessage {
		t.Errorf("non-object frame: %v", err)
	}
}

func TestParseChunk(t *testing.T) {
	tests := []struct {
		name  string
		frame string
		want  Chunk
	}{
		{"plain", `{"uploadId":"u","chunkIndex":2,"data":"AAEC","componentId":"c","requestId":"r"}`,
			Chunk{UploadID: "u", UploadIDText: "u", ComponentID: "c", HasComponentID: true, Index: 2, IndexOK: true, IndexText: "2", Base64: []byte("AAEC"), HasBase64: true}},
		{"escaped data", `{"uploadId":"u","chunkIndex":0,"data":"AA\u0045C"}`,
			Chunk{UploadID: "u", UploadIDText: "u", Index: 0, IndexOK: true, IndexText: "0", Base64: []byte("AAEC"), HasBase64: true}},
		{"float index integral", `{"uploadId":"u","chunkIndex":3.0,"data":""}`,
			Chunk{UploadID: "u", UploadIDText: "u", Index: 3, IndexOK: true, IndexText: "3", Base64: []byte{}, HasBase64: true}},
		{"bad index and data", `{"uploadId":7,"chunkIndex":"1","data":5}`,
			Chunk{UploadIDText: "7", IndexText: "1"}},
		{"negative index", `{"uploadId":"u","chunkIndex":-1}`,
			Chunk{UploadID: "u", UploadIDText: "u", IndexText: "-1"}},
		{"missing everything", `{}`, Chunk{UploadIDText: "undefined", IndexText: "undefined"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseChunk([]byte(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Chunk (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseChunkHeader(t *testing.T) {
	typ, c, err := ParseChunkHeader([]byte(`{"type":"FILE_UPLOAD_CHUNK","componentId":"c","uploadId":"u","chunkIndex":4,"totalChunks":9,"requestId":"chunk-u-4"}`))
	if err != nil {
		t.Fatal(err)
	}
	want := Chunk{UploadID: "u", UploadIDText: "u", ComponentID: "c", HasComponentID: true, RequestID: "chunk-u-4", HasRequestID: true,
		Index: 4, IndexOK: true, IndexText: "4", Binary: true}
	if typ != "FILE_UPLOAD_CHUNK" {
		t.Errorf("type %q", typ)
	}
	if diff := cmp.Diff(want, c); diff != "" {
		t.Errorf("Chunk (-want +got):\n%s", diff)
	}
	if typ, _, err := ParseChunkHeader([]byte(`{"type":1}`)); err != nil || typ != "" {
		t.Errorf("numeric type: %q, %v", typ, err)
	}
	if _, _, err := ParseChunkHeader([]byte(`{"type":`)); err == nil {
		t.Error("truncated header accepted")
	}
}

func TestParseComplete(t *testing.T) {
	tests := []struct {
		frame string
		want  Complete
	}{
		{`{"type":"FILE_UPLOAD_COMPLETE","uploadId":"abc"}`, Complete{UploadID: "abc", UploadIDText: "abc"}},
		{`{"uploadId":12}`, Complete{UploadIDText: "12"}},
		{`{}`, Complete{UploadIDText: "undefined"}},
	}
	for _, tt := range tests {
		t.Run(tt.frame, func(t *testing.T) {
			got, err := ParseComplete([]byte(tt.frame))
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestJSString(t *testing.T) {
	tests := []struct{ raw, want string }{
		{``, "undefined"},
		{`null`, "null"},
		{`true`, "true"},
		{`"a\"b"`, `a"b`},
		{`{"a":1}`, "[object Object]"},
		{`[1,"x",null,[2,3]]`, "1,x,,2,3"},
		{`0`, "0"},
		{`-0`, "0"},
		{`100`, "100"},
		{`1.5`, "1.5"},
		{`1e21`, "1e+21"},
		{`123456789012345678901`, "123456789012345680000"},
		{`1e-7`, "1e-7"},
		{`0.000001`, "0.000001"},
		{`1.25e-10`, "1.25e-10"},
		{`-2.5e30`, "-2.5e+30"},
		{`1e999`, "Infinity"},
		{`-1e999`, "-Infinity"},
		{`0.1`, "0.1"},
	}
	for _, tt := range tests {
		t.Run(tt.raw, func(t *testing.T) {
			if got := jsString([]byte(tt.raw)); got != tt.want {
				t.Errorf("jsString(%s) = %q, want %q", tt.raw, got, tt.want)
			}
		})
	}
}

func TestUTF16Len(t *testing.T) {
	tests := []struct {
		s    string
		want int
	}{{"", 0}, {"abc", 3}, {"é", 1}, {"😀", 2}, {"\xff", 1}}
	for _, tt := range tests {
		if got := utf16Len(tt.s); got != tt.want {
			t.Errorf("utf16Len(%q) = %d, want %d", tt.s, got, tt.want)
		}
	}
}
