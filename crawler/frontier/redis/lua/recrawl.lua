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
    local r = cjson.decode(string.sub(value, 1, string.find(value, '\n', 1, true) - 1))
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
