-- Records that a contact's address changed from hash to new_hash (Hub changed it in Mailchimp): every list of the tenant in
-- the audience moves its ledger entries and remembers the move (a full sync still listing the old address writes the new
-- one), and the list that asked maps the member's external id to the new address. Recording again changes nothing.
-- KEYS: external, ...lists
-- ARGV: hash, new_hash, new_email, moved_value, external_id
-- lists: per list, its ledger, refused and moved keys.
-- INCLUDE: Members/ledger_entry, Members/ledger_move
for k = lists_at, #KEYS, 3 do
  move_in_ledger(KEYS[k], KEYS[k + 1], KEYS[k + 2], hash, new_hash, moved_value)
end
if external_id ~= '' then redis.call('HSET', external, external_id, new_hash .. '\n' .. new_email) end
return 1
