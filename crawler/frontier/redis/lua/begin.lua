-- ARGV: prefix, host, jitter, window ms. A request to the host wants to start now: returns
-- the ms to wait, or 0: it starts, counted until SENT says it is on the wire or failed (or
-- for at most the window: its process may have died meanwhile). With a delay to keep, no
-- other may begin until then. Every start to a host passes here, in any process.
local h, jitter, window = ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local hk = p .. 'h:' .. h
local st = redis.call('HMGET', hk, 'open', 'sending')
local open, sending, delay = num(st[1]), num(st[2]), host_delay(hk)
if sending > now and delay > 0 then return math.min(sending - now, 20) end
if open > now then return math.ceil(open - now) end
started(hk, delay * jitter)
redis.call('HSET', hk, 'sending', now + window)
schedule(h)
return 0
