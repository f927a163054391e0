// Package jsclient embeds live-go's browser client and serves it over HTTP.
//
// The client is one dependency-free ES module (live.js) plus its protocol
// constants (protocol_gen.js, generated from internal/protocol by
// `go generate ./jsclient`) and TypeScript declarations (live.d.ts). It speaks
// the @fluxstack/live 0.11 wire protocol over WebSocket, SSE or HTTP
// long-polling, mirrors component state with the protocol's delta rules,
// reconnects with backoff, rehydrates from localStorage and, against a live-go
// server, resumes components with sequence numbers and retries actions
// exactly once. docs/client.md documents the JavaScript API.
//
// [Handler] serves the files; mount it under the server's HTTP prefix so
// that live.js (served as client.js) finds protocol_gen.js next to it:
//
//	mux.Handle("/api/live/client.js", jsclient.Handler())
//	mux.Handle("/api/live/protocol_gen.js", jsclient.Handler())
//	mux.Handle("/api/live/client.d.ts", jsclient.Handler())
//
// or, equivalently, http.StripPrefix("/api/live", jsclient.Handler()) for
// those three paths. In a page:
//
//	import { connect } from '/api/live/client.js';
//
// The handler is stateless and safe for concurrent use.
package jsclient
