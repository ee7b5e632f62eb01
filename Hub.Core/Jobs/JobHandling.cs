namespace Hub.Core.Jobs;

/// <summary>
/// Runs the jobs of one <see cref="Kind"/>. A run may be a resumption: read <see cref="JobContext.Checkpoint"/>
/// and continue from there. Work between two checkpoints may be repeated after a crash, so each step must
/// be idempotent. Observe the token: the worker trips it when the job is cancelled, the lease is lost or the
/// replica shuts down (then the job is released and resumes elsewhere). Throwing fails the job, except for
/// <see cref="JobOutageException"/> (a dependency is down: the job pauses and runs again from its checkpoint), a store
/// fault (likewise), <see cref="JobCheckpointMovedException"/> and <see cref="JobReplanException"/>.
/// </summary>
public interface IJobHandler
{
    string Kind { get; }

    Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken);
}

/// <summary>Told once whenever a job reaches a final state (succeeded, partially succeeded, failed, cancelled or superseded).</summary>
public interface IJobCompletionListener
{
    Task OnJobFinishedAsync(Job job, CancellationToken cancellationToken);
}

/// <summary>
/// A handler's view of the job it runs. Every write checks the lease; when the lease is lost or a cancel
/// was requested the write trips the run's token and throws <see cref="OperationCanceledException"/>, so a
/// handler stops at its next checkpoint.
/// </summary>
public sealed class JobContext
{
    private readonly JobStore _store;
    private readonly CancellationTokenSource _stop;

    internal JobContext(Job job, JobLease lease, JobStore store, CancellationTokenSource stop)
    {
        Job = job;
        Lease = lease;
        Checkpoint = job.Checkpoint;
        _store = store;
        _stop = stop;
    }

    /// <summary>The job as it was when this run started (counts include earlier attempts).</summary>
    public Job Job { get; }

    public JobLease Lease { get; }

    /// <summary>The last saved checkpoint: null on a first run.</summary>
    public string? Checkpoint { get; private set; }

    /// <summary>True once a write or renewal found the lease taken over.</summary>
    public bool LeaseLost { get; private set; }

    /// <summary>True once a write or renewal found a cancel request.</summary>
    public bool CancelRequested { get; private set; }

    public async Task SaveCheckpointAsync(string checkpoint, CancellationToken cancellationToken)
    {
        var status = await _store.SaveCheckpointAsync(Lease, checkpoint, cancellationToken);
        if (status != LeaseStatus.Lost)
        {
            Checkpoint = checkpoint;
        }

        ThrowIfStopped(status);
    }

    public async Task AddCountsAsync(JobCounts delta, CancellationToken cancellationToken) =>
        ThrowIfStopped(await _store.AddCountsAsync(Lease, delta, cancellationToken));

    public Task RecordMemberErrorAsync(MemberError error, CancellationToken cancellationToken) =>
        RecordMemberErrorsAsync([error], cancellationToken);

    public async Task RecordMemberErrorsAsync(IReadOnlyList<MemberError> errors, CancellationToken cancellationToken)
    {
        if (errors.Count > 0)
        {
            ThrowIfStopped(await _store.RecordMemberErrorsAsync(Lease, errors, cancellationToken));
        }
    }

    /// <summary>
    /// For lease-checked writes made elsewhere (e.g. the sync ledger): records the checkpoint they committed and stops on a
    /// lost lease or cancel. When the store no longer holds the checkpoint this run last wrote, throws
    /// <see cref="JobCheckpointMovedException"/>: the worker runs the handler again from the stored one.
    /// </summary>
    public void Committed(LeaseStatus status, string checkpoint)
    {
        if (status == LeaseStatus.CheckpointMoved)
        {
            throw new JobCheckpointMovedException(Job.Id);
        }

        if (status != LeaseStatus.Lost)
        {
            Checkpoint = checkpoint;
        }

        ThrowIfStopped(status);
    }

    /// <summary>Trips the run's token on a lost lease or a cancel request, without throwing (the renewal loop uses this).</summary>
    internal void Observe(LeaseStatus status)
    {
        if (status == LeaseStatus.Held)
        {
            return;
        }

        if (status == LeaseStatus.Lost)
        {
            LeaseLost = true;
        }
        else
        {
            CancelRequested = true;
        }

        _stop.Cancel();
    }

    private void ThrowIfStopped(LeaseStatus status)
    {
        Observe(status);
        _stop.Token.ThrowIfCancellationRequested();
    }
}

/// <summary>
/// The store no longer holds the checkpoint this run last wrote: it lost writes it had acknowledged (a failover to a
/// replica that had not received them, or a restart whose append-only file missed its last second). Nothing was
/// written; the worker runs the handler again from the checkpoint the store holds, so the lost work is done again.
/// </summary>
public sealed class JobCheckpointMovedException(JobId job) : Exception($"Job {job}'s stored checkpoint is not the one this run last wrote.");

/// <summary>
/// Thrown by a handler that cannot continue from the stored checkpoint (e.g. one written by an older version in a
/// form it no longer reads): the worker resets the job's counts and checkpoint and runs it again from the start.
/// </summary>
public sealed class JobReplanException(string reason) : Exception(reason);

/// <summary>
/// Thrown by a handler when a dependency (e.g. Mailchimp) stays unavailable after its client's own retries. The worker
/// does not fail the job at once: it pauses it with growing pauses (1 s, doubling, at most 30 s) while keeping its lease,
/// then runs the handler again from the stored checkpoint; once the outage has lasted
/// <see cref="JobsOptions.DependencyOutageLimit"/> it fails the job with <see cref="Code"/> as the failure reason. A run
/// that saved a checkpoint before throwing again starts a new outage.
/// </summary>
public sealed class JobOutageException(string code, string message, Exception? innerException = null) : Exception(message, innerException)
{
    /// <summary>The failure reason of the job if the outage lasts too long, e.g. <c>mailchimp_unavailable</c>.</summary>
    public string Code { get; } = string.IsNullOrWhiteSpace(code) ? throw new ArgumentException("An outage needs a code.", nameof(code)) : code;
}
