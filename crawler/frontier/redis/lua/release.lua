-- ARGV: prefix, process, then tokens it will not finish (stopped): queued again as they
-- were, the attempt not counted (nothing went wrong with the URL).
for i = 3, #ARGV do
  local tok = ARGV[i]
  local raw = redis.call('HGET', p .. 'lease', tok)
  if raw then
    local l = cjson.decode(raw)
    if l.e ~= 1 then redis.call('HINCRBY', p .. 'h:' .. l.h, 'active', -1) end
    drop_lease(tok, l)
    give_back_place(l.h)
    enqueue(l.h, l.d, request_of(l))
    rejoin_level(l)
    schedule(l.h)
  end
end
redis.call('ZREM', p .. 'procs', ARGV[2])
redis.call('SREM', p .. 'feeders', ARGV[2])
return 1
