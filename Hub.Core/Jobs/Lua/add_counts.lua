-- Adds to a job's member counts, if its worker still holds the lease.
-- KEYS: job
-- ARGV: token, total, added, updated, removed, unchanged, failed
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease is lost (nothing written), 2 when a cancel was requested, else 1.
if not job_lease_held(job, token) then return 0 end
return job_commit(job, nil, total, added, updated, removed, unchanged, failed)
