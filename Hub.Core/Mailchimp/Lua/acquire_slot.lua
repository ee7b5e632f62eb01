-- Takes one of an account's concurrency slots for a holder, after dropping holders whose lease ran out.
-- KEYS: holders
-- ARGV: now, cap, lease_expires, holder, key_ttl
-- holders is a sorted set of holder ids scored by lease expiry (unix ms); key_ttl (ms) lets an idle account's set lapse.
-- Answers 1 when the slot was taken, 0 when all cap slots are held.
redis.call('ZREMRANGEBYSCORE', holders, '-inf', now)
if redis.call('ZCARD', holders) < tonumber(cap) then
  redis.call('ZADD', holders, lease_expires, holder)
  redis.call('PEXPIRE', holders, key_ttl)
  return 1
end
return 0
