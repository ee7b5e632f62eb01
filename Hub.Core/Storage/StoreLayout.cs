namespace Hub.Core.Storage;

/// <summary>
/// Whether this replica knows the store has the current key layout (<see cref="KeyLayoutMigration"/>). Until it does, requests
/// are answered 503 <c>store_unavailable</c>, <c>/health/ready</c> answers 503 and the background workers wait: a store of the
/// old layout is never read or written as if it had the new one. Known at start-up when the store answers; otherwise once it
/// answers again (<see cref="StorageStartup"/> keeps trying).
/// </summary>
public sealed class StoreLayout
{
    private readonly TaskCompletionSource _current = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public bool IsCurrent => _current.Task.IsCompleted;

    /// <summary>Completes once the store has the current layout.</summary>
    public Task WaitAsync(CancellationToken cancellationToken) => _current.Task.WaitAsync(cancellationToken);

    /// <summary>Throws <see cref="StoreUnavailableException"/> (a store fault: 503 for a request) until the store has the current layout.</summary>
    public void EnsureCurrent()
    {
        if (!IsCurrent)
        {
            throw new StoreUnavailableException("The store's key layout is not known yet (the store has not answered since this replica started, or another replica is moving it to the current layout).");
        }
    }

    internal void MarkCurrent() => _current.TrySetResult();
}
