-- The job record: the hash job:{id} that Hub.Core/Jobs owns, and the lease-checked steps every writer to it shares.
-- A fragment (no header of its own): the job scripts include it, and so does the member ledger's job-bound script (Members/Lua/record_for_job.lua).
-- The C# side of the same schema is Hub.Core/Jobs/JobRecord.cs; the field names are spelled here and there only.
--
-- Fields of the job hash, in the groups JobRecord.cs declares them in:
-- who and what
--   id              the job id (job_...)
--   tenant          the tenant id (tn_...)
--   kind            the handler's kind, e.g. sync
--   list            the list key the job works on (one queued and one running job per list)
--   argument        the free-form argument the job was queued with
--   queuedBy        the trace context (W3C traceparent) of the request that queued it ('' when none)
-- where it stands
--   state           queued, running, succeeded, partially_succeeded, failed or cancelled
--   created         when it was queued (unix ms)
--   started         when a worker first claimed it (unix ms)
--   finished        when it ended (unix ms)
--   failure         why it failed (a code or a sentence)
--   supersededBy    the newer job for the same list that cancelled it while it was queued
-- who runs it
--   leaseToken      the token of the worker that holds it (changes on every pick-up)
--   leaseExpires    when that lease runs out (unix ms)
--   attempts        how often a worker picked it up (a claim or a take-over)
--   releases        how many of those pick-ups ended in a graceful release (not counted as lost)
--   cancel          '1' once a cancel was requested
-- how far it got
--   checkpoint      the handler's last saved checkpoint ('' or missing: none)
--   total           members the job is to process
--   added           members added
--   updated         members updated
--   removed         members removed
--   unchanged       members left as they were
--   failed          members that failed
-- errors and replans
--   errorTotal      member errors reported (the first ones are kept in the job's errors list, up to a cap)
--   initial         the counts it was queued with: total added updated removed unchanged failed errorTotal errorsKept
--   replans         how often it was planned again from the start
--
-- Every function takes the job hash's key; none reads the clock (times come in ARGV).

-- True when the worker holding token still holds the job's lease.
local function job_lease_held(job, token)
  return redis.call('HGET', job, 'leaseToken') == token
end

-- True when the stored checkpoint ('' when there is none) is the expected one.
local function job_checkpoint_is(job, expected)
  return (redis.call('HGET', job, 'checkpoint') or '') == expected
end

-- Counts one member error and keeps its JSON in the errors list while that holds fewer than cap.
local function job_push_error(job, errors, cap, json)
  redis.call('HINCRBY', job, 'errorTotal', 1)
  if redis.call('LLEN', errors) < tonumber(cap) then redis.call('RPUSH', errors, json) end
end

-- Ends a lease-checked write: stores the checkpoint (nil keeps the stored one), adds the six counts (zeros are
-- skipped), and answers 2 when a cancel was requested, else 1.
local function job_commit(job, checkpoint, total, added, updated, removed, unchanged, failed)
  if checkpoint then redis.call('HSET', job, 'checkpoint', checkpoint) end
  local counts = {total, added, updated, removed, unchanged, failed}
  for i, field in ipairs({'total', 'added', 'updated', 'removed', 'unchanged', 'failed'}) do
    if tonumber(counts[i]) ~= 0 then redis.call('HINCRBY', job, field, counts[i]) end
  end
  if redis.call('HGET', job, 'cancel') == '1' then return 2 end
  return 1
end
