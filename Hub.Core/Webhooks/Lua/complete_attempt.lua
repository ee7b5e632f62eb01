-- Records a delivery attempt, if the replica still holds its lease, and schedules the next one or ends the delivery.
-- KEYS: delivery, queue, attempts
-- ARGV: lease_token, status, next_due, attempt_json, id, retention
-- status is pending (due again at next_due, unix ms), delivered or failed (the delivery expires after retention seconds).
-- Answers 0 when the lease was lost (nothing written), else 1.
if redis.call('HGET', delivery, 'lease') ~= lease_token then return 0 end
redis.call('RPUSH', attempts, attempt_json)
redis.call('HSET', delivery, 'status', status, 'lease', '')
if status == 'pending' then
  redis.call('ZADD', queue, next_due, id)
  redis.call('HSET', delivery, 'nextAttemptAt', next_due)
else
  redis.call('ZREM', queue, id)
  redis.call('HDEL', delivery, 'nextAttemptAt')
  redis.call('EXPIRE', delivery, retention)
  redis.call('EXPIRE', attempts, retention)
end
return 1
