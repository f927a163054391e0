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

// putFencedScript stores a value unless the stored one has a higher token.
//
//	KEYS[1] kv key; ARGV[1] token (canonical decimal), ARGV[2] value,
//	ARGV[3] ttl ms or "0"
//	returns 1 stored, 0 fenced
//
// Tokens are compared as decimal strings (length, then bytes), exact over
// the whole uint64 range where Lua numbers are not. A plain string value
// (from PutIfAbsent) has token 0.
var putFencedScript = redis.NewScript(`
local kind = redis.call('TYPE', KEYS[1])['ok']
if kind == 'hash' then
  local cur = redis.call('HGET', KEYS[1], 't')
  if cur and (#cur > #ARGV[1] or (#cur == #ARGV[1] and cur > ARGV[1])) then
    return 0
  end
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 't', ARGV[1], 'v', ARGV[2])
if ARGV[3] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[3])
end
return 1
`)

func (c *Cluster) kvKey(key string) string { return c.prefix + "kv:" + key }

// PutFenced stores value under key unless the stored value carries a
// higher fencing token (live.ErrFenced). ttl 0 means no expiry (and clears
// an earlier one).
func (c *Cluster) PutFenced(ctx context.Context, key string, token uint64, value []byte, ttl time.Duration) error {
	if ttl < 0 {
		return fmt.Errorf("liveredis: put %q: negative ttl %v", key, ttl)
	}
	var ms int64
	if ttl > 0 {
		ms = ttlMillis(ttl)
	}
	n, err := putFencedScript.Run(ctx, c.rdb, []string{c.kvKey(key)}, strconv.FormatUint(token, 10), value, ms).Int64()
	if err != nil {
		return c.callErr(ctx, "put", err)
	}
	if n != 1 {
		return live.ErrFenced
	}
	return nil
}

// GetFenced returns the value stored under key and its token, or
// live.ErrNotFound. A value stored by PutIfAbsent has token 0.
func (c *Cluster) GetFenced(ctx context.Context, key string) ([]byte, uint64, error) {
	k := c.kvKey(key)
	res, err := c.rdb.HMGet(ctx, k, "t", "v").Result()
	if err != nil && strings.HasPrefix(err.Error(), "WRONGTYPE") {
		return c.getPlain(ctx, key, k)
	}
	if err != nil {
		return nil, 0, c.callErr(ctx, "get", err)
	}
	value, token, found, err := fencedResult(res)
	if err != nil {
		return nil, 0, c.callErr(ctx, "get", fmt.Errorf("key %q: %w", key, err))
	}
	if !found {
		return nil, 0, live.ErrNotFound
	}
	return value, token, nil
}

// getPlain reads a value stored by PutIfAbsent.
func (c *Cluster) getPlain(ctx context.Context, key, k string) ([]byte, uint64, error) {
	v, err := c.rdb.Get(ctx, k).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, 0, live.ErrNotFound
	case err != nil:
		return nil, 0, c.callErr(ctx, "get", err)
	}
	return v, 0, nil
}

// errBadValue reports a stored hash that is not {t: token, v: value}.
var errBadValue = errors.New("liveredis: malformed stored value")

// fencedResult decodes HMGET t v: found is false when the key is missing.
func fencedResult(res []any) (value []byte, token uint64, found bool, err error) {
	if len(res) != 2 {
		return nil, 0, false, errBadValue
	}
	if res[0] == nil && res[1] == nil {
		return nil, 0, false, nil
	}
	tok, ok1 := res[0].(string)
	v, ok2 := res[1].(string)
	if !ok1 || !ok2 {
		return nil, 0, false, errBadValue
	}
	token, err = parseToken(tok)
	if err != nil {
		return nil, 0, false, errBadValue
	}
	return []byte(v), token, true, nil
}

// PutIfAbsent stores value under key only if the key does not exist (or
// expired), and reports whether it stored. ttl 0 means no expiry.
func (c *Cluster) PutIfAbsent(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if ttl < 0 {
		return false, fmt.Errorf("liveredis: put if absent %q: negative ttl %v", key, ttl)
	}
	if ttl > 0 {
		ttl = time.Duration(ttlMillis(ttl)) * time.Millisecond
	}
	ok, err := c.rdb.SetNX(ctx, c.kvKey(key), value, ttl).Result()
	if err != nil {
		return false, c.callErr(ctx, "put if absent", err)
	}
	return ok, nil
}

// Delete removes key; a missing key is not an error.
func (c *Cluster) Delete(ctx context.Context, key string) error {
	if err := c.rdb.Del(ctx, c.kvKey(key)).Err(); err != nil {
		return c.callErr(ctx, "delete", err)
	}
	return nil
}
