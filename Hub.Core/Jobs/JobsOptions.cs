using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace Hub.Core.Jobs;

/// <summary>Background job leases, polling and retention. Bound from <c>Hub:Jobs</c>.</summary>
public sealed class JobsOptions
{
    public const string SectionName = "Hub:Jobs";

    /// <summary>How long a claimed job stays with its worker without a renewal; after that another replica takes it over.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a running job's lease is renewed (and the cancel flag checked); must be well below the lease duration.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:30:00")]
    public TimeSpan RenewInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long an idle replica waits before looking for work again when nothing told it of a job (a job queued or ended
    /// on any replica wakes it at once, through Redis pub/sub; this poll catches a lost notice).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Pick-ups that may end in a lost lease (a crashed or hung worker) before the job is failed.</summary>
    [Range(1, 100)]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>
    /// Jobs one replica runs at the same time, at most. Jobs wait on Mailchimp and Redis most of the time, so this is a
    /// ceiling, not a tuning knob: Mailchimp's cap per account limits the calls, and a replica under the GC's high memory
    /// load claims nothing more until it eases. A running sync holds a few MB at most (one chunk of members at a time).
    /// </summary>
    [Range(1, 4096)]
    public int Concurrency { get; set; } = 256;

    /// <summary>How long a finished job (and its errors) stays readable.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "365.00:00:00")]
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>Per-member errors kept per job; later ones are only counted.</summary>
    [Range(1, 100_000)]
    public int MaxStoredErrors { get; set; } = 1000;

    /// <summary>
    /// How long a running job waits out a store outage (Redis unreachable, restarting, loading, failing over) before it
    /// fails with <c>store_unavailable</c>. Meanwhile it pauses with growing pauses and resumes from its last checkpoint
    /// once Redis answers.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan StoreOutageLimit { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long a running job waits out a dependency that stays unavailable after its client's own retries (a handler
    /// throws <see cref="JobOutageException"/>, e.g. Mailchimp down) before it fails with the exception's code. Meanwhile
    /// it pauses with growing pauses (1 s, doubling, at most 30 s), keeps its lease, and runs again from its last
    /// checkpoint. A run that saved a checkpoint before the next such exception starts a new outage.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00")]
    public TimeSpan DependencyOutageLimit { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// How long after a job ended its completion (the sync webhook, the list's last-sync status) is told again when it
    /// was not told (the replica or the store failed right after the job ended). Idle workers look for such jobs.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan CompletionRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>False stops this replica from running jobs (it still enqueues and reads them).</summary>
    public bool WorkerEnabled { get; set; } = true;
}

internal sealed class JobsOptionsValidator : IValidateOptions<JobsOptions>
{
    public ValidateOptionsResult Validate(string? name, JobsOptions options) =>
        options.RenewInterval * 2 > options.LeaseDuration
            ? ValidateOptionsResult.Fail($"{JobsOptions.SectionName}:RenewInterval ({options.RenewInterval}) must be at most half of {JobsOptions.SectionName}:LeaseDuration ({options.LeaseDuration}).")
            : ValidateOptionsResult.Success;
}
