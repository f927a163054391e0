// Package upload implements chunked file uploads (spec §7): validation of
// FILE_UPLOAD_START, chunk reception into a temporary file, completion with
// content checks, a pluggable Storage for finished files, resumption of
// interrupted uploads and the cleanup of abandoned ones.
//
// Entry points:
//
//   - ParseStart, ParseChunk, ParseChunkHeader and ParseComplete read the
//     upload fields of a client frame (JSON message or binary chunk header).
//   - Manager, created with New, holds the uploads in progress of one
//     server. Start, Chunk and Complete implement the three protocol steps;
//     Missing reports the chunks still to send for a resumable upload;
//     ReleaseConn detaches a closed connection's uploads; Close removes
//     everything.
//   - Storage receives finished files; LocalDir is the default.
//
// Memory stays flat whatever the file size: a chunk is written at offset
// index × chunkSize straight into the upload's temporary file with WriteAt
// (so chunks may arrive out of order or twice), received chunks are tracked
// in a paged bitmap, and the SHA-256 of the file is computed while chunks
// arrive in order and completed from the file at the end.
//
// Lifecycle: an upload is bound to the connection that started it; any
// other connection is told "Upload <id> not found". When that connection
// closes, ReleaseConn detaches its uploads instead of deleting them: for
// Config.ChunkTimeout a new connection of the same user (any connection for
// an anonymous upload; the server also requires it to own the upload's
// component) may START the same uploadId with the same parameters to take
// it over and learn which chunks are missing. Uploads idle for longer than
// ChunkTimeout, attached or not, are removed with their temporary file by a
// timer that runs only while uploads exist.
//
// Concurrency: every Manager method is safe for concurrent use. Chunks of
// one upload are written under the upload's own lock, so uploads do not
// wait for each other's disk writes.
//
// The package never imports the root live package.
package upload
