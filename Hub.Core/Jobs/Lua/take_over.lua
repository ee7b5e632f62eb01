-- Takes over a running job whose lease expired (its worker crashed or hung), or fails it when it lost its lease too often.
-- KEYS: job, running_by_list, leases, input, errors, notify
-- ARGV: id, now, lease_expires, token, max_attempts, retention, list, failure_reason
-- INCLUDE: Jobs/job_finish
-- Answers 0 when there is nothing to take over (the job is no longer running, or its lease was renewed), 1 when this
-- worker now holds the lease, 2 when the job failed. Graceful releases do not count as lost leases.
if redis.call('HGET', job, 'state') ~= 'running' then
  redis.call('ZREM', leases, id)
  return 0
end
if tonumber(redis.call('HGET', job, 'leaseExpires') or '0') > tonumber(now) then return 0 end
local lost = tonumber(redis.call('HGET', job, 'attempts') or '0') - tonumber(redis.call('HGET', job, 'releases') or '0')
if lost >= tonumber(max_attempts) then
  job_finish(job, errors, running_by_list, leases, input, id, list, 'failed', now, failure_reason, retention, notify)
  return 2
end
redis.call('HSET', job, 'leaseToken', token, 'leaseExpires', lease_expires)
redis.call('HINCRBY', job, 'attempts', 1)
redis.call('ZADD', leases, lease_expires, id)
return 1
