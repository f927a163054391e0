// Package msgpack is the room codec of the live protocol: the MessagePack
// subset that @fluxstack/live puts in the payload of binary room frames
// (0x02 room event, 0x03 room state; spec §1.10.2).
//
// # Encoding
//
// The encoders produce exactly the bytes of the reference's JavaScript
// encoder, so that every JavaScript decoder (the server's, the official
// client's and the CLI's) reads them:
//
//   - numbers are JavaScript numbers: an integral value (3.0 counts, as with
//     Number.isInteger) takes the smallest of positive fixint, uint8, uint16,
//     uint32, negative fixint, int8, int16 and int32; any other value,
//     including integers outside [-2^31, 2^32), NaN and ±Inf, is a float64
//     (0xcb). float32, uint64, int64 and ext are never produced;
//   - strings are fixstr/str8/str16/str32 by UTF-8 byte length, byte slices
//     bin8/bin16/bin32, arrays fixarray/array16/array32, objects
//     fixmap/map16/map32 with string keys;
//   - object keys come in JavaScript property order, which is what the
//     reference's Object.keys yields for an object built by JSON.parse:
//     keys that are array indices ("0", "1", … up to 4294967294, in canonical
//     form) first in ascending numeric order, then every other key in the
//     order of its first appearance; a duplicated key keeps its first
//     position and takes its last value.
//
// [AppendJSON] encodes raw JSON text directly (the engine keeps room data as
// raw JSON) and is the hot path: it allocates nothing when dst has room.
// [Append] encodes the Go values that encoding/json produces when decoding
// into an any, and [Marshal] encodes any Go value by way of encoding/json.
// The Append* writers ([AppendNumber], [AppendString], [AppendMapHeader], …)
// build payloads piece by piece.
//
// Nothing nested deeper than [MaxEncodeDepth] is encoded: the official
// client refuses such frames.
//
// # Decoding
//
// [Decode] and [DecodeToJSON] follow the reference's core decoder and its
// limits: only the type bytes above are understood (0xc1, float32, uint64,
// int64 and ext types are errors), truncated input is an error, a value with
// more than [MaxDepth] enclosing containers fails with "Nesting too deep",
// a container whose count (doubled for maps) exceeds the bytes left fails at
// once without allocating, and the map keys "__proto__", "constructor" and
// "prototype" are dropped. Strings are decoded as JavaScript's TextDecoder
// does. The decoders serve tests, tools and Go clients: the server never
// decodes msgpack.
//
// Every function is safe for concurrent use. Errors wrap the package's
// sentinel errors, to be tested with errors.Is.
package msgpack
