-- Claims up to max due items of a queue (webhook deliveries, received Mailchimp events): each becomes due again at lease_until
-- (if this replica dies), and its hash (item_prefix .. id) takes the lease token and counts the attempt.
-- KEYS: queue
-- ARGV: now, lease_until, max, item_prefix, lease_token
-- The item hashes are named here, not passed in KEYS: their ids are only known once read.
-- Answers the claimed ids.
local ids = redis.call('ZRANGEBYSCORE', queue, '-inf', now, 'LIMIT', 0, tonumber(max))
for _, id in ipairs(ids) do
  redis.call('ZADD', queue, lease_until, id)
  redis.call('HSET', item_prefix .. id, 'lease', lease_token)
  redis.call('HINCRBY', item_prefix .. id, 'attempts', 1)
end
return ids
