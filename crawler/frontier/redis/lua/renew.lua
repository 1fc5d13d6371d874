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
