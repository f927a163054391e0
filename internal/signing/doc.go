// Package signing signs and verifies the component state that clients keep
// for rehydration, in the wire format of @fluxstack/live 0.11.0 (spec §3).
//
// [Signer.Sign] turns a component's public state (a compact JSON object)
// into a [SignedState]: the object gets "__componentName" appended as its
// last key, is gzipped and base64-encoded when that pays off (over 1024
// UTF-16 code units and at least 10 % smaller), optionally encrypted with
// AES-256-GCM, optionally given a nonce, and signed with HMAC-SHA256 over
// "componentId:version:timestamp:data[:nonce]". The signature format is the
// reference's byte for byte, so a state signed by a reference server with
// the same secret verifies here and the other way round.
// [Signer.Open] verifies a state and returns the object without
// __componentName. [ParseSignedState] and [SignedState.AppendJSON] decode
// and encode the wire object. Errors are [*Error] sentinels whose Error
// method returns the exact wire string.
//
// # Differences from the reference
//
//   - Encryption key: the reference derives the AES key with scrypt and a
//     random salt chosen per process, so an encrypted state opens neither
//     after a restart nor on another node. Here the key is
//     HKDF-SHA256(secret, no salt, info [EncryptionKeyInfo]): every process
//     sharing the secret opens every encrypted state. Encrypted states are
//     therefore not interchangeable with a reference server (they never
//     were across processes). After a rotation, a state is decrypted with
//     the key derived from the secret whose HMAC matched.
//   - Replay: the reference never consumes nonces on rehydration. With
//     [OpenOptions.ConsumeNonce] a state carrying a nonce opens once
//     ([ErrNonceUsed] afterwards) and, when nonces are enabled, a state
//     without a nonce is refused with [ErrMissingNonce] ("Missing nonce").
//     The nonce TTL equals MaxAge, so a state can be rehydrated once within
//     its lifetime; the nonce is consumed only after every other check
//     passed.
//   - Timestamps more than [MaxClockSkew] in the future are rejected
//     ([ErrFutureTimestamp]); the reference accepts them.
//   - Decompression is capped (Config.MaxStateSize, 16 MiB by default) and
//     [ParseSignedState] requires integer numbers within ±2^53, refuses
//     duplicate keys and bounds its input.
//   - Nonce timestamps must be plain decimal digits.
//
// As in the reference, the compressed and encrypted flags are not covered
// by the HMAC; flipping one only makes Open fail while decoding.
//
// # Concurrency
//
// A [Signer] is safe for concurrent use, including [Signer.Rotate] while
// states are being signed and opened. It starts no goroutines; the default
// [MemoryNonceStore] cleans up lazily when nonces are used.
package signing
