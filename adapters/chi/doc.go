// Package livechi documents how to serve a live.Server with chi and with
// plain net/http. It has no API: live.Server is an http.Handler, and chi
// routes and middleware are net/http ones, so the server mounts as it is
// (r.Handle("/api/live/*", srv)) and every transport works unchanged.
//
// The examples show the identity bridge that the framework adapters
// (livegin, liveecho, livefiber) package for their frameworks: the
// application's middleware authenticates the request and stores the
// caller's *live.Identity in the request's context under a key of its own,
// and Options.Identify reads it back from the context it receives (the
// opening request's context, kept for SSE and long-polling sessions). The
// Server applies its origin rules to the requests that went through chi's
// router and middleware; a middleware that refuses a request (401) keeps
// the connection from opening.
//
// The module exists so that its tests can run the adapters' end-to-end
// suite through chi without making the root module depend on chi.
package livechi
