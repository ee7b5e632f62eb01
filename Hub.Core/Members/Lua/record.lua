-- Records a batch applied outside a job (a single or inline member write) in the list's ledger; answers what changed.
-- KEYS: ledger, refused, synced_lists
-- ARGV: list_key, ...batch
-- INCLUDE: Members/ledger_entry, Members/ledger_apply
local c = apply_to_ledger(ledger, refused, synced_lists, list_key, batch_at, false, nil, function(_) end)
return {1, c.added, c.updated, c.removed, c.refused}
