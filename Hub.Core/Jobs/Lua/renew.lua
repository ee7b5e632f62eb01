-- Extends a worker's lease on its job, if it still holds it.
-- KEYS: job, leases
-- ARGV: id, token, lease_expires
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease is lost, 2 when a cancel was requested, else 1.
if not job_lease_held(job, token) then return 0 end
redis.call('HSET', job, 'leaseExpires', lease_expires)
redis.call('ZADD', leases, lease_expires, id)
return job_commit(job, nil, 0, 0, 0, 0, 0, 0)
