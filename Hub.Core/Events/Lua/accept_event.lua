-- Keeps one event Mailchimp delivered, for processing after the receiver has answered; a repeated delivery (the same id) changes nothing.
-- KEYS: seen, inbound, due
-- ARGV: event_id, tenant, audience, fields, now, retention_ms
-- Answers 1 when the event is new, 0 when it was received before.
if not redis.call('SET', seen, '1', 'NX', 'PX', retention_ms) then return 0 end
redis.call('HSET', inbound, 'tenant', tenant, 'audience', audience, 'fields', fields, 'receivedAt', now, 'attempts', 0)
redis.call('ZADD', due, now, event_id)
return 1
