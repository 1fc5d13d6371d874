-- ARGV: prefix, process, n, then n (digest, page memory) pairs written to ``page`` with
-- the outcomes, then (token, digest, outcome, failed 1/0) per record.
local proc = ARGV[2]
local pages = tonumber(ARGV[3])
for i = 4, 3 + pages * 2, 2 do redis.call('HSET', p .. 'page', ARGV[i], ARGV[i + 1]) end
for i = 4 + pages * 2, #ARGV, 4 do
  local tok = ARGV[i]
  local raw = redis.call('HGET', p .. 'lease', tok)
  if raw then
    local l = cjson.decode(raw)
    if l.e ~= 1 then
      redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1)
      schedule(l.h)
    end
    drop_lease(tok, l)
    if l.x ~= 1 then level_add(l.d, -1) end  -- else it left already (leave.lua)
    local kind = 'done'
    if ARGV[i + 3] == '1' then kind = 'failed' end
    count(kind, 1)
    count(kind .. '|' .. l.h, 1)
    count(kind .. '@' .. proc, 1)
  end
  redis.call('HSET', p .. 'outcome', ARGV[i + 1], ARGV[i + 2])
end
return 1
