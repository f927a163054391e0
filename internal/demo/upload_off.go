//go:build !liveuploads

package demo

import live "github.com/live-go/live"

// withUploads returns o unchanged: this build of live has no uploads yet
// (see the build constraint of upload.go), so the Gallery lists nothing
// and the page's upload panel reports the server's refusal. The change
// that wires uploads into the server deletes this file.
func (d *Demo) withUploads(o live.Options) live.Options {
	return o
}
