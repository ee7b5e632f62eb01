-- Records a batch of a running job in the list's ledger and, in the same step, moves the job's checkpoint from the expected one
-- to the next and adds its counts and member errors, only while the worker holds the lease. Answers {0} when the lease is gone,
-- {3} when the stored checkpoint is not the expected one (the store lost writes: nothing is written, the worker plans again
-- from the stored checkpoint), {2} when a cancel was requested, else {1}. When it answers {0} or {3} it still stores the
-- batch's created contacts the way record_created does: a run records a call's created contacts with its chunk when it
-- can, and they exist whatever becomes of the chunk.
-- KEYS: ledger, refused, synced_lists, job, job_errors, job_input
-- ARGV: token, expected_checkpoint, next_checkpoint, unchanged, failed, error_cap, list_key, adds_to_total, added_earlier, ...batch
-- INCLUDE: Jobs/job_record, Members/ledger_entry, Members/ledger_apply
if not job_lease_held(job, token) then
  record_created_members(ledger, refused, synced_lists, list_key, batch_at, job_input)
  return {0}
end
if not job_checkpoint_is(job, expected_checkpoint) then
  record_created_members(ledger, refused, synced_lists, list_key, batch_at, job_input)
  return {3}
end
local cap = tonumber(error_cap)
local c = apply_to_ledger(ledger, refused, synced_lists, list_key, batch_at, true, job_input,
  function(json) job_push_error(job, job_errors, cap, json) end)
return {job_commit(job, next_checkpoint, tonumber(adds_to_total), c.added + tonumber(added_earlier), c.updated, c.removed,
  c.unchanged + tonumber(unchanged), c.refused + tonumber(failed))}
