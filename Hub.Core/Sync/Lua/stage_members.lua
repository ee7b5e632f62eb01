-- Stages one batch of a desired set: each member under its subscriber hash unless already there (a duplicate), and the
-- chunk field listing, in order, the members this batch added (empty when all were duplicates, so chunks stay contiguous).
-- A member with an external id: a second row with the same id is left out (the first wins, 'e:<id>' names it); one the
-- list's map (external: id to 'hash \n email') knows under another address gets a change of address, 'n:<i>' =
-- 'old hash \n old email \n new hash \n new email \n id' with 'n#' counting them; an id the map does not know is learnt.
-- Answers per member: 1 staged, 0 duplicate email, 2 duplicate external id, 3 staged with a change of address.
-- KEYS: desired, external
-- ARGV: ttl_seconds, chunk_field, ...members
-- members: hash, json, external id ('' for none), email; per member.
local written, order = {}, {}
for i = members_at, #ARGV, 4 do
  local hash, json, ext, email = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3]
  local result = 0
  if redis.call('HEXISTS', desired, hash) == 1 then
    result = 0
  elseif ext ~= '' and redis.call('HSETNX', desired, 'e:' .. ext, hash) == 0 then
    result = 2
  else
    redis.call('HSET', desired, hash, json)
    order[#order + 1] = hash
    result = 1
    if ext ~= '' then
      local known = redis.call('HGET', external, ext)
      if not known then
        redis.call('HSET', external, ext, hash .. '\n' .. email)
      elseif string.sub(known, 1, 32) ~= hash then
        local n = redis.call('HINCRBY', desired, 'n#', 1)
        redis.call('HSET', desired, 'n:' .. n, known .. '\n' .. hash .. '\n' .. email .. '\n' .. ext)
        result = 3
      end
    end
  end
  written[#written + 1] = result
end
redis.call('HSET', desired, chunk_field, table.concat(order))
redis.call('EXPIRE', desired, ttl_seconds)
return written
