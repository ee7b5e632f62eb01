-- Resets a running job to how it was queued (counts, kept errors, no checkpoint) so its handler plans it again.
-- KEYS: job, errors
-- ARGV: token, max_replans
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease is lost or the job was planned again max_replans times already, else the number of replans.
-- The 'initial' field holds what the job was queued with: total added updated removed unchanged failed errorTotal
-- errorsKept (a job queued by an older Hub has none: its total and errors stay, its other counts start from zero).
if not job_lease_held(job, token) then return 0 end
local replans = tonumber(redis.call('HGET', job, 'replans') or '0')
if replans >= tonumber(max_replans) then return 0 end
local initial = redis.call('HGET', job, 'initial') or table.concat({redis.call('HGET', job, 'total') or '0', 0, 0, 0, 0, 0,
  redis.call('HGET', job, 'errorTotal') or '0', redis.call('LLEN', errors)}, ' ')
local v = {}
for number in string.gmatch(initial, '%S+') do v[#v + 1] = number end
redis.call('HSET', job, 'total', v[1], 'added', v[2], 'updated', v[3], 'removed', v[4], 'unchanged', v[5], 'failed', v[6], 'errorTotal', v[7])
if tonumber(v[8]) == 0 then redis.call('DEL', errors) else redis.call('LTRIM', errors, 0, tonumber(v[8]) - 1) end
redis.call('HDEL', job, 'checkpoint')
redis.call('HINCRBY', job, 'replans', 1)
return replans + 1
