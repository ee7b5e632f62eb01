using System.Text;
using System.Text.Json;
using Hub.Core.Audiences;
using Hub.Core.Events;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;

namespace Hub.Core.Sync;

/// <summary>A queued sync job and the job it replaced, if any.</summary>
public sealed record SyncStarted(Job Job, JobId? Superseded);

/// <summary>
/// Turns a request into a sync job: checks the list, streams the body into Redis, refuses a syntax error
/// or (unless allowed) an empty set before any job exists, then enqueues. Large inline batches become
/// add-only jobs the same way.
/// </summary>
public sealed class SyncService(ListTargets targets, MemberLedger ledger, DesiredSetReader reader, JobStore jobs, IOptions<EventsOptions> events, TimeProvider time)
{
    public const string EmptySetRefused = "empty_set_refused";
    public const string InvalidBody = "invalid_body";

    /// <summary>Replaces the list's whole membership with the body (a JSON array or NDJSON of members).</summary>
    public async Task<MailchimpResult<SyncStarted>> MirrorAsync(
        Tenant tenant, ListKey key, Stream body, DesiredSetFormat format, bool allowEmpty, bool reconcile, CancellationToken cancellationToken)
    {
        var (list, refused) = await CheckListAsync(tenant, key, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }

        var moved = await ledger.MovedAsync(tenant.Id, key, time.GetUtcNow() - events.Value.EmailChangeMemory, cancellationToken);
        var staging = await reader.StageAsync(tenant.Id, key, body, format, cancellationToken, moved, list!.Fields);
        if (staging.Error is { } syntax)
        {
            return SyntaxError(syntax);
        }

        var staged = staging.Staged!;
        if (staged.IsEmpty && !allowEmpty && await ledger.CountAsync(tenant.Id, key, cancellationToken) > 0)
        {
            await reader.DiscardAsync(tenant.Id, staged.Id, cancellationToken);
            return FacadeErrors.Create(EmptySetRefused, "Empty set refused",
                $"The body holds no valid member, which would remove every member Hub added to list '{key}'. Send ?allowEmpty=true to do that on purpose.");
        }

        var (job, superseded) = await jobs.EnqueueAsync(staged.ToJobRequest(SyncJobHandler.JobKind, key.ToString(), new SyncArgument(Reconcile: reconcile).ToJson()), cancellationToken);
        return new SyncStarted(job, superseded);
    }

    /// <summary>An inline batch too large to answer at once: its adds and removes run as an add-only job.</summary>
    public async Task<MailchimpResult<SyncStarted>> BatchAsync(
        Tenant tenant, ListKey key, IReadOnlyList<JsonElement> add, IReadOnlyList<string> remove, string? removeMode, CancellationToken cancellationToken)
    {
        var (list, refused) = await CheckListAsync(tenant, key, cancellationToken);
        if (refused is not null)
        {
            return refused;
        }

        var invalidRemovals = remove.Where(email => !MailchimpEmail.IsValid(email)).ToList();
        if (invalidRemovals.Count > 0)
        {
            return FacadeErrors.Invalid("remove", $"Not valid email addresses: {string.Join(", ", invalidRemovals.Take(5))}.");
        }

        using var body = new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(add, Storage.HubJsonContext.Default.IReadOnlyListJsonElement)));
        var staging = await reader.StageAsync(tenant.Id, key, body, DesiredSetFormat.JsonArray, cancellationToken, fields: list!.Fields);
        var staged = staging.Staged!;
        var argument = new SyncArgument(AddOnly: true, Remove: remove.Distinct(StringComparer.OrdinalIgnoreCase).ToList(), RemoveMode: removeMode);
        var request = staged.ToJobRequest(SyncJobHandler.JobKind, key.ToString(), argument.ToJson());
        var (job, superseded) = await jobs.EnqueueAsync(request with { InitialCounts = request.InitialCounts with { Total = request.InitialCounts.Total + argument.Remove!.Count } }, cancellationToken);
        return new SyncStarted(job, superseded);
    }

    /// <summary>Whether member writes to the list can go ahead at all (before any job exists): the list, its managed audience, the connection.</summary>
    private async Task<(HostList? List, MailchimpError? Error)> CheckListAsync(Tenant tenant, ListKey key, CancellationToken cancellationToken)
    {
        await using var target = await targets.ResolveAsync(tenant, key, forWrite: true, reserveSlot: false, cancellationToken);
        return (target.List, target.Error);
    }

    private static MailchimpError SyntaxError(DesiredSetSyntaxError syntax) =>
        new(InvalidBody, null, "Invalid body",
            $"The body is not a valid JSON array or NDJSON of members. {syntax.Message} No job was created.",
            [new MailchimpFieldError("$", $"line {syntax.Line}, position {syntax.Position}: {syntax.Message}")]);
}
