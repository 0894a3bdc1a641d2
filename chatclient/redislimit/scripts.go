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

// quotaRoom drops the expired reservations of a quota and tells whether its window has
// room at the Market's time mnow: {1, limit, 0}, or {0, limit, until} where until is
// the reset of a spent window, or 0 when reservations in flight hold what is left.
// win: the window (hash: until and remaining on the Market's clock in ms, limit); res:
// the reservations in flight (zset of ids scored by expiry on the Redis clock).
const quotaRoom = `
local function quotaRoom(win, res, mnow, now)
  redis.call('ZREMRANGEBYSCORE', res, '-inf', now)
  local h = redis.call('HMGET', win, 'until', 'remaining', 'limit')
  local untl = tonumber(h[1]) or 0
  local rem = tonumber(h[2]) or -1
  local lim = tonumber(h[3]) or -1
  if untl ~= 0 and mnow >= untl then
    -- The window is over: nothing is known of the next one until an answer says.
    rem = -1
    untl = 0
  end
  if rem >= 0 and rem - redis.call('ZCARD', res) <= 0 then
    if rem > 0 then
      return {0, lim, 0}
    end
    return {0, lim, untl}
  end
  return {1, lim, 0}
end
`

// reserveScript claims one request of a quota. KEYS[1]: the window; KEYS[2]: the
// reservations in flight (see quotaRoom). ARGV: the Market's now in ms, reservation
// id, reservation TTL in ms. Returns quotaRoom's {ok, limit, until}; with ok the
// reservation is added.
var reserveScript = redis.NewScript(redisNow + expireAtLast + quotaRoom + `
local q = quotaRoom(KEYS[1], KEYS[2], tonumber(ARGV[1]), now)
if q[1] == 1 then
  redis.call('ZADD', KEYS[2], string.format('%d', now + tonumber(ARGV[3])), ARGV[2])
  expireAtLast(KEYS[2], now)
end
return q
`)

// admitScript takes a lease and reserves one request of a quota, both or neither.
// KEYS[1], KEYS[2]: the quota's window and reservations (as reserveScript); KEYS[3]:
// the business's leases (as acquireScript). ARGV: the Market's now in ms, the id of
// the lease and the reservation, reservation TTL in ms, max in flight, lease TTL in
// ms. Returns {2, -1, 0} when all slots are held, else quotaRoom's {ok, limit, until};
// with ok the lease and the reservation are added.
var admitScript = redis.NewScript(redisNow + expireAtLast + quotaRoom + `
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[4]) then
  return {2, -1, 0}
end
local q = quotaRoom(KEYS[1], KEYS[2], tonumber(ARGV[1]), now)
if q[1] == 1 then
  redis.call('ZADD', KEYS[2], string.format('%d', now + tonumber(ARGV[3])), ARGV[2])
  expireAtLast(KEYS[2], now)
  redis.call('ZADD', KEYS[3], string.format('%d', now + tonumber(ARGV[5])), ARGV[2])
  expireAtLast(KEYS[3], now)
end
return q
`)

// giveBack gives back a reservation and records what the answer reported, as
// chatclient.NewLocalQuotas does: a newer window replaces the old; for the same window
// the lowest remaining count wins (answers arrive out of order). win, res: as
// quotaRoom. a[1..7]: reservation id ("" for none), the Market's now in ms, "1" when
// there is a report, its limit, remaining and until in ms, and the slack in ms the
// window's key outlives its until.
const giveBack = `
local function giveBack(win, res, a)
  if a[1] ~= '' then
    redis.call('ZREM', res, a[1])
  end
  if a[3] ~= '1' then
    return 0
  end
  local now = tonumber(a[2])
  local lim = tonumber(a[4])
  local rem = tonumber(a[5])
  local untl = tonumber(a[6])
  if rem < 0 or untl <= now then
    return 0
  end
  local h = redis.call('HMGET', win, 'until', 'remaining')
  local cu = tonumber(h[1]) or 0
  local cr = tonumber(h[2]) or -1
  if untl > cu then
    redis.call('HSET', win, 'until', a[6], 'remaining', a[5])
    cu = untl
  elseif untl == cu and (cr < 0 or rem < cr) then
    redis.call('HSET', win, 'remaining', a[5])
  end
  if lim >= 0 then
    redis.call('HSET', win, 'limit', a[4])
  end
  if redis.call('EXISTS', win) == 1 then
    redis.call('PEXPIRE', win, math.max(cu - now, 0) + tonumber(a[7]))
  end
  return 1
end
`

// releaseScript gives back a reservation and records a report (see giveBack). KEYS as
// reserveScript; ARGV as giveBack's a.
var releaseScript = redis.NewScript(giveBack + `
return giveBack(KEYS[1], KEYS[2], ARGV)
`)

// doneScript ends what admitScript took: it gives back the reservation, recording a
// report, as releaseScript does, and the lease unless its id is "". KEYS as
// admitScript; ARGV[1..7] as giveBack's a, ARGV[8] the lease id.
var doneScript = redis.NewScript(giveBack + `
if ARGV[8] ~= '' then
  redis.call('ZREM', KEYS[3], ARGV[8])
end
return giveBack(KEYS[1], KEYS[2], ARGV)
`)
