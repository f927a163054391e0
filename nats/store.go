package livenats

import (
	"context"
	"errors"
	"fmt"
	"time"

	live "github.com/live-go/live"
	"github.com/nats-io/nats.go/jetstream"
)

// The store is one KV bucket of value records (token, TTL, value). A TTL
// counts from the JetStream timestamp of the record's latest write and is
// checked on every read: an expired record reads as missing, and the next
// write replaces it. The bucket's max age (Options.StoreMaxAge) is the
// backstop that removes records nobody reads again, such as used nonces.
// JetStream on servers before 2.11 has no per-message TTL, so a value
// written without a TTL would be removed by that max age too: each node
// remembers the keys it wrote without a TTL and rewrites (compare-and-set,
// same bytes) those older than half the max age. A value without a TTL
// thus lives as long as one node that wrote it runs, and at least the max
// age after its last write.

// storeKey returns the KV key of a store key, or ErrNameTooLong.
func storeKey(key string) (string, error) {
	enc := encodeName(key)
	if len(enc) > maxEncodedName {
		return "", fmt.Errorf("%w: key of %d bytes", ErrNameTooLong, len(key))
	}
	return enc, nil
}

// checkTTL refuses a negative TTL and one the bucket's max age would cut.
func (c *Cluster) checkTTL(ttl time.Duration) error {
	switch {
	case ttl < 0:
		return fmt.Errorf("livenats: negative ttl %v", ttl)
	case c.maxAge > 0 && ttl > c.maxAge:
		return fmt.Errorf("%w: %v > %v", ErrTTLTooLong, ttl, c.maxAge)
	}
	return nil
}

// storeState is a key's current value record and revision; rev is 0 when
// the key is missing (or deleted).
type storeState struct {
	rec     valueRecord
	rev     uint64
	created time.Time
}

// live reports whether the key holds an unexpired value at now.
func (s storeState) live(now time.Time) bool {
	return s.rev != 0 && !expired(s.created, s.rec.ttl, now)
}

// getValue reads the encoded key k.
func (c *Cluster) getValue(ctx context.Context, k string) (storeState, error) {
	e, err := c.store.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return storeState{}, nil
	}
	if err != nil {
		return storeState{}, err
	}
	rec, err := decodeValue(e.Value())
	if err != nil {
		return storeState{}, fmt.Errorf("value %q: %w", k, err)
	}
	return storeState{rec: rec, rev: e.Revision(), created: e.Created()}, nil
}

// putValue writes data over the revision rev of k (Create when rev is 0).
func (c *Cluster) putValue(ctx context.Context, k string, rev uint64, data []byte) error {
	var err error
	if rev == 0 {
		_, err = c.store.Create(ctx, k, data)
	} else {
		_, err = c.store.Update(ctx, k, data, rev)
	}
	return err
}

// track notes whether this node must keep k alive (written without TTL).
func (c *Cluster) track(k string, ttl time.Duration) {
	if c.maxAge <= 0 {
		return
	}
	c.mu.Lock()
	if ttl == 0 {
		c.tracked[k] = struct{}{}
	} else {
		delete(c.tracked, k)
	}
	c.mu.Unlock()
}

func (c *Cluster) untrack(k string) {
	c.mu.Lock()
	delete(c.tracked, k)
	c.mu.Unlock()
}

// PutFenced stores value under key with token unless the stored live value
// carries a higher token (live.ErrFenced). ttl 0 means no expiry; a ttl
// longer than the store bucket's max age is ErrTTLTooLong.
func (c *Cluster) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	if err := c.checkTTL(ttl); err != nil {
		return err
	}
	k, err := storeKey(key)
	if err != nil {
		return err
	}
	data := appendValue(make([]byte, 0, 21+len(value)), token, ttl, value)
	fenced := false
	err = c.casLoop(ctx, "put", func() (bool, error) {
		st, err := c.getValue(ctx, k)
		if err != nil {
			return false, c.callErr(ctx, "put", err)
		}
		rev := st.rev
		if st.live(c.now()) && st.rec.token > token {
			fenced = true
			return true, nil
		}
		if err := c.putValue(ctx, k, rev, data); err != nil {
			if isConflict(err) {
				return false, err
			}
			return false, c.callErr(ctx, "put", err)
		}
		return true, nil
	})
	switch {
	case err != nil:
		return err
	case fenced:
		return live.ErrFenced
	}
	c.track(k, ttl)
	return nil
}

// GetFenced returns the live value stored under key and its token, or
// live.ErrNotFound.
func (c *Cluster) GetFenced(ctx context.Context, key string) ([]byte, uint64, error) {
	if err := c.checkOpen(ctx); err != nil {
		return nil, 0, err
	}
	k, err := storeKey(key)
	if err != nil {
		return nil, 0, err
	}
	st, err := c.getValue(ctx, k)
	if err != nil {
		return nil, 0, c.callErr(ctx, "get", err)
	}
	if !st.live(c.now()) {
		return nil, 0, live.ErrNotFound
	}
	// st.rec.value is part of the buffer this Get received: nobody else
	// holds it.
	return st.rec.value, st.rec.token, nil
}

// PutIfAbsent stores value (with token 0) under key only if the key is
// missing or expired, and reports whether it stored. Concurrent calls
// store exactly once. ttl as for PutFenced.
func (c *Cluster) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := c.checkOpen(ctx); err != nil {
		return false, err
	}
	if err := c.checkTTL(ttl); err != nil {
		return false, err
	}
	k, err := storeKey(key)
	if err != nil {
		return false, err
	}
	data := appendValue(make([]byte, 0, 12+len(value)), 0, ttl, value)
	// The common case (a new nonce) is one Create.
	err = c.putValue(ctx, k, 0, data)
	switch {
	case err == nil:
		c.track(k, ttl)
		return true, nil
	case !isConflict(err):
		return false, c.callErr(ctx, "putifabsent", err)
	}
	stored := false
	err = c.casLoop(ctx, "putifabsent", func() (bool, error) {
		st, err := c.getValue(ctx, k)
		if err != nil {
			return false, c.callErr(ctx, "putifabsent", err)
		}
		if st.live(c.now()) {
			return true, nil
		}
		if err := c.putValue(ctx, k, st.rev, data); err != nil {
			if isConflict(err) {
				return false, err
			}
			return false, c.callErr(ctx, "putifabsent", err)
		}
		stored = true
		return true, nil
	})
	if err != nil {
		return false, err
	}
	if stored {
		c.track(k, ttl)
	}
	return stored, nil
}

// Delete removes key (a KV delete marker). Deleting a missing key is not
// an error.
func (c *Cluster) Delete(ctx context.Context, key string) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	k, err := storeKey(key)
	if err != nil {
		return err
	}
	c.untrack(k)
	if err := c.store.Delete(ctx, k); err != nil {
		return c.callErr(ctx, "delete", err)
	}
	return nil
}

// keepAlive rewrites the tracked values every Options.KeepAliveInterval
// until Close.
func (c *Cluster) keepAlive(every time.Duration) {
	defer c.workers.Done()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
		}
		ctx, cancel := context.WithTimeout(context.Background(), every)
		c.refresh(ctx)
		cancel()
	}
}

// refresh rewrites, with the same bytes, each tracked value older than
// half the store's max age, so the max age does not remove it. Keys that
// are gone or now have a TTL are forgotten. It returns how many values it
// rewrote.
func (c *Cluster) refresh(ctx context.Context) int {
	c.mu.Lock()
	keys := make([]string, 0, len(c.tracked))
	for k := range c.tracked {
		keys = append(keys, k)
	}
	c.mu.Unlock()
	n := 0
	for _, k := range keys {
		if ctx.Err() != nil || c.closed.Load() {
			break
		}
		e, err := c.store.Get(ctx, k)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			c.untrack(k)
			continue
		}
		if err != nil {
			_ = c.callErr(ctx, "keepalive", err)
			continue
		}
		rec, err := decodeValue(e.Value())
		if err != nil || rec.ttl != 0 {
			c.untrack(k)
			continue
		}
		if c.now().Sub(e.Created()) < c.maxAge/2 {
			continue
		}
		_, err = c.store.Update(ctx, k, e.Value(), e.Revision())
		switch {
		case err == nil:
			n++
			c.refreshed.Add(1)
		case isConflict(err):
			// Written since: that write restarted its age.
		default:
			_ = c.callErr(ctx, "keepalive", err)
		}
	}
	return n
}
