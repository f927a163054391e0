package livenats

import (
	"context"
	"errors"
	"fmt"
	"time"

	live "github.com/live-go/live"
	"github.com/nats-io/nats.go/jetstream"
)

// A lease is one key of the lease bucket holding a lease record: whether a
// node holds it, the holder, the fencing token of the current (or last)
// acquisition, and the TTL, which counts from the JetStream timestamp of
// the record's latest write. Every change is a compare-and-set on the key's
// revision (KV Create for a key never used, Update otherwise), retried
// when another node won the race, so one write decides each step:
//
//   - AcquireLease: a free or expired lease becomes ours with token+1; our
//     own live lease is rewritten with the same token (extending it);
//     another node's live lease is ErrLeaseHeld.
//   - RenewLease rewrites our live lease with the same token.
//   - ReleaseLease marks our lease free, keeping its token.
//
// The record is never deleted, and the lease bucket has no max age, so the
// token of a key only grows: the counter and the lease are one record, and
// one write both takes the lease and issues its token (a separate counter
// key would need two writes and could leave a gap). The bucket holds one
// small record per lease key ever used (singleton names).

// leaseKey returns the KV key of a lease key, or ErrNameTooLong.
func leaseKey(key string) (string, error) {
	enc := encodeName(key)
	if len(enc) > maxEncodedName {
		return "", fmt.Errorf("%w: key of %d bytes", ErrNameTooLong, len(key))
	}
	return enc, nil
}

// isConflict reports whether err is a lost compare-and-set.
func isConflict(err error) bool {
	return errors.Is(err, jetstream.ErrKeyExists) || errors.Is(err, jetstream.ErrKeyRevisionMismatch)
}

// leaseState is the current lease record of a key and its revision
// (0: never written).
type leaseState struct {
	rec     leaseRecord
	rev     uint64
	created time.Time
}

// live reports whether a node holds the lease at now.
func (s leaseState) live(now time.Time) bool {
	return s.rev != 0 && s.rec.held && !expired(s.created, s.rec.ttl, now)
}

// getLease reads the lease record of the encoded key k.
func (c *Cluster) getLease(ctx context.Context, k string) (leaseState, error) {
	e, err := c.leases.Get(ctx, k)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return leaseState{}, nil
	}
	if err != nil {
		return leaseState{}, err
	}
	rec, err := decodeLease(e.Value())
	if err != nil {
		return leaseState{}, fmt.Errorf("lease %q: %w", k, err)
	}
	return leaseState{rec: rec, rev: e.Revision(), created: e.Created()}, nil
}

// putLease writes rec over the revision rev of k (Create when rev is 0).
func (c *Cluster) putLease(ctx context.Context, k string, rev uint64, rec leaseRecord) error {
	data := appendLease(make([]byte, 0, 24+len(rec.holder)), rec)
	var err error
	if rev == 0 {
		_, err = c.leases.Create(ctx, k, data)
	} else {
		_, err = c.leases.Update(ctx, k, data, rev)
	}
	return err
}

// casLoop runs step until it reports done, retrying lost races up to
// Options.MaxCASAttempts times.
func (c *Cluster) casLoop(ctx context.Context, op string, step func() (done bool, err error)) error {
	for range c.opts.MaxCASAttempts {
		done, err := step()
		switch {
		case err == nil && done:
			return nil
		case err == nil || isConflict(err):
			c.conflicts.Add(1)
			if err := ctx.Err(); err != nil {
				return c.callErr(ctx, op, err)
			}
		default:
			return err
		}
	}
	return c.callErr(ctx, op, ErrContention)
}

// AcquireLease takes the lease on key for ttl when it is free, expired, or
// held by this node (then keeping its token). Otherwise it returns
// live.ErrLeaseHeld and the holder.
func (c *Cluster) AcquireLease(ctx context.Context, key string, ttl time.Duration) (live.Lease, error) {
	if err := c.checkOpen(ctx); err != nil {
		return live.Lease{}, err
	}
	if ttl <= 0 {
		return live.Lease{}, fmt.Errorf("livenats: lease ttl %v, must be positive", ttl)
	}
	k, err := leaseKey(key)
	if err != nil {
		return live.Lease{}, err
	}
	var got live.Lease
	var held bool
	err = c.casLoop(ctx, "acquire", func() (bool, error) {
		st, err := c.getLease(ctx, k)
		if err != nil {
			return false, c.callErr(ctx, "acquire", err)
		}
		rec := leaseRecord{held: true, token: st.rec.token, ttl: ttl, holder: c.id}
		switch {
		case st.live(c.now()) && st.rec.holder != c.id:
			got, held = live.Lease{Key: key, Holder: st.rec.holder, Token: st.rec.token}, true
			return true, nil
		case !st.live(c.now()):
			rec.token++ // a new acquisition
			if rec.token == 0 {
				return false, c.callErr(ctx, "acquire", fmt.Errorf("fencing token of %q exhausted", key))
			}
		}
		if err := c.putLease(ctx, k, st.rev, rec); err != nil {
			if isConflict(err) {
				return false, err
			}
			return false, c.callErr(ctx, "acquire", err)
		}
		got = live.Lease{Key: key, Holder: c.id, Token: rec.token}
		return true, nil
	})
	switch {
	case err != nil:
		return live.Lease{}, err
	case held:
		return got, live.ErrLeaseHeld
	}
	return got, nil
}

// RenewLease extends l for ttl if this node still holds it with l's token;
// otherwise live.ErrLeaseLost (also when it expired, even if nobody took
// it since).
func (c *Cluster) RenewLease(ctx context.Context, l live.Lease, ttl time.Duration) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	if ttl <= 0 {
		return fmt.Errorf("livenats: lease ttl %v, must be positive", ttl)
	}
	k, err := leaseKey(l.Key)
	if err != nil {
		return err
	}
	lost := false
	err = c.casLoop(ctx, "renew", func() (bool, error) {
		st, err := c.getLease(ctx, k)
		if err != nil {
			return false, c.callErr(ctx, "renew", err)
		}
		if !st.live(c.now()) || st.rec.holder != c.id || st.rec.token != l.Token {
			lost = true
			return true, nil
		}
		rec := leaseRecord{held: true, token: l.Token, ttl: ttl, holder: c.id}
		if err := c.putLease(ctx, k, st.rev, rec); err != nil {
			if isConflict(err) {
				return false, err
			}
			return false, c.callErr(ctx, "renew", err)
		}
		return true, nil
	})
	switch {
	case err != nil:
		return err
	case lost:
		return live.ErrLeaseLost
	}
	return nil
}

// ReleaseLease frees l if this node still holds it with l's token (the
// next acquisition, by any node, gets a higher token). Otherwise it does
// nothing.
func (c *Cluster) ReleaseLease(ctx context.Context, l live.Lease) error {
	if err := c.checkOpen(ctx); err != nil {
		return err
	}
	k, err := leaseKey(l.Key)
	if err != nil {
		return err
	}
	return c.casLoop(ctx, "release", func() (bool, error) {
		st, err := c.getLease(ctx, k)
		if err != nil {
			return false, c.callErr(ctx, "release", err)
		}
		if !st.rec.held || st.rec.holder != c.id || st.rec.token != l.Token {
			return true, nil // not ours (any more)
		}
		rec := leaseRecord{token: st.rec.token}
		if err := c.putLease(ctx, k, st.rev, rec); err != nil {
			if isConflict(err) {
				return false, err
			}
			return false, c.callErr(ctx, "release", err)
		}
		return true, nil
	})
}

// LeaseHolder returns the live lease on key, or live.ErrNoLease.
func (c *Cluster) LeaseHolder(ctx context.Context, key string) (live.Lease, error) {
	if err := c.checkOpen(ctx); err != nil {
		return live.Lease{}, err
	}
	k, err := leaseKey(key)
	if err != nil {
		return live.Lease{}, err
	}
	st, err := c.getLease(ctx, k)
	if err != nil {
		return live.Lease{}, c.callErr(ctx, "holder", err)
	}
	if !st.live(c.now()) {
		return live.Lease{}, live.ErrNoLease
	}
	return live.Lease{Key: key, Holder: st.rec.holder, Token: st.rec.token}, nil
}
