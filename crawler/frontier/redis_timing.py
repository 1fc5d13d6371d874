"""The Lua scripts of a shared crawl's host timing, each one atomic: wait a host's turn
(BEGIN), say when that request went on the wire (SENT), hold a host (HOLD), check a host
(MAY_START). The fields are in :mod:`crawler.frontier.redis_scripts`; when to call them is
the frontier's.
"""

from __future__ import annotations

from crawler.frontier.redis_prelude import PRELUDE

BEGIN = (
    PRELUDE
    + """
-- ARGV: prefix, host, jitter, window ms. A request to the host wants to start now: returns
-- the ms to wait, or 0: it starts, counted until SENT says it is on the wire or failed (or
-- for at most the window: its process may have died meanwhile). With a delay to keep, no
-- other may begin until then. Every start to a host passes here, in any process.
local h, jitter, window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local hk = p .. 'h:' .. h
local st = redis.call('HMGET', hk, 'open', 'sending', 'delay')
local open, sending, delay = num(st[1]), num(st[2]), math.max(num(st[3]), base_delay)
if sending > now and delay > 0 then return math.min(sending - now, 20) end
if open > now then return math.ceil(open - now) end
started(hk, delay * jitter)
redis.call('HSET', hk, 'sending', now + window)
schedule(h)
return 0
"""
)

HOLD = (
    PRELUDE
    + """
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
  if last then until_ms = tonumber(last) + ms end
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
"""
)

SENT = (
    PRELUDE
    + """
-- ARGV: prefix, host, jitter, sent (1/0). A start BEGIN let go has its head on the wire now
-- (the delay counts from here: a new connection may take long), or failed before it.
local h, jitter = ARGV[2], tonumber(ARGV[3])
local hk = p .. 'h:' .. h
redis.call('HDEL', hk, 'sending')
if ARGV[4] == '1' then
  started(hk, math.max(num(redis.call('HGET', hk, 'delay')), base_delay) * jitter)
end
schedule(h)
return 1
"""
)

MAY_START = (
    PRELUDE
    + """
-- ARGV: prefix, host. 1 when a request to the host may start now.
local st = redis.call('HMGET', p .. 'h:' .. ARGV[2], 'held')
if num(st[1]) > now then return 0 end
return 1
"""
)
