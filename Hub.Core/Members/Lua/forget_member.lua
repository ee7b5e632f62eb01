-- Forgets one person in one list's records (an erasure, see Hub.Core/People): the fingerprint, the hub-added mark, a
-- refusal, a move from the address (its field) or to it (an entry whose new address it is), and the external ids that
-- still point at it. Forgetting again changes nothing. Answers how many entries it removed.
-- INCLUDE: Members/ledger_entry
-- KEYS: ledger, refused, moved, external
-- ARGV: hash, email, ...external_ids
-- email: the normalised (lower-case) address; external_ids: those the list's map was found to hold for hash (each is
-- removed only while it still does, so an id taken over by another address since stays).
local forgotten = ledger_delete(ledger, hash) + redis.call('HDEL', refused, hash) + redis.call('HDEL', moved, hash)
local entries = redis.call('HGETALL', moved)
for i = 1, #entries, 2 do
  local value = entries[i + 1]
  local newline = string.find(value, '\n', 1, true)
  if string.lower(newline and string.sub(value, 1, newline - 1) or value) == email then
    forgotten = forgotten + redis.call('HDEL', moved, entries[i])
  end
end
for i = external_ids_at, #ARGV do
  if string.sub(redis.call('HGET', external, ARGV[i]) or '', 1, 33) == hash .. '\n' then
    forgotten = forgotten + redis.call('HDEL', external, ARGV[i])
  end
end
return forgotten
