-- Cancels a queued job at once, or flags a running one for its worker (which stops at its next write or renewal).
-- KEYS: job, queue, ring, queued_by_list, input, depth, errors, notify
-- ARGV: id, tenant, list, now, retention
-- Answers 1 when cancelled, 2 when a cancel was requested, 3 when it had finished already, 0 when there is no job.
local state = redis.call('HGET', job, 'state')
if state == 'queued' then
  redis.call('LREM', queue, 0, id)
  if redis.call('LLEN', queue) == 0 then redis.call('LREM', ring, 0, tenant) end
  if redis.call('HGET', queued_by_list, list) == id then redis.call('HDEL', queued_by_list, list) end
  redis.call('HSET', job, 'state', 'cancelled', 'finished', now, 'cancel', '1')
  redis.call('UNLINK', input) -- the staged set: UNLINK frees it off Redis's main thread (DEL of 100,000 members blocked it 39 ms)
  redis.call('DECR', depth)
  redis.call('EXPIRE', job, retention)
  redis.call('EXPIRE', errors, retention)
  redis.call('ZADD', notify, now, id)
  return 1
elseif state == 'running' then
  redis.call('HSET', job, 'cancel', '1')
  return 2
elseif state then
  return 3
end
return 0
