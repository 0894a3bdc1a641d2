-- The Limiter's one script; ARGV[1] names the operation (the branches at the end). KEYS,
-- all under one business's hash tag so that it runs on Redis Cluster:
--   KEYS[1] leases    zset: slot id -> expiry (ms)
--   KEYS[2] queue     zset: id of a caller waiting for a slot -> arrival (µs)
--   KEYS[3] seen      zset: the same ids -> when they leave the queue unless they ask
--                     again (ms): a caller whose process died stops asking
--   KEYS[4] window    hash of one quota: until and remaining (Market clock, ms), limit
--   KEYS[5] reserved  zset: place id -> expiry (ms)
-- Expiries and arrivals are on the Redis server's clock, so that processes whose clocks
-- disagree agree on them; quota windows are on the Market's clock, passed in.

local REFUSED, TAKEN, WAIT = 0, 1, 2 -- script.go names them alike

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)

-- add scores id at ttl ms from now in a zset that lives as long as its latest member.
local function add(key, id, ttl)
  redis.call('ZADD', key, string.format('%d', now + ttl), id)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  redis.call('PEXPIRE', key, math.max(tonumber(last[2]) - now, 1))
end

-- turn says whether id may take a slot: TAKEN, or WAIT and how many callers must be
-- served before it. Callers are served in order of arrival, whatever their process: a
-- newcomer takes a slot only when every waiter can have one too, a waiter only when it
-- is among the first (free slots) of the queue. A waiter that does not ask again within
-- wait ms leaves the queue.
local function turn(id, max, wait)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  for _, gone in ipairs(redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)) do
    redis.call('ZREM', KEYS[2], gone)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local free = max - redis.call('ZCARD', KEYS[1])
  local rank = redis.call('ZRANK', KEYS[2], id)
  if (rank and rank < free) or (not rank and free > redis.call('ZCARD', KEYS[2])) then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    return TAKEN, 0
  elseif not rank then
    redis.call('ZADD', KEYS[2], string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2])), id)
    rank = redis.call('ZRANK', KEYS[2], id)
  end
  add(KEYS[3], id, wait)
  redis.call('PEXPIRE', KEYS[2], wait)
  return WAIT, rank - math.max(free, 0)
end

-- quotaRoom drops the expired places and says whether the window has room at the
-- Market's time mnow: TAKEN, limit, 0; or REFUSED, limit, until, where until is the
-- reset of a spent window, or 0 when places in flight hold what is left.
local function quotaRoom(mnow)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  local h = redis.call('HMGET', KEYS[4], 'until', 'remaining', 'limit')
  local untl, rem, lim = tonumber(h[1]) or 0, tonumber(h[2]) or -1, tonumber(h[3]) or -1
  -- Once the window is over nothing is known of the next one until an answer says.
  if (untl == 0 or mnow < untl) and rem >= 0 and rem - redis.call('ZCARD', KEYS[5]) <= 0 then
    return REFUSED, lim, rem > 0 and 0 or untl
  end
  return TAKEN, lim, 0
end

-- record keeps what an answer reported (ARGV strings), by chatclient.NewLocalLimits's
-- rules: a newer window replaces the old; for the same window the lowest remaining
-- count wins (answers arrive out of order). The key outlives the window by slack ms.
local function record(mnow, lim, rem, untl, slack)
  if tonumber(rem) < 0 or tonumber(untl) <= mnow then return end
  local h = redis.call('HMGET', KEYS[4], 'until', 'remaining')
  local cu, cr = tonumber(h[1]) or 0, tonumber(h[2]) or -1
  if tonumber(untl) > cu then
    redis.call('HSET', KEYS[4], 'until', untl, 'remaining', rem)
    cu = tonumber(untl)
  elseif tonumber(untl) == cu and (cr < 0 or tonumber(rem) < cr) then
    redis.call('HSET', KEYS[4], 'remaining', rem)
  end
  if tonumber(lim) >= 0 then redis.call('HSET', KEYS[4], 'limit', lim) end
  redis.call('PEXPIRE', KEYS[4], math.max(cu - mnow, 0) + slack)
end

local op = ARGV[1]
if op == 'admit' then
  -- Take a slot and a place, both or neither. ARGV: place id, slot id (a slot the
  -- caller kept when it differs from the place id), max in flight (0: no bound), lease
  -- TTL ms, wait TTL ms, the Market's now ms, place TTL ms. {WAIT, callers ahead, 0},
  -- or quotaRoom's answer; a refusal gives the kept slot back.
  local place, slot, max = ARGV[2], ARGV[3], tonumber(ARGV[4])
  if max > 0 and not (slot ~= place and redis.call('ZSCORE', KEYS[1], slot)) then
    local code, ahead = turn(slot, max, tonumber(ARGV[6]))
    if code == WAIT then return {WAIT, ahead, 0} end
  end
  local code, lim, untl = quotaRoom(tonumber(ARGV[7]))
  if code == TAKEN then
    add(KEYS[5], place, tonumber(ARGV[8]))
    if max > 0 then add(KEYS[1], slot, tonumber(ARGV[5])) end
  else
    redis.call('ZREM', KEYS[1], slot)
  end
  return {code, lim, untl}
elseif op == 'done' then
  -- Give back a slot with its place in the queue ('' keeps it) and a place ('' for
  -- none), and record the report. ARGV: slot id, place id, the Market's now ms, '1'
  -- when there is a report, its limit, remaining and until ms, the window's slack ms.
  for k = 1, 3 do redis.call('ZREM', KEYS[k], ARGV[2]) end
  redis.call('ZREM', KEYS[5], ARGV[3])
  if ARGV[5] == '1' then record(tonumber(ARGV[4]), ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])) end
  return {TAKEN}
elseif op == 'renew' then
  -- Push a held slot's expiry to TTL ms from now. ARGV: slot id, TTL ms. REFUSED when
  -- the slot is gone.
  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then return {REFUSED} end
  add(KEYS[1], ARGV[2], tonumber(ARGV[3]))
  return {TAKEN}
elseif op == 'window' then
  -- The quota's window: until ms (0: none), remaining and limit (-1: unknown). New asks
  -- it once: it needs what the other operations need, scripts and the limiter's keys.
  local h = redis.call('HMGET', KEYS[4], 'until', 'remaining', 'limit')
  return {tonumber(h[1]) or 0, tonumber(h[2]) or -1, tonumber(h[3]) or -1}
end
return redis.error_reply('redislimit: unknown operation ' .. tostring(op))
