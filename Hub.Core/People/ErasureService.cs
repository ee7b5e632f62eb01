using Hub.Core.Audiences;
using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.People;

/// <summary>An erasure that was started, or joined because one for the same person was queued or running.</summary>
public sealed record ErasureStarted(Erasure Erasure, bool Joined);

/// <summary>
/// Starts and reads erasures (<c>POST /api/v1/people/erasures</c>). An erasure is a durable job of kind
/// <see cref="ErasureJobHandler.JobKind"/> on the "list" <c>person:{mark}</c>, so the job queue keeps one queued or running
/// erasure per person and a second request joins it. The job's input holds the address, encrypted with Hub's secrets key
/// for the job alone, until the job ends; its checkpoint holds the progress (<see cref="ErasureProgress"/>).
/// </summary>
public sealed class ErasureService(IConnectionMultiplexer redis, RedisKeys keys, JobStore jobs, ErasedPeople erased, SecretProtector protector)
{
    public const int MaxReasonLength = 500;

    /// <summary>The field of the job's input that holds the encrypted address.</summary>
    private const string AddressField = "address";

    private const string ListPrefix = "person:";

    /// <summary>How long the input of a request that never became a job stays (queueing it makes it stay until the job ends).</summary>
    private static readonly TimeSpan UnqueuedInputLifetime = TimeSpan.FromHours(6);

    /// <summary>
    /// Erases the person everywhere for the tenant: remembers them as erased at once (so no later write sends them to
    /// Mailchimp), then queues the job, or joins the one queued or running for the same person. Bad input is a validation
    /// error and changes nothing.
    /// </summary>
    public async Task<MailchimpResult<ErasureStarted>> StartAsync(TenantId tenant, string? email, string? reason, CancellationToken cancellationToken)
    {
        var errors = new List<MailchimpFieldError>();
        Person.TryCreate(email, out var person);
        if (person is null)
        {
            errors.Add(new MailchimpFieldError("email", "Not a valid email address."));
        }

        if (reason is { Length: > MaxReasonLength } || reason?.Any(char.IsControl) == true)
        {
            errors.Add(new MailchimpFieldError("reason", $"At most {MaxReasonLength} characters on one line."));
        }
        else if (person is not null && person.IsIn(reason))
        {
            errors.Add(new MailchimpFieldError("reason", "Must not contain the address: Hub keeps the reason, and keeps no trace of the address."));
        }

        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        var mark = await erased.MarkAsync(tenant, person!.Address);
        var id = JobId.New();
        var input = keys.JobInput(tenant, id);
        var db = redis.GetDatabase();
        var batch = db.CreateBatch();
        var stored = batch.HashSetAsync(input, AddressField, protector.Protect(new Secret(person.Address), Context(tenant, id)));
        var expiring = batch.KeyExpireAsync(input, UnqueuedInputLifetime);
        batch.Execute();
        await Task.WhenAll(stored, expiring);

        var request = new JobRequest(tenant, ErasureJobHandler.JobKind, ListPrefix + mark) { Id = id, Argument = string.IsNullOrWhiteSpace(reason) ? null : reason.Trim() };
        var (job, joined) = await jobs.EnqueueOrJoinAsync(request, cancellationToken);
        if (joined)
        {
            await db.KeyDeleteAsync(input);
        }
        else
        {
            await erased.RememberAsync(tenant, mark, job.Id);
        }

        return new ErasureStarted(new Erasure(job, mark, null), joined);
    }

    /// <summary>One of the tenant's erasures with its progress, or null.</summary>
    public async Task<Erasure?> GetAsync(TenantId tenant, JobId id, CancellationToken cancellationToken) =>
        await jobs.GetAsync(tenant, id, cancellationToken) is { Kind: ErasureJobHandler.JobKind } job ? Read(job) : null;

    /// <summary>An erasure job as the tenant reads it.</summary>
    public static Erasure Read(Job job) => new(job, MarkOf(job), ErasureProgress.Parse(job.Checkpoint));

    /// <summary>The person's mark an erasure job works on.</summary>
    public static string MarkOf(Job job) => job.ListKey.StartsWith(ListPrefix, StringComparison.Ordinal) ? job.ListKey[ListPrefix.Length..] : "";

    /// <summary>The person an erasure job erases, from its input; null once the input is gone (the job ended).</summary>
    internal async Task<Person?> PersonOfAsync(Job job)
    {
        var stored = await redis.GetDatabase().HashGetAsync(keys.JobInput(job.Tenant, job.Id), AddressField);
        return stored.IsNullOrEmpty || !Person.TryCreate(protector.Unprotect(stored.ToString(), Context(job.Tenant, job.Id)).Reveal(), out var person) ? null : person;
    }

    private static string Context(TenantId tenant, JobId id) => $"tenant/{tenant}/erasure/{id}";
}
