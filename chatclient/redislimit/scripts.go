package redislimit

import "github.com/redis/go-redis/v9"

// The scripts take their expiries from the Redis server's clock (TIME), so processes
// whose clocks disagree still agree on when a lease or a reservation has expired. The
// quota windows are on the Market's clock, which the caller passes in.
//
// Every script touches only the keys it is given, and the keys of one script share a
// hash tag, so the scripts run on Redis Cluster too.

// redisNow is the Lua prelude that reads the server's time in milliseconds.
const redisNow = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`

// expireAtLast sets the key's expiry to its latest member's score (a zset of members
// scored by expiry), so the key outlives every member and no longer.
const expireAtLast = `
local function expireAtLast(key, now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', key, math.max(tonumber(last[2]) - now, 1))
  end
end
`

// acquireScript takes a lease. KEYS[1]: the business's leases (zset of lease ids
// scored by expiry, ms on the Redis clock). ARGV: lease id, max in flight, TTL in ms.
// Returns 1 when the lease was taken, 0 when all slots are held.
var acquireScript = redis.NewScript(redisNow + expireAtLast + `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], string.format('%d', now + tonumber(ARGV[3])), ARGV[1])
expireAtLast(KEYS[1], now)
return 1
`)

// renewScript pushes a held lease's expiry to TTL from now. KEYS[1]: the business's
// leases. ARGV: lease id, TTL in ms. Returns 1, or 0 when the lease is gone (it expired
// and was dropped, or was released).
var renewScript = redis.NewScript(redisNow + expireAtLast + `
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], 'XX', string.format('%d', now + tonumber(ARGV[2])), ARGV[1])
expireAtLast(KEYS[1], now)
return 1
`)

// reserveScript claims one request of a quota. KEYS[1]: the window (hash: until and
// remaining on the Market's clock in ms, limit); KEYS[2]: the reservations in flight
// (zset of ids scored by expiry on the Redis clock). ARGV: the Market's now in ms,
// reservation id, reservation TTL in ms. Returns {ok, limit, until}: ok 1 when
// reserved; else until is the reset of a spent window, or 0 when reservations in
// flight hold what is left.
var reserveScript = redis.NewScript(redisNow + expireAtLast + `
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
local h = redis.call('HMGET', KEYS[1], 'until', 'remaining', 'limit')
local untl = tonumber(h[1]) or 0
local rem = tonumber(h[2]) or -1
local lim = tonumber(h[3]) or -1
if untl ~= 0 and tonumber(ARGV[1]) >= untl then
  -- The window is over: nothing is known of the next one until an answer says.
  rem = -1
  untl = 0
end
if rem >= 0 and rem - redis.call('ZCARD', KEYS[2]) <= 0 then
  if rem > 0 then
    return {0, lim, 0}
  end
  return {0, lim, untl}
end
redis.call('ZADD', KEYS[2], string.format('%d', now + tonumber(ARGV[3])), ARGV[2])
expireAtLast(KEYS[2], now)
return {1, lim, 0}
`)

// releaseScript gives back a reservation and records what the answer reported, as
// chatclient.NewLocalQuotas does: a newer window replaces the old; for the same window
// the lowest remaining count wins (answers arrive out of order). KEYS as reserveScript.
// ARGV: reservation id ("" for none), the Market's now in ms, "1" when there is a
// report, its limit, remaining and until in ms, and the slack in ms the window's key
// outlives its until.
var releaseScript = redis.NewScript(`
if ARGV[1] ~= '' then
  redis.call('ZREM', KEYS[2], ARGV[1])
end
if ARGV[3] ~= '1' then
  return 0
end
local now = tonumber(ARGV[2])
local lim = tonumber(ARGV[4])
local rem = tonumber(ARGV[5])
local untl = tonumber(ARGV[6])
if rem < 0 or untl <= now then
  return 0
end
local h = redis.call('HMGET', KEYS[1], 'until', 'remaining')
local cu = tonumber(h[1]) or 0
local cr = tonumber(h[2]) or -1
if untl > cu then
  redis.call('HSET', KEYS[1], 'until', ARGV[6], 'remaining', ARGV[5])
  cu = untl
elseif untl == cu and (cr < 0 or rem < cr) then
  redis.call('HSET', KEYS[1], 'remaining', ARGV[5])
end
if lim >= 0 then
  redis.call('HSET', KEYS[1], 'limit', ARGV[4])
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('PEXPIRE', KEYS[1], math.max(cu - now, 0) + tonumber(ARGV[7]))
end
return 1
`)
