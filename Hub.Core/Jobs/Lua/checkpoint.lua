-- Stores a handler's checkpoint, if its worker still holds the lease.
-- KEYS: job
-- ARGV: token, checkpoint
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease is lost (nothing written), 2 when a cancel was requested, else 1.
if not job_lease_held(job, token) then return 0 end
return job_commit(job, checkpoint, 0, 0, 0, 0, 0, 0)
