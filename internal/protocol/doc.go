// Package protocol holds the wire-level mechanics of the @fluxstack/live
// protocol that every inbound and outbound text frame goes through:
//
//   - [Depth], the cheap nesting pre-scan run before any parsing;
//   - [Parse], a single-pass, allocation-light parser and validator of one
//     client frame, producing an [Envelope] or an [*Error] whose exact reply
//     frame is written by [AppendErrorReply];
//   - [ForbiddenKey] and [StripKeys], prototype-pollution and key filters that
//     work on raw JSON without decoding it;
//   - [AppendString] and [Obj], JSON encoding helpers used to build server
//     messages without encoding/json on the hot path;
//   - [NewID], the framework's 8-character identifier generator;
//   - the message type names and the reference's limits as constants.
//
// The package is stateless apart from the random-byte buffer behind [NewID];
// every function is safe for concurrent use (an [Obj] belongs to one
// goroutine). Raw JSON slices returned by [Parse] alias the input frame: the
// caller must not reuse the frame's buffer while an [Envelope] built from it
// is in use.
//
// It never imports the root live package.
package protocol
