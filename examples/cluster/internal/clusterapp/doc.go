// Package clusterapp is the application of the cluster example: small live
// components (Counter, the SharedCounter and TodoList singletons, a Chat in
// the untyped room LobbyRoom), a Node that serves them with a page and a
// status route, and the choice of a cluster backend (Redis or NATS).
//
// # Entry points
//
// Backend.Open connects a node to Redis or NATS and returns its
// live.Cluster. NewNode builds the node's live.Server on it and registers
// the components; Node.Handler serves the page at "/", the live routes
// under "/api/live/" and Node.Status at "/cluster". Node.Shutdown hands
// the node's singletons to other nodes and closes the backend.
//
// # Concurrency
//
// The components run under the live engine's per-instance lock and hold
// no state outside their structs: everything a singleton's owner must pass
// on to the next owner is its public state, which the engine mirrors to
// the cluster store after every change. Node methods are safe for
// concurrent use.
package clusterapp
