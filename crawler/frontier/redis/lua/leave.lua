-- ARGV: prefix, token. The lease's page renders in a browser (seconds): it leaves its level
-- now, as a retry does, so one slow page does not hold the next depth back; it stays leased
-- until DONE, which then leaves the level no more ('x' marks it). Only a lease whose record
-- follows (ended fetched or unfetched), and only once. Returns 1 when it left, else 0.
local tok = ARGV[2]
local raw = redis.call('HGET', p .. 'lease', tok)
if not raw then return 0 end
local l = cjson.decode(raw)
if l.e ~= 1 or l.x == 1 then return 0 end
l.x = 1
redis.call('HSET', p .. 'lease', tok, cjson.encode(l))
level_add(l.d, -1)
return 1
