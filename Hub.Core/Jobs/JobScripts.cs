namespace Hub.Core.Jobs;

/// <summary>
/// The Lua scripts behind <see cref="JobStore"/>. Every key a script touches comes in KEYS and the time
/// comes in ARGV (from TimeProvider), so they run the same on Redis and Garnet. Timestamps are unix ms.
/// </summary>
internal static class JobScripts
{
    /// <summary>
    /// Ends a job: the shared tail of finishing and failing after lost leases. The job goes into the notify set in the
    /// same step, so its listeners are told even if the replica or the store fails right after.
    /// </summary>
    public const string FinishFunction = """
        local function finish_job(job, errors, running, leases, desired, id, list, state, now, reason, retention, notify)
          if state == 'succeeded' and tonumber(redis.call('HGET', job, 'failed') or '0') > 0 then state = 'partially_succeeded' end
          redis.call('HSET', job, 'state', state, 'finished', now)
          if reason ~= '' then redis.call('HSET', job, 'failure', reason) end
          redis.call('HDEL', job, 'leaseToken', 'leaseExpires')
          if redis.call('HGET', running, list) == id then redis.call('HDEL', running, list) end
          redis.call('ZREM', leases, id)
          redis.call('DEL', desired)
          redis.call('EXPIRE', job, retention)
          redis.call('EXPIRE', errors, retention)
          redis.call('ZADD', notify, now, id)
          return state
        end

        """;

    /// <summary>Counts member errors and keeps them up to a cap: ARGV[first..#ARGV] are JSON errors.</summary>
    public const string PushErrorsFunction = """
        local function push_errors(job, errors, cap, first)
          for i = first, #ARGV do
            redis.call('HINCRBY', job, 'errorTotal', 1)
            if redis.call('LLEN', errors) < cap then redis.call('RPUSH', errors, ARGV[i]) end
          end
        end

        """;

    // KEYS: job, queue, ring, tenantJobs, queuedByList, desired, oldJob, oldDesired, depth, errors, oldErrors, notify
    // ARGV: id, tenant, list, expectedQueuedId, now, createdScore, retention, fieldPairs, fields..., errors...
    public const string Enqueue = """
        local current = redis.call('HGET', KEYS[5], ARGV[3]) or ''
        if current ~= ARGV[4] then return {-1} end
        if redis.call('EXISTS', KEYS[1]) == 1 then return {-2} end
        local had_queue = redis.call('LLEN', KEYS[2]) > 0
        if current ~= '' then
          redis.call('LREM', KEYS[2], 0, current)
          redis.call('HSET', KEYS[7], 'state', 'cancelled', 'finished', ARGV[5], 'supersededBy', ARGV[1])
          redis.call('DEL', KEYS[8])
          redis.call('EXPIRE', KEYS[7], ARGV[7])
          redis.call('EXPIRE', KEYS[11], ARGV[7])
          redis.call('DECR', KEYS[9])
          redis.call('ZADD', KEYS[12], ARGV[5], current)
        end
        local pairs_count = tonumber(ARGV[8])
        local fields = {}
        for i = 9, 8 + 2 * pairs_count do fields[#fields + 1] = ARGV[i] end
        redis.call('HSET', KEYS[1], unpack(fields))
        for i = 9 + 2 * pairs_count, #ARGV do redis.call('RPUSH', KEYS[10], ARGV[i]) end
        redis.call('PERSIST', KEYS[6])
        redis.call('ZADD', KEYS[4], ARGV[6], ARGV[1])
        redis.call('HSET', KEYS[5], ARGV[3], ARGV[1])
        if not had_queue then redis.call('RPUSH', KEYS[3], ARGV[2]) end
        redis.call('RPUSH', KEYS[2], ARGV[1])
        redis.call('INCR', KEYS[9])
        return {1}
        """;

    // KEYS: ring, queue, job, runningByList, leases, queuedByList, depth
    // ARGV: tenant, id, list, now, leaseExpires, token
    public const string Claim = """
        if redis.call('HGET', KEYS[3], 'state') ~= 'queued' then return 0 end
        if redis.call('HEXISTS', KEYS[4], ARGV[3]) == 1 then return 0 end
        if redis.call('LREM', KEYS[2], 1, ARGV[2]) == 0 then return 0 end
        redis.call('LREM', KEYS[1], 0, ARGV[1])
        if redis.call('LLEN', KEYS[2]) > 0 then redis.call('RPUSH', KEYS[1], ARGV[1]) end
        if redis.call('HGET', KEYS[6], ARGV[3]) == ARGV[2] then redis.call('HDEL', KEYS[6], ARGV[3]) end
        redis.call('HSET', KEYS[4], ARGV[3], ARGV[2])
        redis.call('HSET', KEYS[3], 'state', 'running', 'leaseToken', ARGV[6], 'leaseExpires', ARGV[5])
        redis.call('HSETNX', KEYS[3], 'started', ARGV[4])
        redis.call('HINCRBY', KEYS[3], 'attempts', 1)
        redis.call('ZADD', KEYS[5], ARGV[5], ARGV[2])
        redis.call('DECR', KEYS[7])
        return 1
        """;

    // KEYS: ring, queue   ARGV: tenant
    public const string RotateTenant = """
        if redis.call('LLEN', KEYS[2]) == 0 then
          redis.call('LREM', KEYS[1], 0, ARGV[1])
        elseif redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then
          redis.call('LPOP', KEYS[1])
          redis.call('RPUSH', KEYS[1], ARGV[1])
        end
        return 1
        """;

    // KEYS: job, runningByList, leases, desired, errors, notify
    // ARGV: id, now, leaseExpires, token, maxAttempts, retention, list, failureReason
    public const string TakeOver = FinishFunction + """
        if redis.call('HGET', KEYS[1], 'state') ~= 'running' then
          redis.call('ZREM', KEYS[3], ARGV[1])
          return 0
        end
        if tonumber(redis.call('HGET', KEYS[1], 'leaseExpires') or '0') > tonumber(ARGV[2]) then return 0 end
        local lost = tonumber(redis.call('HGET', KEYS[1], 'attempts') or '0') - tonumber(redis.call('HGET', KEYS[1], 'releases') or '0')
        if lost >= tonumber(ARGV[5]) then
          finish_job(KEYS[1], KEYS[5], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ARGV[7], 'failed', ARGV[2], ARGV[8], ARGV[6], KEYS[6])
          return 2
        end
        redis.call('HSET', KEYS[1], 'leaseToken', ARGV[4], 'leaseExpires', ARGV[3])
        redis.call('HINCRBY', KEYS[1], 'attempts', 1)
        redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
        return 1
        """;

    // KEYS: job, leases   ARGV: id, token, leaseExpires
    public const string Renew = """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[2] then return 0 end
        redis.call('HSET', KEYS[1], 'leaseExpires', ARGV[3])
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 2 end
        return 1
        """;

    // KEYS: job   ARGV: token, checkpoint
    public const string Checkpoint = """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[1] then return 0 end
        redis.call('HSET', KEYS[1], 'checkpoint', ARGV[2])
        if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 2 end
        return 1
        """;

    // KEYS: job   ARGV: token, total, added, updated, removed, unchanged, failed
    public const string AddCounts = """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[1] then return 0 end
        local names = {'total', 'added', 'updated', 'removed', 'unchanged', 'failed'}
        for i, name in ipairs(names) do
          if ARGV[i + 1] ~= '0' then redis.call('HINCRBY', KEYS[1], name, ARGV[i + 1]) end
        end
        if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 2 end
        return 1
        """;

    // KEYS: job, errors   ARGV: token, cap, errors...
    public const string RecordErrors = PushErrorsFunction + """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[1] then return 0 end
        push_errors(KEYS[1], KEYS[2], tonumber(ARGV[2]), 3)
        if redis.call('HGET', KEYS[1], 'cancel') == '1' then return 2 end
        return 1
        """;

    // KEYS: notify   ARGV: now, retryAt, count
    // Takes up to count jobs whose listeners are due to be told (again), and puts each off to retryAt, so two replicas
    // do not tell the same job at once; whoever tells it removes it.
    public const string TakeDueNotifications = """
        local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
        for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], id) end
        return due
        """;

    /// <summary>What <see cref="Finish"/> answers when a success's counts do not add up to its total.</summary>
    public const string Inconsistent = "!inconsistent";

    // KEYS: job, errors, runningByList, leases, desired, notify
    // ARGV: id, list, token, state, now, reason, retention
    public const string Finish = FinishFunction + """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[3] then return nil end
        if ARGV[4] == 'succeeded' then
          local function count(field) return tonumber(redis.call('HGET', KEYS[1], field) or '0') end
          if count('added') + count('updated') + count('unchanged') + count('removed') + count('failed') ~= count('total') then
            return '!inconsistent'
          end
        end
        return finish_job(KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], ARGV[1], ARGV[2], ARGV[4], ARGV[5], ARGV[6], ARGV[7], KEYS[6])
        """;

    // KEYS: job, errors   ARGV: token, maxReplans
    // The job's 'initial' field holds what it was enqueued with: total added updated removed unchanged failed errorTotal errorsKept
    // (a job enqueued by an older Hub has none: its total and errors stay, its other counts start from zero).
    public const string Replan = """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[1] then return 0 end
        local replans = tonumber(redis.call('HGET', KEYS[1], 'replans') or '0')
        if replans >= tonumber(ARGV[2]) then return 0 end
        local initial = redis.call('HGET', KEYS[1], 'initial') or table.concat({redis.call('HGET', KEYS[1], 'total') or '0', 0, 0, 0, 0, 0,
          redis.call('HGET', KEYS[1], 'errorTotal') or '0', redis.call('LLEN', KEYS[2])}, ' ')
        local v = {}
        for number in string.gmatch(initial, '%S+') do v[#v + 1] = number end
        redis.call('HSET', KEYS[1], 'total', v[1], 'added', v[2], 'updated', v[3], 'removed', v[4], 'unchanged', v[5], 'failed', v[6], 'errorTotal', v[7])
        if tonumber(v[8]) == 0 then redis.call('DEL', KEYS[2]) else redis.call('LTRIM', KEYS[2], 0, tonumber(v[8]) - 1) end
        redis.call('HDEL', KEYS[1], 'checkpoint')
        redis.call('HINCRBY', KEYS[1], 'replans', 1)
        return replans + 1
        """;

    // KEYS: job, leases   ARGV: id, token, now
    public const string Release = """
        if redis.call('HGET', KEYS[1], 'leaseToken') ~= ARGV[2] then return 0 end
        redis.call('HDEL', KEYS[1], 'leaseToken')
        redis.call('HSET', KEYS[1], 'leaseExpires', ARGV[3])
        redis.call('HINCRBY', KEYS[1], 'releases', 1)
        redis.call('ZADD', KEYS[2], ARGV[3], ARGV[1])
        return 1
        """;

    // KEYS: job, queue, ring, queuedByList, desired, depth, errors, notify
    // ARGV: id, tenant, list, now, retention
    public const string Cancel = """
        local state = redis.call('HGET', KEYS[1], 'state')
        if state == 'queued' then
          redis.call('LREM', KEYS[2], 0, ARGV[1])
          if redis.call('LLEN', KEYS[2]) == 0 then redis.call('LREM', KEYS[3], 0, ARGV[2]) end
          if redis.call('HGET', KEYS[4], ARGV[3]) == ARGV[1] then redis.call('HDEL', KEYS[4], ARGV[3]) end
          redis.call('HSET', KEYS[1], 'state', 'cancelled', 'finished', ARGV[4], 'cancel', '1')
          redis.call('DEL', KEYS[5])
          redis.call('DECR', KEYS[6])
          redis.call('EXPIRE', KEYS[1], ARGV[5])
          redis.call('EXPIRE', KEYS[7], ARGV[5])
          redis.call('ZADD', KEYS[8], ARGV[4], ARGV[1])
          return 1
        elseif state == 'running' then
          redis.call('HSET', KEYS[1], 'cancel', '1')
          return 2
        elseif state then
          return 3
        end
        return 0
        """;
}
