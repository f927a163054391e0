package upload

import (
	"bytes"
	"strings"
)

// signatures maps the content-checked MIME types to the byte prefixes a
// file of that type starts with (spec §7.3). Types not listed here are not
// content-checked.
var signatures = map[string][][]byte{
	"image/jpeg":       {{0xFF, 0xD8, 0xFF}},
	"image/png":        {{0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A}},
	"image/gif":        {[]byte("GIF87a"), []byte("GIF89a")},
	"image/webp":       {[]byte("RIFF")}, // the reference checks only these 4 bytes
	"application/pdf":  {[]byte("%PDF")},
	"application/zip":  {{'P', 'K', 0x03, 0x04}, {'P', 'K', 0x05, 0x06}},
	"application/gzip": {{0x1F, 0x8B}},
}

// magicLen is the number of leading bytes every signature check needs.
const magicLen = 8

// magicVerdict is the result of a signature check on a file's first bytes.
type magicVerdict uint8

const (
	magicOK       magicVerdict = iota // matches, or the type is not checked
	magicMismatch                     // enough bytes and no signature matches
	magicShort                        // too few bytes to tell yet
)

// checkMagic checks head, the first bytes of a file (all of them when the
// file is shorter than magicLen and complete is set), against fileType's
// signatures.
func checkMagic(fileType string, head []byte, complete bool) magicVerdict {
	sigs := signatures[strings.ToLower(fileType)]
	if sigs == nil {
		return magicOK
	}
	short := false
	for _, sig := range sigs {
		if len(head) < len(sig) {
			short = true
			continue
		}
		if bytes.HasPrefix(head, sig) {
			return magicOK
		}
	}
	if short && !complete {
		return magicShort
	}
	return magicMismatch
}

func contentMismatch(fileType string) *Error {
	return errorf(msgContentMismatchFormat, fileType)
}
