package e2e

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"strings"
	"testing"
)

func encodePNG(t *testing.T, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestCheckNotBlank checks the blank-page detector on made-up images; it
// needs no browser.
func TestCheckNotBlank(t *testing.T) {
	white := color.RGBA{255, 255, 255, 255}
	uniform := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range uniform.Pix {
		uniform.Pix[i] = 255
	}
	// A page: a background with many small "text" marks of varied colours.
	page := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for y := range 300 {
		for x := range 400 {
			page.SetRGBA(x, y, white)
			if y%10 < 3 && x%7 < 4 {
				page.SetRGBA(x, y, color.RGBA{uint8(x), uint8(y), 120, 255})
			}
		}
	}
	// Many colours, but a single dot of each on an otherwise blank page.
	specks := image.NewRGBA(image.Rect(0, 0, 400, 300))
	for i := range specks.Pix {
		specks.Pix[i] = 255
	}
	for i := range 100 {
		specks.SetRGBA(i, 0, color.RGBA{uint8(i), 0, 0, 255})
	}
	tests := []struct {
		name    string
		data    []byte
		wantErr string // "" for no error
	}{
		{name: "rendered page", data: encodePNG(t, page)},
		{name: "uniform white", data: encodePNG(t, uniform), wantErr: "distinct colours"},
		{name: "specks on blank", data: encodePNG(t, specks), wantErr: "one colour covers"},
		{name: "tiny", data: encodePNG(t, image.NewRGBA(image.Rect(0, 0, 10, 10))), wantErr: "too small"},
		{name: "not a png", data: []byte("<html>"), wantErr: "decode screenshot"},
		{name: "noise png", data: noisePNG(t, 120, 120, 1)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkNotBlank(tt.data)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

// TestNoisePNG checks the upload fixture: the size asked for, and content
// that does not compress (so an upload takes several chunks).
func TestNoisePNG(t *testing.T) {
	data := noisePNG(t, 240, 160, 7)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 160 {
		t.Fatalf("size %v, want 240x160", b)
	}
	if len(data) < 64<<10 {
		t.Fatalf("%d bytes: the noise compresses too well for a multi-chunk upload", len(data))
	}
	if !bytes.Equal(data, noisePNG(t, 240, 160, 7)) {
		t.Fatal("the same seed gave another image")
	}
}
