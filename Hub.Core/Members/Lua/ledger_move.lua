-- Fragment (see MemberRenamer and Events/record_event; needs Members/ledger_entry): moves one member's entries in one list's ledger from its old
-- subscriber hash to its new one, after its address changed in Mailchimp (the fingerprint, the hub-added mark and a
-- refusal), and remembers the move in the list's moved hash (hash to moved_value: new email \n unix ms), so a full sync
-- still listing the old address writes the new one. Moving again changes nothing.
local function move_in_ledger(ledger, refused, moved, hash, new_hash, moved_value)
  redis.call('HSET', moved, hash, moved_value)
  redis.call('HDEL', moved, new_hash)
  local fingerprint, hub_added = ledger_get(ledger, hash)
  if not fingerprint or hash == new_hash then return end
  local _, new_hub_added = ledger_get(ledger, new_hash)
  ledger_set(ledger, new_hash, fingerprint, hub_added or new_hub_added)
  ledger_delete(ledger, hash)
  local was_refused = redis.call('HGET', refused, hash)
  if was_refused then
    redis.call('HSET', refused, new_hash, was_refused)
    redis.call('HDEL', refused, hash)
  end
end
