// Package diff computes, coalesces and applies state deltas with the exact
// null and nesting rules of the @fluxstack/live protocol (spec §2.7, §2.8,
// §12.2).
//
// The rules:
//
//   - at depth 0 (the top-level keys of a delta) null is a real value, and a
//     key missing from the new state is not a removal (patches are partial);
//   - at depth > 0 null means "delete this key", and a key present in the old
//     nested object but absent from the new one is sent as null;
//   - two plain objects are diffed and merged recursively; anything else
//     (arrays, scalars, null, a change of type) replaces the old value whole;
//   - objects nested deeper than the maximum depth ([DefaultMaxDepth]) are sent
//     whole, and since appliers deep-merge them, keys dropped there are not
//     deleted on the client.
//
// Entry points:
//
//   - [Object] diffs two encoded JSON objects into an encoded delta, working
//     on the raw bytes (no decoding into maps); the server calls it for every
//     state field whose old and new encodings are both objects;
//   - [Merge] coalesces two consecutive encoded deltas of one component into
//     one, or reports that they must be sent separately;
//   - [Apply] merges a decoded delta into a decoded state, as clients do.
//
// All functions are safe for concurrent use; they never retain or modify
// their input slices. The package never imports the root live package.
package diff
