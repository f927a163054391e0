package liveredis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	live "github.com/live-go/live"
	"github.com/redis/go-redis/v9"
)

// acquireScript takes a lease that is free or held by the caller.
//
//	KEYS[1] lease key, KEYS[2] token counter; ARGV[1] holder, ARGV[2] ttl ms
//	returns {1|0, token, holder}: 1 when the caller holds the lease now
//
// A missing counter starts at the server clock in microseconds, so tokens
// keep increasing across a restart that lost the data set.
var acquireScript = redis.NewScript(`
if redis.replicate_commands then redis.replicate_commands() end
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ':', 1, true)
  if sep then
    local token, holder = string.sub(cur, 1, sep - 1), string.sub(cur, sep + 1)
    if holder == ARGV[1] then
      redis.call('PEXPIRE', KEYS[1], ARGV[2])
      return {1, token, holder}
    end
    return {0, token, holder}
  end
end
if redis.call('EXISTS', KEYS[2]) == 0 then
  local now = redis.call('TIME')
  redis.call('SET', KEYS[2], string.format('%d', tonumber(now[1]) * 1000000 + tonumber(now[2])))
end
local token = string.format('%d', redis.call('INCR', KEYS[2]))
redis.call('SET', KEYS[1], token .. ':' .. ARGV[1], 'PX', ARGV[2])
return {1, token, ARGV[1]}
`)

// renewScript extends a lease still held with the caller's token.
//
//	KEYS[1] lease key; ARGV[1] "<token>:<holder>", ARGV[2] ttl ms
var renewScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
`)

// releaseScript deletes a lease still held with the caller's token.
//
//	KEYS[1] lease key; ARGV[1] "<token>:<holder>"
var releaseScript = redis.NewScript(`
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
`)

// leaseKeys returns the lease and token counter keys of key, in one hash
// slot.
func (c *Cluster) leaseKeys(key string) []string {
	return []string{c.prefix + "lease:{" + key + "}", c.prefix + "token:{" + key + "}"}
}

// leaseValue is the stored form of a lease.
func leaseValue(token uint64, holder string) string {
	return strconv.FormatUint(token, 10) + ":" + holder
}

// errBadLease reports a stored lease that is not "<token>:<holder>".
var errBadLease = errors.New("liveredis: malformed lease value")

// parseLease decodes a stored lease "<token>:<holder>".
func parseLease(key, v string) (live.Lease, error) {
	tok, holder, ok := strings.Cut(v, ":")
	if !ok || holder == "" {
		return live.Lease{}, errBadLease
	}
	token, err := parseToken(tok)
	if err != nil {
		return live.Lease{}, errBadLease
	}
	return live.Lease{Key: key, Holder: holder, Token: token}, nil
}

// parseToken parses a canonical decimal uint64 (no sign, no leading zero).
func parseToken(s string) (uint64, error) {
	if s == "" || len(s) > 1 && s[0] == '0' {
		return 0, fmt.Errorf("liveredis: bad token %q", s)
	}
	return strconv.ParseUint(s, 10, 64)
}

// ttlMillis converts a positive ttl to whole milliseconds, at least 1.
func ttlMillis(ttl time.Duration) int64 {
	return max(ttl.Milliseconds(), 1)
}

// AcquireLease takes the lease on key for ttl when it is free, expired, or
// held by this node (then its expiry is extended and the token kept). When
// another node holds it, it returns live.ErrLeaseHeld and that holder.
func (c *Cluster) AcquireLease(ctx context.Context, key string, ttl time.Duration) (live.Lease, error) {
	if ttl <= 0 {
		return live.Lease{}, fmt.Errorf("liveredis: acquire %q: ttl %v is not positive", key, ttl)
	}
	res, err := acquireScript.Run(ctx, c.rdb, c.leaseKeys(key), c.id, ttlMillis(ttl)).Slice()
	if err != nil {
		return live.Lease{}, c.callErr(ctx, "acquire", err)
	}
	got, l, err := acquireResult(key, res)
	if err != nil {
		return live.Lease{}, c.callErr(ctx, "acquire", err)
	}
	if !got {
		return l, live.ErrLeaseHeld
	}
	return l, nil
}

// acquireResult decodes acquireScript's reply {1|0, token, holder}.
func acquireResult(key string, res []any) (bool, live.Lease, error) {
	if len(res) != 3 {
		return false, live.Lease{}, fmt.Errorf("unexpected script reply %v", res)
	}
	flag, ok1 := res[0].(int64)
	tok, ok2 := res[1].(string)
	holder, ok3 := res[2].(string)
	if !ok1 || !ok2 || !ok3 {
		return false, live.Lease{}, fmt.Errorf("unexpected script reply %v", res)
	}
	token, err := parseToken(tok)
	if err != nil {
		return false, live.Lease{}, err
	}
	return flag == 1, live.Lease{Key: key, Holder: holder, Token: token}, nil
}

// RenewLease extends a lease this node holds with l's token; it returns
// live.ErrLeaseLost when the lease expired or another acquisition replaced
// it.
func (c *Cluster) RenewLease(ctx context.Context, l live.Lease, ttl time.Duration) error {
	if ttl <= 0 {
		return fmt.Errorf("liveredis: renew %q: ttl %v is not positive", l.Key, ttl)
	}
	n, err := renewScript.Run(ctx, c.rdb, c.leaseKeys(l.Key)[:1], leaseValue(l.Token, c.id), ttlMillis(ttl)).Int64()
	if err != nil {
		return c.callErr(ctx, "renew", err)
	}
	if n != 1 {
		return live.ErrLeaseLost
	}
	return nil
}

// ReleaseLease gives the lease up if this node still holds it with l's
// token; otherwise it does nothing.
func (c *Cluster) ReleaseLease(ctx context.Context, l live.Lease) error {
	if err := releaseScript.Run(ctx, c.rdb, c.leaseKeys(l.Key)[:1], leaseValue(l.Token, c.id)).Err(); err != nil {
		return c.callErr(ctx, "release", err)
	}
	return nil
}

// LeaseHolder returns the current holder of key, or live.ErrNoLease.
func (c *Cluster) LeaseHolder(ctx context.Context, key string) (live.Lease, error) {
	v, err := c.rdb.Get(ctx, c.leaseKeys(key)[0]).Result()
	if errors.Is(err, redis.Nil) {
		return live.Lease{}, live.ErrNoLease
	}
	if err != nil {
		return live.Lease{}, c.callErr(ctx, "lease holder", err)
	}
	l, err := parseLease(key, v)
	if err != nil {
		return live.Lease{}, c.callErr(ctx, "lease holder", err)
	}
	return l, nil
}
