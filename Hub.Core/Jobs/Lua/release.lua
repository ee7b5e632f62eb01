-- Gives a job back on graceful shutdown: its lease expires now, so any replica takes it over at once.
-- KEYS: job, leases
-- ARGV: id, token, now
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease was lost already, else 1. Counted in 'releases', so it is not a lost lease.
if not job_lease_held(job, token) then return 0 end
redis.call('HDEL', job, 'leaseToken')
redis.call('HSET', job, 'leaseExpires', now)
redis.call('HINCRBY', job, 'releases', 1)
redis.call('ZADD', leases, now, id)
return 1
