-- Claims a queued job for a worker: it starts running under the worker's lease, and its tenant moves to the ring's tail.
-- KEYS: ring, queue, job, running_by_list, leases, queued_by_list, depth
-- ARGV: tenant, id, list, now, lease_expires, token
-- Answers 0 (nothing changed) when the job is no longer queued, its list already has a running job, or another
-- worker took it first; 1 when claimed.
if redis.call('HGET', job, 'state') ~= 'queued' then return 0 end
if redis.call('HEXISTS', running_by_list, list) == 1 then return 0 end
if redis.call('LREM', queue, 1, id) == 0 then return 0 end
redis.call('LREM', ring, 0, tenant)
if redis.call('LLEN', queue) > 0 then redis.call('RPUSH', ring, tenant) end
if redis.call('HGET', queued_by_list, list) == id then redis.call('HDEL', queued_by_list, list) end
redis.call('HSET', running_by_list, list, id)
redis.call('HSET', job, 'state', 'running', 'leaseToken', token, 'leaseExpires', lease_expires)
redis.call('HSETNX', job, 'started', now)
redis.call('HINCRBY', job, 'attempts', 1)
redis.call('ZADD', leases, lease_expires, id)
redis.call('DECR', depth)
return 1
