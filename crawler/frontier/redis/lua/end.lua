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
