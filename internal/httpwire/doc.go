// Package httpwire holds the wire formats of the HTTP-based transports of
// the live protocol (spec §1.12), shared by the server and the Go client:
//
//   - session tokens ([NewToken], [ValidToken], [AppendTokenJSON],
//     [ParseToken]) carried in the [TokenHeader] header;
//   - Server-Sent Events: [AppendEvent], [AppendBinaryEvent],
//     [AppendCloseEvent] and [Ping] on the server side, the incremental
//     [Decoder] on the client side;
//   - long-poll bodies: [AppendTextFrame], [AppendBinaryFrame] and
//     [AppendPollBody] on the server side, [ParsePollBody] on the client
//     side;
//   - the close status object {"code":N,"reason":"..."} ([Close]).
//
// Everything that reads bytes from the network ([Decoder], [ParsePollBody],
// [ParseToken], [ParseClose]) is bounded by its input or by an explicit
// limit and never panics. The package is stateless; every function is safe
// for concurrent use (a [Decoder] belongs to one goroutine).
package httpwire
