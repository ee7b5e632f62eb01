-- Records one member event for a tenant, once: applies it to the ledger of each list in the audience (an unsubscribe or clean
-- marks the member refused at its fingerprint, so no sync writes it again until the host's data changes; a subscribe clears
-- that; an email change moves the member's entries to the new address and remembers the move), then appends the event to
-- the tenant's log with the list keys that held the member, under a cursor (unix ms x 1000, kept increasing).
-- Recording the same event id again changes nothing and answers what was recorded the first time.
-- KEYS: events, recorded, ...lists
-- ARGV: kind, hash, new_hash, moved_value, now, retention_ms, json_head, ...list_names
-- lists: per list, in list_names' order, its ledger, refused and moved keys.
-- json_head: the event's JSON up to (and with a comma before) the list keys. Answers {cursor, json}.
-- INCLUDE: Members/ledger_entry, Members/ledger_move
local existing = redis.call('GET', recorded)
if existing then
  local items = redis.call('ZRANGEBYSCORE', events, existing, existing)
  return {existing, items[1] or ''}
end
local held = {}
for j = 0, #ARGV - list_names_at do
  local k = lists_at + 3 * j
  local ledger, refused, moved = KEYS[k], KEYS[k + 1], KEYS[k + 2]
  local fingerprint = ledger_get(ledger, hash)
  if fingerprint then
    held[#held + 1] = '"' .. ARGV[list_names_at + j] .. '"'
    if kind == 'unsubscribe' or kind == 'cleaned' then
      redis.call('HSET', refused, hash, fingerprint)
    elseif kind == 'subscribe' then
      redis.call('HDEL', refused, hash)
    elseif kind == 'upemail' and new_hash ~= hash then
      move_in_ledger(ledger, refused, moved, hash, new_hash, moved_value)
    end
  end
end
local cursor = tonumber(now) * 1000
local last = redis.call('ZRANGE', events, -1, -1, 'WITHSCORES')
if last[2] and tonumber(last[2]) >= cursor then cursor = tonumber(last[2]) + 1 end
local cursor_text = string.format('%.0f', cursor)
local json = json_head .. '"listKeys":[' .. table.concat(held, ',') .. '],"cursor":"' .. cursor_text .. '"}'
redis.call('ZADD', events, cursor_text, json)
redis.call('ZREMRANGEBYSCORE', events, '-inf', '(' .. string.format('%.0f', (tonumber(now) - tonumber(retention_ms)) * 1000))
redis.call('PEXPIRE', events, retention_ms)
redis.call('SET', recorded, cursor_text, 'PX', retention_ms)
return {cursor_text, json}
