-- Records at once the contacts a job's call created (before their chunk is recorded in plan order), and marks each in the
-- job's input as 'c:<hash>' = fingerprint (unless the job has ended and its input is gone), so the plan counts it added.
-- KEYS: ledger, refused, synced_lists, job_input
-- ARGV: list_key, ...batch
-- INCLUDE: Members/ledger_entry, Members/ledger_apply
local created = tonumber(ARGV[batch_at])
if created > 0 and redis.call('EXISTS', job_input) == 1 then
  local marks = {}
  for k = 0, created - 1 do
    marks[#marks + 1] = 'c:' .. ARGV[batch_at + 1 + 3 * k]
    marks[#marks + 1] = ARGV[batch_at + 2 + 3 * k]
  end
  redis.call('HSET', job_input, unpack(marks)) -- one call for the batch (at most 500 members, 1,000 arguments)
end
apply_to_ledger(ledger, refused, synced_lists, list_key, batch_at, false, nil, function(_) end)
return 1
