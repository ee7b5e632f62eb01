-- Schedules a claimed tenant's next check, unless its webhooks were scheduled again while it was being checked (a change of
-- its managed audiences or connection): that earlier time stands, so the change is never put off until the next check.
-- claimed_until is the score the claim gave the tenant.
-- KEYS: due
-- ARGV: tenant, claimed_until, next
local current = redis.call('ZSCORE', due, tenant)
if current and tonumber(current) == tonumber(claimed_until) then
  redis.call('ZADD', due, next, tenant)
  return 1
end
return 0
