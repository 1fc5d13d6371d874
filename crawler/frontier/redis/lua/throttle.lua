-- ARGV: prefix, host, verdict (slower|faster), the window's typical answer time (ms), the
-- version of the rate the window was measured under, min delay ms, max delay ms.
-- The autothrottle's step rule, a copy of throttle.py's next_rate, on the host's shared rate
-- ('cap', 'tdelay' ms, 'slowed', 'ver'), applied only if its version is still the one the
-- proposal names: else another process saw the same and acted first.
-- Returns {limit, delay ms, slow-downs, 1 when changed else 0, version}.
local h, verdict, latency, seen = ARGV[2], ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local min_delay, max_delay = tonumber(ARGV[6]), tonumber(ARGV[7])
local hk = p .. 'h:' .. h
local limit = host_limit(hk)
local st = redis.call('HMGET', hk, 'tdelay', 'slowed', 'ver', 'last')
local delay, slowed, ver = num(st[1]), num(st[2]), num(st[3])
if start_limit == 0 or ver ~= seen then
  return {limit, delay, slowed, 0, ver}
end
local floor = host_floor(hk)
local new_limit, new_delay = limit, delay
if verdict == 'slower' then
  if limit > 1 then
    new_limit = math.max(math.floor(limit / 2), 1)
  else
    new_delay = math.max(2 * math.max(delay, floor), latency, min_delay)
    new_delay = math.min(new_delay, math.max(max_delay, floor))
  end
elseif delay > 0 then
  new_delay = math.floor(delay / 2)
  if new_delay <= math.max(floor, min_delay) then new_delay = 0 end
else
  if slowed > 0 then new_limit = limit + 1 else new_limit = limit * 2 end
  new_limit = math.min(math.max(new_limit, 1), per_host)
end
if new_limit == limit and new_delay == delay then return {limit, delay, slowed, 0, ver} end
if verdict == 'slower' then slowed = slowed + 1 end
ver = ver + 1
redis.call('HSET', hk, 'cap', new_limit, 'tdelay', new_delay, 'slowed', slowed, 'ver', ver)
if new_delay > delay and st[4] then
  -- Spaced from the last start too, as a Crawl-delay learned late is.
  local until_ms = tonumber(st[4]) + math.max(new_delay, floor)
  local o = redis.call('HMGET', hk, 'next', 'open')
  redis.call('HSET', hk, 'next', math.max(num(o[1]), until_ms), 'open', math.max(num(o[2]), until_ms))
end
schedule(h)
return {new_limit, new_delay, slowed, 1, ver}
