-- ARGV: prefix, host. 1 when a request to the host may start now.
local st = redis.call('HMGET', p .. 'h:' .. ARGV[2], 'held')
if num(st[1]) > now then return 0 end
return 1
