-- ARGV: prefix, then (digest, host, depth, request) per URL. Returns the indexes queued and
-- how many were dropped for max_pages_per_host (the calling process's summary counts them).
local added = {}
local n = 0
local dropped = 0
for i = 2, #ARGV, 4 do
  if redis.call('SADD', p .. 'seen', ARGV[i]) == 1 then
    local h = ARGV[i + 1]
    if max_per_host > 0 and num(redis.call('HGET', p .. 'h:' .. h, 'started')) >= max_per_host then
      count('skipped', 1)
      count('skipped:max_pages_per_host', 1)
      dropped = dropped + 1
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
return {added, dropped}
