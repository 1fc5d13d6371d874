-- KEYS: meta. ARGV: fingerprint, per_host, delay ms, max per host, now (s), the autothrottle's
-- start limit (0: off). A process with seeds creates the crawl once, all of its meta
-- together; returns the stored fingerprint.
if redis.call('HSETNX', KEYS[1], 'fingerprint', ARGV[1]) == 1 then
  redis.call('HSET', KEYS[1], 'per_host', ARGV[2], 'delay', ARGV[3], 'max_per_host', ARGV[4],
             'created', ARGV[5], 'throttle', ARGV[6])
end
return redis.call('HGET', KEYS[1], 'fingerprint')
