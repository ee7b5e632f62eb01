-- Records member errors of a job (each counted, the first ones kept up to cap), if its worker still holds the lease.
-- KEYS: job, errors
-- ARGV: token, cap, ...error_json
-- INCLUDE: Jobs/job_record
-- Answers 0 when the lease is lost (nothing written), 2 when a cancel was requested, else 1.
if not job_lease_held(job, token) then return 0 end
for i = error_json_at, #ARGV do job_push_error(job, errors, cap, ARGV[i]) end
return job_commit(job, nil, 0, 0, 0, 0, 0, 0)
