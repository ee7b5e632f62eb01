-- Claims up to max tenants whose audience webhooks are due to be checked: each is due again at lease_until unless the replica
-- reschedules it (a replica that dies leaves it to another).
-- KEYS: due
-- ARGV: now, lease_until, max
local ids = redis.call('ZRANGEBYSCORE', due, '-inf', now, 'LIMIT', 0, tonumber(max))
for _, id in ipairs(ids) do redis.call('ZADD', due, lease_until, id) end
return ids
