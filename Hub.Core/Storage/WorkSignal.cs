namespace Hub.Core.Storage;

/// <summary>
/// Wakes a polling loop on this replica when work was just queued here, so it need not wait for its next poll; the poll
/// stays the fallback for work queued by other replicas. Setting it while nobody waits keeps one wake-up.
/// </summary>
public sealed class WorkSignal
{
    private readonly SemaphoreSlim _semaphore = new(0, 1);

    public void Set()
    {
        try
        {
            _semaphore.Release();
        }
        catch (SemaphoreFullException)
        {
            // Already set.
        }
    }

    /// <summary>
    /// Waits until <see cref="Set"/> or <paramref name="timeout"/>; false when the wait was cancelled. A timeout is the
    /// normal end of an idle poll, so it returns without throwing (a replica polls several loops every second).
    /// </summary>
    public async Task<bool> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        try
        {
            await _semaphore.WaitAsync(timeout, cancellationToken);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
