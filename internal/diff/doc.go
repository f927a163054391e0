// Package diff computes and applies state deltas with the exact null and
// nesting rules of the @fluxstack/live protocol (spec §2.7):
//
//   - at depth 0 (the top-level keys of a delta) null is a real value;
//   - at depth > 0 null means "delete this key";
//   - two plain objects are merged recursively, anything else (arrays,
//     scalars) replaces the old value whole;
//   - when diffing, a key present in the old nested object and absent in the
//     new one becomes null (a deletion); below the maximum depth the whole new
//     object is sent.
//
// It never imports the root live package.
package diff
