namespace Hub.Core.Storage;

/// <summary>Waits out a store outage (<see cref="StoreFaults.IsStoreFault"/>) by running an operation again, for operations that are safe to repeat.</summary>
public static class StoreRetry
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs <paramref name="operation"/> until it ends without a store fault, waiting 0.1 s, 0.2 s, 0.4 s ...
    /// (at most 2 s) between tries. Once <paramref name="patience"/> has passed the last store fault is
    /// thrown; any other exception is thrown at once. A fault can hide a write that was applied before the
    /// reply was lost, so the operation must give the same outcome when it runs twice.
    /// </summary>
    public static async Task<T> WaitOutAsync<T>(Func<CancellationToken, Task<T>> operation, TimeSpan patience, TimeProvider time, CancellationToken cancellationToken)
    {
        var giveUpAt = time.GetUtcNow() + patience;
        var delay = FirstDelay;
        while (true)
        {
            try
            {
                return await operation(cancellationToken);
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception) && time.GetUtcNow() + delay < giveUpAt)
            {
                await Task.Delay(delay, time, cancellationToken);
                delay = delay * 2 < MaxDelay ? delay * 2 : MaxDelay;
            }
        }
    }
}
