-- Fragment (see MemberRenamer and Events/record_event; needs Members/ledger_entry): moves one member's entries in one list's ledger from its old
-- subscriber hash to its new one, after its address changed in Mailchimp (the fingerprint, the hub-added mark and a
-- refusal), and remembers the move in the list's moved hash (hash to moved_value: new email \n unix ms), so a full sync
-- still listing the old address writes the new one. Moving again changes nothing.
local function move_in_ledger(ledger, refused, moved, hash, new_hash, moved_value)
  redis.call('HSET', moved, hash, moved_value)
  redis.call('HDEL', moved, new_hash)
  local field, value = ledger_read(ledger, hash)
  if not value or hash == new_hash then return end
  local new_field, new_value = ledger_read(ledger, new_hash)
  redis.call('HSET', ledger, new_field, ledger_value(string.sub(value, 1, 8), ledger_hub_added(value) or ledger_hub_added(new_value)))
  redis.call('HDEL', ledger, field)
  local was_refused = redis.call('HGET', refused, hash)
  if was_refused then
    redis.call('HSET', refused, new_hash, was_refused)
    redis.call('HDEL', refused, hash)
  end
end
