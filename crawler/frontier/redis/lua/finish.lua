-- ARGV: prefix, limit reached (1/0). A process whose crawl is over marks the run ended
-- when nothing is queued, leased or retrying (or the page limit stopped it): the next
-- recrawl starts a new run. A run left by killed processes keeps their leases, so it is
-- never marked, and is resumed. Returns 1 when marked.
local c = redis.call('HMGET', p .. 'counts', 'queued', 'leased', 'retrying')
if ARGV[2] ~= '1' and num(c[1]) + num(c[2]) + num(c[3]) > 0 then return 0 end
redis.call('HSET', p .. 'meta', 'ended', num(redis.call('HGET', p .. 'meta', 'run')))
return 1
