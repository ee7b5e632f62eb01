-- Ends a claimed event (next_at empty: done, its hash deleted) or makes it due again at next_at, only while the lease is held.
-- KEYS: inbound, due
-- ARGV: event_id, lease_token, next_at
-- Answers 1, or 0 when another replica took the event over.
if redis.call('HGET', inbound, 'lease') ~= lease_token then return 0 end
if next_at == '' then
  redis.call('DEL', inbound)
  redis.call('ZREM', due, event_id)
else
  redis.call('HDEL', inbound, 'lease')
  redis.call('ZADD', due, next_at, event_id)
end
return 1
