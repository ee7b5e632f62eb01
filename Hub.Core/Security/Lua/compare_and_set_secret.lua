-- Replaces one secret's ciphertext only if it is still the one that was read (a re-encryption never overwrites a newer value).
-- KEYS: secrets
-- ARGV: name, expected, replacement
if redis.call('HGET', secrets, name) == expected then
  redis.call('HSET', secrets, name, replacement)
  return 1
end
return 0
