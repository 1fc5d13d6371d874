-- ARGV: prefix, process, how many, lease ms, jitter (1..1.5), max requests (0: none), scan.
-- Returns {{token, request, host, delay ms}..., queued, leased, retrying, over (1/0),
-- wait ms, limit reached (1/0), seen, dropped for max_pages_per_host}.
local proc, want, lease_ms = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local jitter, max_requests, scan = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local dropped_here = 0

-- Leases whose process stopped renewing them: back to the queue, the attempt counted.
for _, tok in ipairs(redis.call('ZRANGEBYSCORE', p .. 'leases', '-inf', now, 'LIMIT', 0, 100)) do
  local raw = redis.call('HGET', p .. 'lease', tok)
  redis.call('ZREM', p .. 'leases', tok)
  if raw then
    local l = cjson.decode(raw)
    if l.e ~= 1 then redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1) end
    drop_lease(tok, l)
    give_back_place(l.h)
    l.a = l.a + 1
    enqueue(l.h, l.d, request_of(l))
    rejoin_level(l)
    count('requeued', 1)
    schedule(l.h)
  end
end

-- Retries whose time has come rejoin their host's queue and their level.
local due = redis.call('ZRANGEBYSCORE', p .. 'retries', '-inf', now, 'LIMIT', 0, 100)
for _, raw in ipairs(due) do
  redis.call('ZREM', p .. 'retries', raw)
  local r = cjson.decode(raw)
  enqueue(r.h, r.d, cjson.encode({u = r.u, d = r.d, r = r.r, a = r.a, n = r.n}))
  count('retrying', -1)
  level_add(r.d, 1)
  schedule(r.h)
end

local out = {}
local limited = 0
local handed = num(redis.call('HGET', p .. 'counts', 'handed'))
if max_requests > 0 and handed >= max_requests then limited = 1 end

-- Breadth first: nothing deeper than the shallowest depth still queued or leased.
local level = nil
local levels = redis.call('HGETALL', p .. 'levels')
for i = 1, #levels, 2 do
  local d = tonumber(levels[i])
  if level == nil or d < level then level = d end
end

if limited == 0 and want > 0 then
  local hosts = redis.call('ZRANGEBYSCORE', p .. 'hosts', '-inf', now, 'LIMIT', 0, scan)
  for _, h in ipairs(hosts) do
    if #out >= want or (max_requests > 0 and handed >= max_requests) then break end
    local hk = p .. 'h:' .. h
    local head = redis.call('ZRANGE', p .. 'q:' .. h, 0, 0, 'WITHSCORES')
    if #head == 0 then
      redis.call('ZREM', p .. 'hosts', h)
    elseif max_per_host > 0 and num(redis.call('HGET', hk, 'started')) >= max_per_host then
      -- The host had its pages: what is still queued for it is dropped, counted.
      local rest = redis.call('ZRANGE', p .. 'q:' .. h, 0, -1, 'WITHSCORES')
      for i = 2, #rest, 2 do level_add(math.floor(tonumber(rest[i]) / LEVEL), -1) end
      local dropped = #rest / 2
      redis.call('DEL', p .. 'q:' .. h)
      count('queued', -dropped)
      count('queued|' .. h, -dropped)
      count('skipped', dropped)
      count('skipped:max_pages_per_host', dropped)
      dropped_here = dropped_here + dropped
      redis.call('ZREM', p .. 'hosts', h)
    elseif level == nil or math.floor(tonumber(head[2]) / LEVEL) <= level then
      redis.call('ZPOPMIN', p .. 'q:' .. h)
      local r = cjson.decode(head[1])
      local delay = host_delay(hk)
      local nxt = math.max(num(redis.call('HGET', hk, 'next')), now + delay * jitter)
      redis.call('HINCRBY', hk, 'active', 1)
      redis.call('HINCRBY', hk, 'started', 1)
      redis.call('HSET', hk, 'next', nxt, 'last', now)
      local tok = tostring(redis.call('INCR', p .. 'token'))
      r.h = h
      r.p = proc
      redis.call('HSET', p .. 'lease', tok, cjson.encode(r))
      redis.call('ZADD', p .. 'leases', now + lease_ms, tok)
      count('queued', -1)
      count('queued|' .. h, -1)
      count('leased', 1)
      count('leased@' .. proc, 1)
      count('handed', 1)
      handed = handed + 1
      out[#out + 1] = {tok, head[1], h, math.ceil(delay)}
      schedule(h)
    else
      -- Waiting for a shallower level: behind the hosts that have work now, so a scan
      -- never fills with waiting hosts; looked at again in a moment.
      redis.call('ZADD', p .. 'hosts', now + LEVEL_RETRY_MS, h)
    end
  end
end

local c = redis.call('HMGET', p .. 'counts', 'queued', 'leased', 'retrying')
local queued, leased, retrying = num(c[1]), num(c[2]), num(c[3])

-- Over when nothing waits and no live process may still add seeds.
local feeding = 0
for _, f in ipairs(redis.call('SMEMBERS', p .. 'feeders')) do
  local beat = redis.call('ZSCORE', p .. 'procs', f)
  if beat and tonumber(beat) >= now - lease_ms then
    feeding = feeding + 1
  else
    redis.call('SREM', p .. 'feeders', f)
  end
end
local over = 0
if queued + leased + retrying == 0 and feeding == 0 then over = 1 end

local wait = 1000
local first = redis.call('ZRANGE', p .. 'hosts', 0, 0, 'WITHSCORES')
if #first > 0 then wait = math.min(wait, tonumber(first[2]) - now) end
for _, key in ipairs({'retries', 'leases'}) do
  local soonest = redis.call('ZRANGE', p .. key, 0, 0, 'WITHSCORES')
  if #soonest > 0 then wait = math.min(wait, tonumber(soonest[2]) - now) end
end
return {out, queued, leased, retrying, over, math.max(wait, 0), limited,
        redis.call('SCARD', p .. 'seen'), dropped_here}
