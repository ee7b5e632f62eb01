using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>
/// Counts the times this process's Redis connection broke, came back or was reconfigured (a failover). A
/// position that Redis hands out for one server process, such as an HSCAN cursor, is only good while the
/// epoch is unchanged: a restarted or promoted server seeds its hash function anew, so the same cursor then
/// points elsewhere and a scan would skip entries. A reader compares the epoch before and after and starts
/// its scan over when it moved.
/// </summary>
public sealed class StoreEpoch
{
    private long _value;

    public StoreEpoch(IConnectionMultiplexer redis)
    {
        redis.ConnectionFailed += (_, _) => Interlocked.Increment(ref _value);
        redis.ConnectionRestored += (_, _) => Interlocked.Increment(ref _value);
        redis.ConfigurationChanged += (_, _) => Interlocked.Increment(ref _value);
    }

    public long Current => Interlocked.Read(ref _value);
}
