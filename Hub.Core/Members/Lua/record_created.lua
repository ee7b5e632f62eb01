-- Records at once the contacts a job's call created when their chunk cannot be recorded with them (an earlier chunk is not
-- recorded yet, or the call was followed by others), and marks each in the job's input as 'c:<hash>' = fingerprint (unless
-- the job has ended and its input is gone), so the plan counts it added.
-- KEYS: ledger, refused, synced_lists, job_input
-- ARGV: list_key, ...batch
-- INCLUDE: Members/ledger_entry, Members/ledger_apply
record_created_members(ledger, refused, synced_lists, list_key, batch_at, job_input)
return 1
