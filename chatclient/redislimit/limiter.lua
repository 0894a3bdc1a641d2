-- The Limiter's one script. ARGV[1] names the operation; the rest of ARGV is the
-- operation's own (see each branch at the end). KEYS, all under one business's hash
-- tag so that the script runs on Redis Cluster too:
--
--   KEYS[1] leases    zset: lease id -> expiry (ms, Redis clock)
--   KEYS[2] queue     zset: id of a waiting caller -> its arrival (µs, Redis clock)
--   KEYS[3] seen      zset: the same ids -> when they leave the queue unless they ask
--                     again (ms, Redis clock): a caller whose process died stops asking
--   KEYS[4] window    hash of one quota: until and remaining (Market clock, ms), limit
--   KEYS[5] reserved  zset: reservation id -> expiry (ms, Redis clock)
--
-- Expiries and arrivals are on the Redis server's clock, so processes whose clocks
-- disagree still agree on them. Quota windows are on the Market's clock, which the
-- caller passes in.

-- Answer codes; script.go names them alike.
local REFUSED, TAKEN, WAIT = 0, 1, 2

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local arrival = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))

-- A zset scored by expiry lives as long as its latest member.
local function expireAtLast(key)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', key, math.max(tonumber(last[2]) - now, 1))
  end
end

local function add(key, id, ttl)
  redis.call('ZADD', key, string.format('%d', now + ttl), id)
  expireAtLast(key)
end

-- turn says whether id may take a slot now: TAKEN when a slot is free for it, else WAIT
-- and how many callers ahead of it must be served first beyond the free slots. Callers
-- are served in order of arrival across all processes: a newcomer takes a slot only
-- when every waiter can have one too, and a waiter only when it is among the first
-- (free slots) waiters. A waiter that does not ask again within wait ms leaves the
-- queue.
local function turn(id, max, wait)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now)
  for _, w in ipairs(gone) do
    redis.call('ZREM', KEYS[2], w)
  end
  redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
  local free = max - redis.call('ZCARD', KEYS[1])
  local rank = redis.call('ZRANK', KEYS[2], id)
  if not rank then
    if free > redis.call('ZCARD', KEYS[2]) then
      return TAKEN, 0
    end
    redis.call('ZADD', KEYS[2], arrival, id)
    rank = redis.call('ZRANK', KEYS[2], id)
  elseif rank < free then
    redis.call('ZREM', KEYS[2], id)
    redis.call('ZREM', KEYS[3], id)
    return TAKEN, 0
  end
  redis.call('ZADD', KEYS[3], string.format('%d', now + wait), id)
  redis.call('PEXPIRE', KEYS[2], wait)
  redis.call('PEXPIRE', KEYS[3], wait)
  return WAIT, rank - math.max(free, 0)
end

-- announce publishes on channel the ids of the waiters whose turn it is, those among
-- the first (free slots): each process wakes its own, which ask again at once.
local function announce(max, channel)
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
  local free = max - redis.call('ZCARD', KEYS[1])
  if free > 0 then
    local ids = redis.call('ZRANGE', KEYS[2], 0, free - 1)
    if #ids > 0 then
      redis.call('PUBLISH', channel, table.concat(ids, ' '))
    end
  end
end

-- quotaRoom drops the expired reservations and tells whether the window has room at
-- the Market's time mnow: TAKEN, limit, 0; or REFUSED, limit, until, where until is
-- the reset of a spent window, or 0 when reservations in flight hold what is left.
local function quotaRoom(mnow)
  redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', now)
  local h = redis.call('HMGET', KEYS[4], 'until', 'remaining', 'limit')
  local untl = tonumber(h[1]) or 0
  local rem = tonumber(h[2]) or -1
  local lim = tonumber(h[3]) or -1
  if untl ~= 0 and mnow >= untl then
    -- The window is over: nothing is known of the next one until an answer says.
    rem = -1
    untl = 0
  end
  if rem >= 0 and rem - redis.call('ZCARD', KEYS[5]) <= 0 then
    if rem > 0 then
      return REFUSED, lim, 0
    end
    return REFUSED, lim, untl
  end
  return TAKEN, lim, 0
end

-- giveBack ends reservation id ('' for none) and records what the answer reported, as
-- chatclient.NewLocalQuotas does: a newer window replaces the old; for the same window
-- the lowest remaining count wins (answers arrive out of order). ARGV[a..a+5]: the
-- Market's now in ms, '1' when there is a report, its limit, remaining and until in ms,
-- and how long in ms the window's key outlives its until.
local function giveBack(id, a)
  if id ~= '' then
    redis.call('ZREM', KEYS[5], id)
  end
  if ARGV[a + 1] ~= '1' then
    return
  end
  local mnow = tonumber(ARGV[a])
  local lim = tonumber(ARGV[a + 2])
  local rem = tonumber(ARGV[a + 3])
  local untl = tonumber(ARGV[a + 4])
  if rem < 0 or untl <= mnow then
    return
  end
  local h = redis.call('HMGET', KEYS[4], 'until', 'remaining')
  local cu = tonumber(h[1]) or 0
  local cr = tonumber(h[2]) or -1
  if untl > cu then
    redis.call('HSET', KEYS[4], 'until', ARGV[a + 4], 'remaining', ARGV[a + 3])
    cu = untl
  elseif untl == cu and (cr < 0 or rem < cr) then
    redis.call('HSET', KEYS[4], 'remaining', ARGV[a + 3])
  end
  if lim >= 0 then
    redis.call('HSET', KEYS[4], 'limit', ARGV[a + 2])
  end
  if redis.call('EXISTS', KEYS[4]) == 1 then
    redis.call('PEXPIRE', KEYS[4], math.max(cu - mnow, 0) + tonumber(ARGV[a + 5]))
  end
end

local op = ARGV[1]

if op == 'acquire' then
  -- Take a lease. ARGV: id, max in flight, lease TTL ms, wait TTL ms.
  -- {TAKEN, 0} or {WAIT, callers ahead}.
  local code, ahead = turn(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]))
  if code == TAKEN then
    add(KEYS[1], ARGV[2], tonumber(ARGV[4]))
  end
  return {code, ahead}
elseif op == 'admit' then
  -- Take a lease and reserve one request of the quota, both or neither. ARGV: id (of
  -- both), max in flight, lease TTL ms, wait TTL ms, the Market's now ms, reservation
  -- TTL ms, the channel of turns. {WAIT, callers ahead, 0}, or quotaRoom's answer.
  local code, ahead = turn(ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[5]))
  if code == WAIT then
    return {WAIT, ahead, 0}
  end
  local ok, lim, untl = quotaRoom(tonumber(ARGV[6]))
  if ok == TAKEN then
    add(KEYS[5], ARGV[2], tonumber(ARGV[7]))
    add(KEYS[1], ARGV[2], tonumber(ARGV[4]))
  else
    -- Its turn passes to the next waiter.
    announce(tonumber(ARGV[3]), ARGV[8])
  end
  return {ok, lim, untl}
elseif op == 'renew' then
  -- Push a held lease's expiry to TTL from now. ARGV: id, lease TTL ms. {TAKEN}, or
  -- {REFUSED} when the lease is gone (it expired, or was released).
  if not redis.call('ZSCORE', KEYS[1], ARGV[2]) then
    return {REFUSED}
  end
  add(KEYS[1], ARGV[2], tonumber(ARGV[3]))
  return {TAKEN}
elseif op == 'reserve' then
  -- Reserve one request of the quota. ARGV: id, the Market's now ms, reservation TTL
  -- ms. quotaRoom's answer; with TAKEN the reservation is added.
  local ok, lim, untl = quotaRoom(tonumber(ARGV[3]))
  if ok == TAKEN then
    add(KEYS[5], ARGV[2], tonumber(ARGV[4]))
  end
  return {ok, lim, untl}
elseif op == 'done' then
  -- End what admit or acquire took or queued: the lease and the place in the queue
  -- (unless the lease id is '': the caller keeps its slot), and the reservation, and
  -- record the report; announce whose turn it is then. ARGV: reservation id, lease
  -- id, max in flight, the channel of turns, then giveBack's.
  if ARGV[3] ~= '' then
    local freed = redis.call('ZREM', KEYS[1], ARGV[3]) + redis.call('ZREM', KEYS[2], ARGV[3])
    redis.call('ZREM', KEYS[3], ARGV[3])
    if freed > 0 then
      announce(tonumber(ARGV[4]), ARGV[5])
    end
  end
  giveBack(ARGV[2], 6)
  return {TAKEN}
elseif op == 'check' then
  -- Change nothing, but ask for what the other operations need: to run scripts, to
  -- read and write the limiter's keys, to publish on the channel of turns. ARGV: the
  -- channel.
  redis.call('ZSCORE', KEYS[1], '')
  redis.call('PEXPIRE', KEYS[1], 1)
  redis.call('PUBLISH', ARGV[2], '')
  return {TAKEN}
end
return redis.error_reply('redislimit: unknown operation ' .. tostring(op))
