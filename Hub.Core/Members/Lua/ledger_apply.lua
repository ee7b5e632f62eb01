-- Fragment (see MemberLedger; needs Members/ledger_entry): applies one batch to a list's ledger and answers what it changed.
-- The batch starts at ARGV[at]: nApplied, (hash, fingerprint, created)* with hash and fingerprint as bytes (16 and 8),
-- nRefused, (hash, fingerprint, errorJson)*, nReconciled, (hash, fingerprint, status)*, nRemoved, hash*, nUncounted,
-- errorJson*, then failedErrorJson* to the end; hashes and fingerprints outside the applied members in hex.
-- Outside a job (in_job false) the counts say what changed in the ledger. In a job they give one outcome per member of the
-- batch, so that the job's counts add up to its total (the checkpoint compare makes a batch count once): an applied member
-- already stored at its fingerprint is unchanged (added when the call that created it stored it: created = '1'), a refusal is
-- failed even when stored before, a removal is removed even when the ledger had none. push_error(json) keeps a member's error
-- with the job; job_input (the job's input hash) gets 'r:<hash>' = status for each reconciled member, and 'r#' then.
local function apply_to_ledger(ledger, refused, synced_lists, list_key, at, in_job, job_input, push_error)
  local added, updated, unchanged, removed, refused_count = 0, 0, 0, 0, 0
  redis.call('SADD', synced_lists, list_key)
  -- Nearly always no member of the list is refused: then there is nothing to clear per member.
  local any_refused = redis.call('EXISTS', refused) == 1
  local i = at
  local n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local field, fingerprint_bytes, created = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    ledger_check_applied(field, fingerprint_bytes)
    local value = redis.call('HGET', ledger, field)
    local previous = value and string.sub(value, 1, 8)
    local hub_added = ledger_hub_added(value)
    if previous ~= fingerprint_bytes then
      if previous then updated = updated + 1 else added = added + 1 end
    elseif in_job and created == '1' then
      added = added + 1
    else
      unchanged = unchanged + 1
    end
    if previous ~= fingerprint_bytes or (created == '1' and not hub_added) then
      redis.call('HSET', ledger, field, ledger_value(fingerprint_bytes, hub_added or created == '1'))
    end
    -- The refused hash is keyed in hex: a list that holds a refused member pays one conversion per applied member.
    if any_refused then redis.call('HDEL', refused, bytes_to_hex(field)) end
  end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local hash, fingerprint, json = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    if redis.call('HGET', refused, hash) ~= fingerprint then
      refused_count = refused_count + 1
      redis.call('HSET', refused, hash, fingerprint)
    end
    push_error(json)
  end
  any_refused = any_refused or n > 0
  if in_job then refused_count = n end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local hash, fingerprint, status = ARGV[i], ARGV[i + 1], ARGV[i + 2]
    i = i + 3
    redis.call('HSET', refused, hash, fingerprint)
    if in_job then redis.call('HSET', job_input, 'r:' .. hash, status) end
  end
  -- The job's plan reads reconciliation marks only once it holds one (Sync.DesiredSetChunks.ReconciledAny).
  if in_job and n > 0 then redis.call('HSET', job_input, 'r#', '1') end
  any_refused = any_refused or n > 0
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    local hash = ARGV[i]
    i = i + 1
    local deleted = ledger_delete(ledger, hash)
    if in_job then removed = removed + 1 else removed = removed + deleted end
    if any_refused then redis.call('HDEL', refused, hash) end
  end
  n = tonumber(ARGV[i]); i = i + 1
  for _ = 1, n do
    push_error(ARGV[i])
    i = i + 1
  end
  for j = i, #ARGV do push_error(ARGV[j]) end
  return {added = added, updated = updated, unchanged = unchanged, removed = removed, refused = refused_count}
end
-- The created members of the batch at ARGV[at] (applied, created = '1'), stored as Hub-added at their fingerprint and marked
-- in the job's input as 'c:<hash>' = fingerprint (unless the job has ended and its input is gone), so that a plan meeting
-- them again counts them added. What record_created does for a call whose chunk is recorded later, and what
-- record_for_job does when it cannot record its chunk (the lease is lost, the checkpoint moved): the contacts exist.
local function record_created_members(ledger, refused, synced_lists, list_key, at, job_input)
  redis.call('SADD', synced_lists, list_key)
  local any_refused = redis.call('EXISTS', refused) == 1
  local marks = {}
  local n = tonumber(ARGV[at])
  for k = 0, n - 1 do
    local i = at + 1 + 3 * k
    local field, fingerprint_bytes = ARGV[i], ARGV[i + 1]
    ledger_check_applied(field, fingerprint_bytes)
    if ARGV[i + 2] == '1' then
      local value = redis.call('HGET', ledger, field)
      local hash = bytes_to_hex(field)
      if not value or string.sub(value, 1, 8) ~= fingerprint_bytes or not ledger_hub_added(value) then
        redis.call('HSET', ledger, field, ledger_value(fingerprint_bytes, true))
      end
      if any_refused then redis.call('HDEL', refused, hash) end
      marks[#marks + 1] = 'c:' .. hash
      marks[#marks + 1] = bytes_to_hex(fingerprint_bytes)
    end
  end
  if #marks > 0 and redis.call('EXISTS', job_input) == 1 then
    redis.call('HSET', job_input, unpack(marks)) -- one call for the batch (at most 500 members, 1,000 arguments)
  end
end
