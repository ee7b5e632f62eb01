-- Queues a new job for a list, cancelling (as superseded) the job queued for that list before it, if any; or, with join
-- '1', answers the list's queued or running job instead of queueing another.
-- KEYS: job, queue, ring, tenant_jobs, queued_by_list, input, old_job, old_input, depth, errors, old_errors, notify, running_by_list
-- ARGV: id, tenant, list, expected_queued_id, now, created_score, retention, join, field_pairs, ...fields_then_errors
-- Answers {-1} when the list's queued job is no longer expected_queued_id (the caller reads it again and retries),
-- {-2} when the job exists already, {-3, id} when join is '1' and the list has a queued or running job (nothing changes),
-- {1} when queued. The rest holds field_pairs field/value pairs of the new record,
-- then its initial errors (JSON each). The superseded job's input is deleted and its record starts its retention.
local current = redis.call('HGET', queued_by_list, list) or ''
if join == '1' then
  local existing = redis.call('HGET', queued_by_list, list) or redis.call('HGET', running_by_list, list)
  if existing then return {-3, existing} end
end
if current ~= expected_queued_id then return {-1} end
if redis.call('EXISTS', job) == 1 then return {-2} end
local had_queue = redis.call('LLEN', queue) > 0
if current ~= '' then
  redis.call('LREM', queue, 0, current)
  redis.call('HSET', old_job, 'state', 'cancelled', 'finished', now, 'supersededBy', id)
  redis.call('UNLINK', old_input) -- a staged set, freed off Redis's main thread (see job_finish)
  redis.call('EXPIRE', old_job, retention)
  redis.call('EXPIRE', old_errors, retention)
  redis.call('DECR', depth)
  redis.call('ZADD', notify, now, current)
end
local pairs_count = tonumber(field_pairs)
local fields = {}
for i = fields_then_errors_at, fields_then_errors_at - 1 + 2 * pairs_count do fields[#fields + 1] = ARGV[i] end
redis.call('HSET', job, unpack(fields))
for i = fields_then_errors_at + 2 * pairs_count, #ARGV do redis.call('RPUSH', errors, ARGV[i]) end
redis.call('PERSIST', input)
redis.call('ZADD', tenant_jobs, created_score, id)
redis.call('HSET', queued_by_list, list, id)
if not had_queue then redis.call('RPUSH', ring, tenant) end
redis.call('RPUSH', queue, id)
redis.call('INCR', depth)
return {1}
