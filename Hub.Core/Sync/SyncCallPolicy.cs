using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Members;

namespace Hub.Core.Sync;

/// <summary>A Mailchimp failure that ends the job (a 401, the audience gone, a batch call Mailchimp refuses).</summary>
internal sealed class SyncAbortedException(MailchimpError error) : Exception(error.Detail)
{
    public MailchimpError Error { get; } = error;
}

/// <summary>
/// What a final failure means in a sync run. The Mailchimp client has already retried what it may; here:
/// <list type="bullet">
/// <item>a 401 ends the whole run: calls still in flight are cancelled and no new one starts, so one revoked credential
/// costs one 401, not one per chunk or member already queued behind it;</item>
/// <item>Mailchimp still unavailable pauses the job (<see cref="JobOutageException"/>): the worker runs it again from its
/// checkpoint after a pause, and fails it only when Mailchimp stays away longer than the jobs' outage limit;</item>
/// <item>any other failure of an essential call (a batch subscribe, a read of the audience) ends the run with its code;
/// a call about one member reports its failure, which becomes that member's error.</item>
/// </list>
/// </summary>
internal sealed class SyncCallPolicy : IMemberCallPolicy, IDisposable
{
    private readonly CancellationTokenSource _abort = new();
    private MailchimpError? _abortedBy;

    public async Task<TResult> RunAsync<TResult>(Func<CancellationToken, Task<TResult>> call, bool essential, CancellationToken cancellationToken)
        where TResult : IMailchimpOutcome
    {
        if (Volatile.Read(ref _abortedBy) is { } earlier)
        {
            throw new SyncAbortedException(earlier);
        }

        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _abort.Token);
        TResult result;
        try
        {
            result = await call(linked.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _abortedBy) is not null)
        {
            throw new SyncAbortedException(Volatile.Read(ref _abortedBy)!);
        }

        switch (result.Error)
        {
            case { Code: MailchimpErrorCodes.ReauthorizationRequired } unauthorized:
                Interlocked.CompareExchange(ref _abortedBy, unauthorized, null);
                await _abort.CancelAsync();
                throw new SyncAbortedException(unauthorized);
            case { Code: MailchimpErrorCodes.MailchimpUnavailable } unavailable:
                throw new JobOutageException(unavailable.Code, $"Mailchimp is unavailable: {unavailable.Detail}");
            case { } failed when essential:
                throw new SyncAbortedException(failed);
            default:
                return result;
        }
    }

    public void Dispose() => _abort.Dispose();
}
