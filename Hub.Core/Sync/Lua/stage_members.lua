-- Stages one batch of a desired set: each member under its subscriber hash unless already there (a duplicate), and the
-- chunk field listing, in order, the members this batch added (empty when all were duplicates, so chunks stay contiguous).
-- Returns 1 per member written, 0 per duplicate.
-- KEYS: desired
-- ARGV: ttl_seconds, chunk_field, ...members
local written, order = {}, {}
for i = members_at, #ARGV, 2 do
  local new = redis.call('HSETNX', desired, ARGV[i], ARGV[i + 1])
  written[#written + 1] = new
  if new == 1 then order[#order + 1] = ARGV[i] end
end
redis.call('HSET', desired, chunk_field, table.concat(order))
redis.call('EXPIRE', desired, ttl_seconds)
return written
