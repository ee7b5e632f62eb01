-- Flips a connection from connected to reauthorization_required exactly once, however many callers see the 401.
-- KEYS: connection
-- Answers 1 when this call flipped it, 0 when it was not connected.
if redis.call('HGET', connection, 'state') == 'connected' then
  redis.call('HSET', connection, 'state', 'reauthorization_required')
  return 1
end
return 0
