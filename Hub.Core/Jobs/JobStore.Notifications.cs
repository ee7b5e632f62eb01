using Hub.Core.Storage;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

// Telling the completion listeners (IJobCompletionListener) that a job ended. A job enters the notify set in the same
// script that ends it, and leaves it once every listener answered, so a replica or store failure in between only
// delays the telling.
public sealed partial class JobStore
{
    private const int NotificationsPerSweep = 20;

    private static readonly RedisScript TakeDueNotificationsScript = RedisScript.Load("Jobs", "take_due_notifications");

    private readonly ShardTurns _notifyTurns = new();

    /// <summary>
    /// Tells the listeners of finished jobs that were not (all) told yet: a replica or the store failed between the end
    /// of the job and the listeners' answers. Called by idle workers; a job is re-told no sooner than
    /// <paramref name="grace"/> after it ended (or was last tried), and listeners must be idempotent (the sync webhook
    /// keeps one delivery id per job).
    /// </summary>
    public async Task<int> NotifyOverdueAsync(TimeSpan grace, CancellationToken cancellationToken)
    {
        var told = 0;
        foreach (var shard in await _notifyTurns.DueAsync(Db, keys.JobsToNotify, NowMs - (long)grace.TotalMilliseconds))
        {
            _notifyTurns.Served(shard);
            var now = NowMs;
            var due = (RedisValue[])(await TakeDueNotificationsScript.EvaluateAsync(Db, [keys.JobsToNotify(shard)],
                now - (long)grace.TotalMilliseconds, now, NotificationsPerSweep))!;
            foreach (var id in due)
            {
                if (JobId.TryParse(id.ToString(), out var job))
                {
                    LogRenotifying(logger, job);
                    await NotifyAsync(shard, job, cancellationToken);
                }
                else
                {
                    await Db.SortedSetRemoveAsync(keys.JobsToNotify(shard), id);
                }
            }

            told += due.Length;
        }

        return told;
    }

    /// <summary>Tells every listener that the job ended; once all answered, takes the job out of the notify set (a failure leaves it there for <see cref="NotifyOverdueAsync"/>).</summary>
    private async Task<Job?> NotifyAsync(int shard, JobId id, CancellationToken cancellationToken)
    {
        var job = await GetAsync(shard, id, includeErrors: true, cancellationToken);
        if (job is null)
        {
            await Db.SortedSetRemoveAsync(keys.JobsToNotify(shard), id.ToString());
            return null;
        }

        var told = true;
        foreach (var listener in listeners)
        {
            try
            {
                await listener.OnJobFinishedAsync(job, cancellationToken);
            }
            catch (Exception exception) when (exception is not OperationCanceledException)
            {
                told = false;
                LogListenerFailed(logger, exception, id, listener.GetType().Name);
            }
        }

        if (told)
        {
            await Db.SortedSetRemoveAsync(keys.JobsToNotify(shard), id.ToString());
        }

        return job;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job {JobId} ended without all its listeners told; telling them now.")]
    private static partial void LogRenotifying(ILogger logger, JobId jobId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job completion listener {Listener} failed for job {JobId}; it is told again later.")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception, JobId jobId, string listener);
}
