-- Numbers the members of a set staged by an older Hub, which kept no chunks: once, atomically, in the hash's own order.
-- Members only (32 hex characters), in chunks of chunk_size.
-- KEYS: desired
-- ARGV: chunk_size
if redis.call('HEXISTS', desired, '#0') == 1 or redis.call('EXISTS', desired) == 0 then return 0 end
local chunk, order = 0, {}
for _, field in ipairs(redis.call('HKEYS', desired)) do
  if string.len(field) == 32 and not string.find(field, '[^0-9a-f]') then
    order[#order + 1] = field
    if #order == tonumber(chunk_size) then
      redis.call('HSET', desired, '#' .. chunk, table.concat(order))
      chunk, order = chunk + 1, {}
    end
  end
end
if #order > 0 then redis.call('HSET', desired, '#' .. chunk, table.concat(order)) end
return 1
