-- Moves a tenant whose queued jobs all wait for running ones to the ring's tail (or out of the ring when it has none).
-- KEYS: ring, queue
-- ARGV: tenant
if redis.call('LLEN', queue) == 0 then
  redis.call('LREM', ring, 0, tenant)
elseif redis.call('LINDEX', ring, 0) == tenant then
  redis.call('LPOP', ring)
  redis.call('RPUSH', ring, tenant)
end
return 1
