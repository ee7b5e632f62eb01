-- Ends a job with its outcome, if its worker still holds the lease.
-- KEYS: job, errors, running_by_list, leases, input, notify
-- ARGV: id, list, token, state, now, reason, retention
-- INCLUDE: Jobs/job_record, Jobs/job_finish
-- Answers nil when the lease is lost, the state it ended in, or '!inconsistent' (nothing changed) for a success whose
-- counts do not add up to its total.
if not job_lease_held(job, token) then return nil end
if state == 'succeeded' then
  local function count(field) return tonumber(redis.call('HGET', job, field) or '0') end
  if count('added') + count('updated') + count('unchanged') + count('removed') + count('failed') ~= count('total') then
    return '!inconsistent'
  end
end
return job_finish(job, errors, running_by_list, leases, input, id, list, state, now, reason, retention, notify)
