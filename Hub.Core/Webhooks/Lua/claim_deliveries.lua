-- Claims up to max due webhook deliveries: each becomes due again at lease_until (if this replica dies) and takes the token.
-- KEYS: queue
-- ARGV: now, lease_until, max, delivery_prefix, lease_token
-- The delivery hashes are named here (delivery_prefix .. id), not passed in KEYS: their ids are only known once read.
-- Answers the claimed ids.
local ids = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'LIMIT', 0, tonumber(max))
for _, id in ipairs(ids) do
  redis.call('ZADD', queue, lease_until, id)
  redis.call('HSET', delivery_prefix .. id, 'lease', lease_token)
  redis.call('HINCRBY', delivery_prefix .. id, 'attempts', 1)
end
return ids
