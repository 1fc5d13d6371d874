"""The Lua scripts that change a shared crawl in Redis, each one atomic: add links, take
leases, end a fetch, finish records, renew leases; those of host timing (a host's turn, a
hold) are :mod:`crawler.frontier.redis_timing`'s, and ``SCRIPTS`` names them all.

Keys under the crawl's prefix (``ARGV[1]``, see :mod:`crawler.frontier.redis_keys`):
``seen`` SET of 16-byte digests; ``q:<host>`` ZSET request -> depth x 1e12 + sequence;
``h:<host>`` HASH active/next/held/open/sending/last/delay/backoff/started (ms; ``next``
paces hand-outs, ``open`` the gate, ``sending`` a start not on the wire yet); ``hosts`` ZSET of
hosts with work and a free slot -> the time they may start; ``lease`` HASH token ->
request; ``leases`` ZSET token -> expiry; ``retries`` ZSET request -> due; ``levels`` HASH
depth -> requests queued or leased; ``outcome`` HASH digest -> status or error code;
``counts``, ``procs``, ``feeders``, ``meta``. Times are Redis's own clock (ms), the one
clock every process shares. It owns the data changes; when to call them is the frontier's.
"""

from __future__ import annotations

import json

from crawler.frontier.redis_prelude import PRELUDE
from crawler.frontier.redis_timing import BEGIN, HOLD, MAY_START, SENT
from crawler.models import FetchRequest

ADD = (
    PRELUDE
    + """
-- ARGV: prefix, then (digest, host, depth, request) per URL. Returns the indexes queued.
local added = {}
local n = 0
for i = 2, #ARGV, 4 do
  if redis.call('SADD', p .. 'seen', ARGV[i]) == 1 then
    local h = ARGV[i + 1]
    if max_per_host > 0 and num(redis.call('HGET', p .. 'h:' .. h, 'started')) >= max_per_host then
      count('skipped', 1)
      count('skipped:max_pages_per_host', 1)
    else
      local depth = tonumber(ARGV[i + 2])
      enqueue(h, depth, ARGV[i + 3])
      level_add(depth, 1)
      schedule(h)
      n = n + 1
      added[n] = (i - 2) / 4
    end
  end
end
return added
"""
)

TAKE = (
    PRELUDE
    + """
-- ARGV: prefix, process, how many, lease ms, jitter (1..1.5), max requests (0: none), scan.
-- Returns {{token, request, host, delay ms}..., queued, leased, retrying, over (1/0),
-- wait ms, limit reached (1/0), seen}.
local proc, want, lease_ms = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local jitter, max_requests, scan = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])

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
      redis.call('ZREM', p .. 'hosts', h)
    elseif level == nil or math.floor(tonumber(head[2]) / LEVEL) <= level then
      redis.call('ZPOPMIN', p .. 'q:' .. h)
      local r = cjson.decode(head[1])
      local delay = math.max(num(redis.call('HGET', hk, 'delay')), base_delay)
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
        redis.call('SCARD', p .. 'seen')}
"""
)

END = (
    PRELUDE
    + """
-- ARGV: prefix, token, how (fetched|unfetched|refused|retry|held), retry ms, retry wall
-- time (epoch s), digest, reason. Returns 1, or 0 when the lease was lost (expired).
local tok, how = ARGV[2], ARGV[3]
local raw = redis.call('HGET', p .. 'lease', tok)
if not raw then return 0 end
local l = cjson.decode(raw)
if l.e == 1 then return 1 end
redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1)
if how == 'fetched' or how == 'unfetched' then
  if how == 'unfetched' then give_back_place(l.h) end
  l.e = 1
  redis.call('HSET', p .. 'lease', tok, cjson.encode(l))
elseif how == 'held' then
  give_back_place(l.h)
  drop_lease(tok, l)
  enqueue(l.h, l.d, request_of(l))
elseif how == 'refused' then
  give_back_place(l.h)
  drop_lease(tok, l)
  level_add(l.d, -1)
  count('refused', 1)
  redis.call('HSET', p .. 'outcome', ARGV[6], ARGV[7])
elseif how == 'retry' then
  give_back_place(l.h)
  drop_lease(tok, l)
  level_add(l.d, -1)
  count('retrying', 1)
  local r = {u = l.u, d = l.d, r = l.r, a = l.a + 1, n = tonumber(ARGV[5]), h = l.h}
  redis.call('ZADD', p .. 'retries', now + tonumber(ARGV[4]), cjson.encode(r))
end
schedule(l.h)
return 1
"""
)

DONE = (
    PRELUDE
    + """
-- ARGV: prefix, process, n, then n (digest, page memory) pairs written to ``page`` with
-- the outcomes, then (token, digest, outcome, failed 1/0) per record.
local proc = ARGV[2]
local pages = tonumber(ARGV[3])
for i = 4, 3 + pages * 2, 2 do redis.call('HSET', p .. 'page', ARGV[i], ARGV[i + 1]) end
for i = 4 + pages * 2, #ARGV, 4 do
  local tok = ARGV[i]
  local raw = redis.call('HGET', p .. 'lease', tok)
  if raw then
    local l = cjson.decode(raw)
    if l.e ~= 1 then
      redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1)
      schedule(l.h)
    end
    drop_lease(tok, l)
    level_add(l.d, -1)
    local kind = 'done'
    if ARGV[i + 3] == '1' then kind = 'failed' end
    count(kind, 1)
    count(kind .. '|' .. l.h, 1)
    count(kind .. '@' .. proc, 1)
  end
  redis.call('HSET', p .. 'outcome', ARGV[i + 1], ARGV[i + 2])
end
return 1
"""
)

RENEW = (
    PRELUDE
    + """
-- ARGV: prefix, process, lease ms, feeding (1/0), then the tokens it holds.
-- Returns how many of them are still its own.
local proc, lease_ms = ARGV[2], tonumber(ARGV[3])
redis.call('ZADD', p .. 'procs', now, proc)
if ARGV[4] == '1' then
  redis.call('SADD', p .. 'feeders', proc)
else
  redis.call('SREM', p .. 'feeders', proc)
end
local kept = 0
for i = 5, #ARGV do
  kept = kept + redis.call('ZADD', p .. 'leases', 'XX', 'CH', now + lease_ms, ARGV[i])
end
return kept
"""
)

RELEASE = (
    PRELUDE
    + """
-- ARGV: prefix, process, then tokens it will not finish (stopped): queued again as they
-- were, the attempt not counted (nothing went wrong with the URL).
for i = 3, #ARGV do
  local tok = ARGV[i]
  local raw = redis.call('HGET', p .. 'lease', tok)
  if raw then
    local l = cjson.decode(raw)
    if l.e ~= 1 then redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1) end
    drop_lease(tok, l)
    give_back_place(l.h)
    enqueue(l.h, l.d, request_of(l))
    schedule(l.h)
  end
end
redis.call('ZREM', p .. 'procs', ARGV[2])
redis.call('SREM', p .. 'feeders', ARGV[2])
return 1
"""
)

RECRAWL = (
    PRELUDE
    + """
-- ARGV: prefix, process, seeding (1/0), lease ms. A recrawl starts a new run of a crawl
-- that ended (the last run marked ``ended``, or nothing is queued, leased or retrying and
-- no live process may still seed): the run's seen set, outcomes, queues, host timing and
-- counts go; every page of ``page`` is queued again (a seeding process's own seeds come
-- from it); the caller joins as a seeder in the same step, so a process starting at the
-- same moment finds work queued and joins this run. Returns the pages queued, or -1 when
-- the crawl had not ended (it is resumed).
local proc, seeding, lease_ms = ARGV[2], ARGV[3] == '1', tonumber(ARGV[4])
local run = num(redis.call('HGET', p .. 'meta', 'run'))
local ended = redis.call('HGET', p .. 'meta', 'ended')
local c = redis.call('HMGET', p .. 'counts', 'queued', 'leased', 'retrying')
local busy = num(c[1]) + num(c[2]) + num(c[3]) > 0
if not busy then
  for _, f in ipairs(redis.call('SMEMBERS', p .. 'feeders')) do
    local beat = redis.call('ZSCORE', p .. 'procs', f)
    if beat and tonumber(beat) >= now - lease_ms then busy = true end
  end
end
if not (ended and tonumber(ended) == run) and busy then return -1 end
for _, name in ipairs({'seen', 'outcome', 'counts', 'lease', 'leases', 'retries', 'levels',
                       'hosts', 'seq', 'feeders'}) do
  redis.call('DEL', p .. name)
end
for _, pattern in ipairs({'q:*', 'h:*'}) do
  local cursor = '0'
  repeat
    local found = redis.call('SCAN', cursor, 'MATCH', p .. pattern, 'COUNT', 1000)
    cursor = found[1]
    for _, key in ipairs(found[2]) do redis.call('DEL', key) end
  until cursor == '0'
end
redis.call('HSET', p .. 'meta', 'run', run + 1)
redis.call('HDEL', p .. 'meta', 'ended')
redis.call('ZADD', p .. 'procs', now, proc)
if seeding then redis.call('SADD', p .. 'feeders', proc) end
local queued = 0
local cursor = '0'
repeat
  local found = redis.call('HSCAN', p .. 'page', cursor, 'COUNT', 1000)
  cursor = found[1]
  local items = found[2]
  for i = 1, #items, 2 do
    local value = items[i + 1]
    local r = cjson.decode(string.sub(value, 1, string.find(value, '\\n', 1, true) - 1))
    if not (seeding and r.d == 0 and r.r == false) then
      redis.call('SADD', p .. 'seen', items[i])
      enqueue(r.h, r.d, cjson.encode({u = r.u, d = r.d, r = r.r, a = 1, n = 0}))
      level_add(r.d, 1)
      schedule(r.h)
      queued = queued + 1
    end
  end
until cursor == '0'
return queued
"""
)

FINISH = (
    PRELUDE
    + """
-- ARGV: prefix, limit reached (1/0). A process whose crawl is over marks the run ended
-- when nothing is queued, leased or retrying (or the page limit stopped it): the next
-- recrawl starts a new run. A run left by killed processes keeps their leases, so it is
-- never marked, and is resumed. Returns 1 when marked.
local c = redis.call('HMGET', p .. 'counts', 'queued', 'leased', 'retrying')
if ARGV[2] ~= '1' and num(c[1]) + num(c[2]) + num(c[3]) > 0 then return 0 end
redis.call('HSET', p .. 'meta', 'ended', num(redis.call('HGET', p .. 'meta', 'run')))
return 1
"""
)

JOIN = """
-- KEYS: meta. ARGV: fingerprint, per_host, delay ms, max per host, now (s). A process with
-- seeds creates the crawl once, all of its meta together; returns the stored fingerprint.
if redis.call('HSETNX', KEYS[1], 'fingerprint', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'per_host', ARGV[2], 'delay', ARGV[3], 'max_per_host', ARGV[4],
             'created', ARGV[5])
end
return redis.call('HGET', KEYS[1], 'fingerprint')
"""


SCRIPTS = {
    "join": JOIN,
    "add": ADD,
    "take": TAKE,
    "end": END,
    "done": DONE,
    "renew": RENEW,
    "release": RELEASE,
    "begin": BEGIN,
    "sent": SENT,
    "hold": HOLD,
    "may_start": MAY_START,
    "recrawl": RECRAWL,
    "finish": FINISH,
}
"""Every script by the name callers run it under."""


def encode_request(request: FetchRequest) -> str:
    """``request`` as the scripts keep it: JSON with one-letter keys (u, d, r, a, n)."""
    return json.dumps(
        {
            "u": request.url,
            "d": request.depth,
            "r": request.referrer or False,
            "a": request.attempt,
            "n": request.not_before,
        },
        separators=(",", ":"),
    )


def decode_request(raw: bytes) -> FetchRequest:
    """A request as the scripts hand it back."""
    item = json.loads(raw)
    return FetchRequest(item["u"], int(item["d"]), item["r"] or None, int(item["a"]), item["n"])
