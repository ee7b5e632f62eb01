-- Ending a job, shared by finishing it and failing it after too many lost leases. A fragment (no header of its own).
-- The job goes into the notify set in the same step, so its listeners are told even if the replica or the store
-- fails right after. A success with failed members ends as partially_succeeded. The job's input is deleted, and
-- the record and its errors expire after the retention (seconds).
local function job_finish(job, errors, running_by_list, leases, input, id, list, state, now, reason, retention, notify)
  if state == 'succeeded' and tonumber(redis.call('HGET', job, 'failed') or '0') > 0 then state = 'partially_succeeded' end
  redis.call('HSET', job, 'state', state, 'finished', now)
  if reason ~= '' then redis.call('HSET', job, 'failure', reason) end
  redis.call('HDEL', job, 'leaseToken', 'leaseExpires')
  if redis.call('HGET', running_by_list, list) == id then redis.call('HDEL', running_by_list, list) end
  redis.call('ZREM', leases, id)
  redis.call('UNLINK', input) -- the staged set: UNLINK frees it off Redis's main thread (DEL of 100,000 members blocked it 39 ms)
  redis.call('EXPIRE', job, retention)
  redis.call('EXPIRE', errors, retention)
  redis.call('ZADD', notify, now, id)
  return state
end
