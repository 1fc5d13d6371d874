-- ARGV: prefix, host, kind (delay|hold|backoff|reset), ms, jitter, cap ms.
-- delay: space starts ms apart from now on (from the last start too); hold: start nothing
-- for ms; backoff: hold for the next step of the shared back-off; reset: end the back-off.
-- Returns the hold in ms.
local h, kind, ms = ARGV[2], ARGV[3], tonumber(ARGV[4])
local hk = p .. 'h:' .. h
local until_ms = nil
if kind == 'reset' then
  redis.call('HDEL', hk, 'backoff')
  return 0
elseif kind == 'delay' then
  redis.call('HSET', hk, 'delay', ms)
  local last = redis.call('HGET', hk, 'last')
  if last then until_ms = tonumber(last) + host_delay(hk) end
elseif kind == 'hold' then
  until_ms = now + ms
elseif kind == 'backoff' then
  local step = redis.call('HINCRBY', hk, 'backoff', 1)
  local ceiling = math.min(tonumber(ARGV[6]), ms * 2 ^ math.min(step - 1, 30))
  ms = ceiling * tonumber(ARGV[5])
  until_ms = now + ms
end
if until_ms then
  local st = redis.call('HMGET', hk, 'next', 'held', 'open')
  local nxt, held = math.max(num(st[1]), until_ms), math.max(num(st[2]), until_ms)
  redis.call('HSET', hk, 'next', nxt, 'held', held, 'open', math.max(num(st[3]), until_ms))
  schedule(h)
end
return ms
