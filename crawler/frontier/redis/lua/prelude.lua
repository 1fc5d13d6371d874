-- Put in front of every script but join.lua (scripts.py): the key prefix (ARGV[1]), Redis's
-- clock, the crawl's settings, and the helpers the scripts share. It changes nothing itself.
local p = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local meta = redis.call('HMGET', p .. 'meta', 'per_host', 'max_per_host', 'delay', 'throttle')
local per_host = tonumber(meta[1] or '1')
local max_per_host = tonumber(meta[2] or '0')
local base_delay = tonumber(meta[3] or '0')
local start_limit = tonumber(meta[4] or '0')
local LEVEL = 1e12
local LEVEL_RETRY_MS = 250

local function num(v) return tonumber(v or '0') or 0 end

-- The host's limit on requests in flight: the autothrottle's ('cap'; before the host's first
-- answer its start limit), never above per_host. Off (start limit 0): per_host.
local function host_limit(hk)
  if start_limit == 0 then return per_host end
  local cap = tonumber(redis.call('HGET', hk, 'cap') or start_limit)
  return math.min(cap, per_host)
end

-- The host's delay floor (--delay, Crawl-delay) in ms, and its delay: the floor or the
-- autothrottle's ('tdelay'), whichever is longer.
local function host_floor(hk) return math.max(num(redis.call('HGET', hk, 'delay')), base_delay) end
local function host_delay(hk) return math.max(host_floor(hk), num(redis.call('HGET', hk, 'tdelay'))) end

local function count(field, by) redis.call('HINCRBY', p .. 'counts', field, by) end

local function schedule(h)
  if redis.call('ZCARD', p .. 'q:' .. h) == 0 then
    redis.call('ZREM', p .. 'hosts', h)
    return
  end
  local hk = p .. 'h:' .. h
  local st = redis.call('HMGET', hk, 'active', 'next', 'held')
  if num(st[1]) >= host_limit(hk) then
    redis.call('ZREM', p .. 'hosts', h)
    return
  end
  redis.call('ZADD', p .. 'hosts', math.max(num(st[2]), num(st[3])), h)
end

-- A request to the host started now: the next may not begin for ``gap`` ms, nor be handed out.
local function started(hk, gap)
  local st = redis.call('HMGET', hk, 'open', 'next')
  local open = math.max(num(st[1]), now + gap)
  redis.call('HSET', hk, 'last', now, 'open', open, 'next', math.max(num(st[2]), open))
end

local function level_add(depth, by)
  local left = redis.call('HINCRBY', p .. 'levels', depth, by)
  if left <= 0 then redis.call('HDEL', p .. 'levels', depth) end
end

local function enqueue(h, depth, req)
  local seq = redis.call('INCR', p .. 'seq')
  redis.call('ZADD', p .. 'q:' .. h, depth * LEVEL + seq, req)
  count('queued', 1)
  count('queued|' .. h, 1)
end

local function give_back_place(h)
  count('handed', -1)
  redis.call('HINCRBY', p .. 'h:' .. h, 'started', -1)
end

local function request_of(l)
  return cjson.encode({u = l.u, d = l.d, r = l.r, a = l.a, n = l.n})
end

-- A lease back in the queue (released, expired) is in its level again if it had left it
-- (leave.lua): breadth first holds the next depth back until it is done.
local function rejoin_level(l)
  if l.x == 1 then level_add(l.d, 1) end
end

local function drop_lease(tok, l)
  redis.call('HDEL', p .. 'lease', tok)
  redis.call('ZREM', p .. 'leases', tok)
  count('leased', -1)
  count('leased@' .. l.p, -1)
end
