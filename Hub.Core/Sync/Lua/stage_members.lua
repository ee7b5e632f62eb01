-- Stages one batch of a desired set: each member under its subscriber hash unless already there (a duplicate), and the
-- chunk field listing, in order, the members this batch added (empty when all were duplicates, so chunks stay contiguous).
-- A member with an external id (the caller has left out rows whose id an earlier row had): one the list's map (external:
-- id to 'hash \n email') knows under another address gets a change of address, 'n:<i>' =
-- 'old hash \n old email \n new hash \n new email \n id' with 'n#' counting them; an id the map does not know is learnt.
-- The ids of a batch are read and written in one call each, so a member costs one call as without ids.
-- A member with json '' is kept: an invalid row whose address is readable, held (not in any chunk) so the sync neither
-- writes nor removes it; a later valid row of that address replaces it.
-- A member whose mark (see Members/ErasedPeople) is in the tenant's erased hash is not staged at all (its address is erased).
-- Answers per member: 1 staged, 0 duplicate email, 3 staged with a change of address, 4 kept, or the id of the erasure
-- that erased it.
-- KEYS: desired, external, erased
-- ARGV: ttl_seconds, chunk_field, ...members
-- members: hash, json ('' to keep), external id ('' for none), email, mark ('' when the tenant has erased no one); per member.
local ids = {}
for i = members_at, #ARGV, 5 do
  if ARGV[i + 2] ~= '' then ids[#ids + 1] = ARGV[i + 2] end
end
local known = {}
if #ids > 0 then
  local knowns = redis.call('HMGET', external, unpack(ids))
  for j, id in ipairs(ids) do
    if knowns[j] then known[id] = knowns[j] end
  end
end
local written, order, learnt, renames = {}, {}, {}, {}
for i = members_at, #ARGV, 5 do
  local hash, json, ext, email, mark = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4]
  local result
  local erasure = mark ~= '' and redis.call('HGET', erased, mark)
  local fresh = false
  if not erasure then
    fresh = redis.call('HSETNX', desired, hash, json) == 1
    if not fresh and json ~= '' and redis.call('HGET', desired, hash) == '' then
      redis.call('HSET', desired, hash, json)
      fresh = true
    end
  end
  if erasure then
    result = erasure
  elseif json == '' then
    result = 4
  elseif not fresh then
    result = 0
  else
    order[#order + 1] = hash
    result = 1
    if ext ~= '' then
      local was = known[ext]
      if not was then
        learnt[#learnt + 1] = ext
        learnt[#learnt + 1] = hash .. '\n' .. email
      elseif string.sub(was, 1, 32) ~= hash then
        renames[#renames + 1] = was .. '\n' .. hash .. '\n' .. email .. '\n' .. ext
        result = 3
      end
    end
  end
  written[#written + 1] = result
end
if #learnt > 0 then redis.call('HSET', external, unpack(learnt)) end
for _, rename in ipairs(renames) do
  local n = redis.call('HINCRBY', desired, 'n#', 1)
  redis.call('HSET', desired, 'n:' .. n, rename)
end
redis.call('HSET', desired, chunk_field, table.concat(order))
redis.call('EXPIRE', desired, ttl_seconds)
return written
