-- Takes up to count finished jobs whose listeners are due to be told (again), and puts each off to retry_at, so two
-- replicas do not tell the same job at once; whoever tells it removes it from the set.
-- KEYS: notify
-- ARGV: due_by, retry_at, count
local due = redis.call('ZRANGEBYSCORE', notify, '-inf', due_by, 'LIMIT', 0, tonumber(count))
for _, id in ipairs(due) do redis.call('ZADD', notify, retry_at, id) end
return due
