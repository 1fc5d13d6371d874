-- ARGV: prefix, host. 1 when a request to the host may start now, as BEGIN would let it:
-- not held, the delay since its last start over, none on its way to the wire with a delay.
local hk = p .. 'h:' .. ARGV[2]
local st = redis.call('HMGET', hk, 'held', 'open', 'sending')
if num(st[1]) > now or num(st[2]) > now then return 0 end
if num(st[3]) > now and host_delay(hk) > 0 then return 0 end
return 1
