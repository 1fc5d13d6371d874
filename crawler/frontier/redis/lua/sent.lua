-- ARGV: prefix, host, jitter, sent (1/0). A start BEGIN let go has its head on the wire now
-- (the delay counts from here: a new connection may take long), or failed before it.
local h, jitter = ARGV[2], tonumber(ARGV[3])
local hk = p .. 'h:' .. h
redis.call('HDEL', hk, 'sending')
if ARGV[4] == '1' then
  started(hk, host_delay(hk) * jitter)
end
schedule(h)
return 1
