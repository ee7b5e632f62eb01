using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// Tells a store fault (Redis unreachable, restarting, loading its data, failing over) from a bug. A store
/// fault is waited out: a job pauses and resumes from its checkpoint, a queue polls again, a request is
/// answered 503 <c>store_unavailable</c> with <c>Retry-After</c>. Anything else is a real error.
/// </summary>
public static class StoreFaults
{
    /// <summary>The problem type and failure reason for an outage: the store did not answer in time.</summary>
    public const string Code = "store_unavailable";

    // Replies a Redis (or Garnet) server gives while it cannot serve yet: loading its data set after a
    // restart, a replica promoted or demoted mid-failover, a primary that lost its replicas (min-replicas),
    // a cluster that is reconfiguring. https://redis.io/docs/latest/develop/reference/protocol-spec/#simple-errors
    private static readonly string[] TransientReplies = ["LOADING", "READONLY", "MASTERDOWN", "NOREPLICAS", "TRYAGAIN", "CLUSTERDOWN", "BUSY"];

    /// <summary>True when <paramref name="exception"/> (or an exception inside it) means the store is out of reach for now.</summary>
    public static bool IsStoreFault(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                // Not any TimeoutException: an HttpClient timeout (a TimeoutException inside a TaskCanceledException) is Mailchimp's, not the store's.
                case RedisConnectionException or RedisTimeoutException or StoreUnavailableException:
                    return true;
                case RedisServerException server when TransientReplies.Any(reply => server.Message.StartsWith(reply, StringComparison.Ordinal)):
                    return true;
                case AggregateException aggregate when aggregate.InnerExceptions.Any(IsStoreFault):
                    return true;
            }
        }

        return false;
    }
}

/// <summary>
/// The store refused a write in a way that says nothing of an outage by itself: a transaction it discarded (a replica
/// mid-failover answers the queued writes with READONLY, then EXECABORT), see <see cref="StoreTransactions"/>.
/// </summary>
public class StoreUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>
/// Another client changed a key a transaction watched between its conditions and EXEC (EXEC answered nil): nothing was
/// applied, and reading again and retrying is the answer (<see cref="StoreTransactions.RetryOnConflictAsync{T}"/>). Still
/// a store fault (503, retry later) where it is not retried or keeps happening.
/// </summary>
public sealed class StoreConflictException(string message) : StoreUnavailableException(message);
