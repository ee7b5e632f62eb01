using System.Text.Json.Nodes;
using Hub.Api.Hosting;
using Hub.Api.Lists;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.People;

namespace Hub.Api.People;

/// <summary>Erase a person everywhere for the tenant. <c>reason</c> (optional, one line, at most 500 characters) is kept with the erasure and must not contain the address.</summary>
public sealed record StartErasureRequest(string? Email, string? Reason);

/// <summary>
/// An erasure: its state (queued, running, succeeded, failed, cancelled), the person's hash (an HMAC of the address under
/// the tenant's own key, never the address), each managed audience's state, and whether Hub's own records were forgotten.
/// </summary>
public sealed record ErasureResponse(
    string ErasureId, string PersonHash, string State, string? Reason, IReadOnlyList<ErasureAudience> Audiences, bool RecordsForgotten,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? FailureReason, int Attempts, bool Joined, string StatusUrl)
{
    public static ErasureResponse From(Erasure erasure, bool joined = false) => new(
        erasure.Job.Id.ToString(), erasure.PersonHash, erasure.Job.State.ToName(), erasure.Reason, erasure.Progress?.Audiences ?? [],
        erasure.Progress?.RecordsForgotten ?? false, erasure.Job.CreatedAt, erasure.Job.StartedAt, erasure.Job.FinishedAt, erasure.Job.FailureReason,
        erasure.Job.Attempts, joined, $"/api/v1/people/erasures/{erasure.Job.Id}");
}

/// <summary>Everything Hub and the tenant's managed audiences hold of one address.</summary>
public sealed record PersonResponse(
    string Email, string PersonHash, string? ErasureId, IReadOnlyList<PersonAudienceResponse> Audiences, IReadOnlyList<PersonListResponse> Lists, PersonRecordsResponse Records)
{
    public static PersonResponse From(PersonReport report) => new(
        report.Person.Address, report.PersonHash, report.ErasureId,
        [.. report.Audiences.Select(PersonAudienceResponse.From)],
        [.. report.Lists.Select(PersonListResponse.From)],
        new PersonRecordsResponse(
            [.. report.Records.Lists.Where(list => list.Synced).Select(list => list.List.ToString())],
            [.. report.Records.Lists.Where(list => list.Refused).Select(list => list.List.ToString())],
            report.Records.JobsWithErrors, report.Records.WebhookDeliveries, report.Records.Events, report.Records.WaitingEvents));
}

/// <summary>The contact in one managed audience (<c>found</c> false when Mailchimp has none there), the tenant's lists there that hold it, or the error reading it.</summary>
public sealed record PersonAudienceResponse(
    string AudienceId, bool Found, string? Status, IReadOnlyDictionary<string, JsonNode?>? MergeFields, IReadOnlyList<string>? Tags,
    DateTimeOffset? LastChanged, IReadOnlyList<string> Lists, MemberErrorResponse? Error)
{
    public static PersonAudienceResponse From(PersonInAudience audience) => new(
        audience.AudienceId, audience.Contact is not null, audience.Contact?.Status, audience.Contact?.MergeFields, audience.Contact?.Tags,
        audience.Contact?.LastChanged, [.. audience.Lists.Select(list => list.ToString())],
        audience.Error is { } error ? MemberErrorResponse.From(error) : null);
}

/// <summary>
/// One of the tenant's lists that holds the address in Mailchimp or in Hub's records: whether Hub synced it there, added it,
/// had it refused or saw it change, the host ids (<c>externalId</c>) it knows for it, and the list's last sync (when Hub last
/// wrote or confirmed its members; Hub keeps no time per member).
/// </summary>
public sealed record PersonListResponse(
    string Key, bool Linked, string? AudienceId, string? Mode, string? Tag, bool InMailchimp, bool SyncedByHub, bool AddedByHub, bool Refused,
    bool EmailChanged, IReadOnlyList<string> ExternalIds, ListSyncStatus? LastSync)
{
    public static PersonListResponse From(PersonListView view) => new(
        view.Key.ToString(), view.List is not null, view.List?.AudienceId, view.List is { } list ? Hub.Core.Storage.SnakeCase<ListMode>.ToText(list.Mode) : null,
        view.List?.Tag, view.InMailchimp, view.Records?.Synced ?? false, view.Records?.AddedByHub ?? false, view.Records?.Refused ?? false,
        view.Records?.Moved ?? false, view.Records?.ExternalIds ?? [], view.List?.LastSync);
}

/// <summary>Which of Hub's own records mention the address: list ledgers and refusals (list keys), kept job errors (job ids), webhook deliveries (ids), member events (ids), events received but not processed yet.</summary>
public sealed record PersonRecordsResponse(
    IReadOnlyList<string> Ledger, IReadOnlyList<string> Refused, IReadOnlyList<string> JobErrors, IReadOnlyList<string> WebhookDeliveries,
    IReadOnlyList<string> Events, int EventsWaiting);
