-- Extends a holder's lease on its concurrency slot; only a holder still present is renewed.
-- KEYS: holders
-- ARGV: lease_expires, holder, key_ttl
-- Answers 1 when renewed, 0 when the holder is gone (its lease had run out).
if redis.call('ZSCORE', holders, holder) then
  redis.call('ZADD', holders, lease_expires, holder)
  redis.call('PEXPIRE', holders, key_ttl)
  return 1
end
return 0
