using Hub.Core.Storage;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Core.Jobs;

// Telling idle workers that a job may be claimable, on this replica and the others.
public sealed partial class JobStore
{
    private int _listening;

    /// <summary>
    /// Set when a job may have become claimable: one was queued or released here, a job ended here (a queued job of the
    /// same list may now run), or another replica said so on <see cref="RedisKeys.JobsClaimableChannel"/> (once
    /// <see cref="ListenAsync"/> subscribed). The worker's poll stays the fallback: pub/sub messages can be lost.
    /// </summary>
    public WorkSignal Claimable { get; } = new();

    /// <summary>Subscribes to the other replicas' notices (once; true when subscribed). StackExchange.Redis subscribes again after a reconnect.</summary>
    public async Task<bool> ListenAsync()
    {
        if (Volatile.Read(ref _listening) == 1)
        {
            return true;
        }

        try
        {
            await redis.GetSubscriber().SubscribeAsync(RedisChannel.Literal(keys.JobsClaimableChannel), (_, _) => Claimable.Set());
            Volatile.Write(ref _listening, 1);
            return true;
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            LogListenFailed(logger, exception);
            return false;
        }
    }

    /// <summary>Wakes an idle worker here and, through Redis, on every replica (fire and forget: the poll catches a lost notice).</summary>
    private void AnnounceClaimable()
    {
        Claimable.Set();
        try
        {
            redis.GetSubscriber().Publish(RedisChannel.Literal(keys.JobsClaimableChannel), RedisValue.EmptyString, CommandFlags.FireAndForget);
        }
        catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
        {
            // Not connected: the other replicas find the job at their next poll.
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not subscribe to job notices; idle workers poll until it works.")]
    private static partial void LogListenFailed(ILogger logger, Exception exception);
}
