using System.Text.Json.Nodes;
using Hub.Api.Hosting;
using Hub.Api.Lists;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.People;
using Hub.Core.Storage;

namespace Hub.Api.People;

/// <summary>Erase a person everywhere for the tenant. <c>reason</c> (optional, one line, at most 500 characters) is kept with the erasure and must not contain the address.</summary>
/// <param name="Email">The person's address.</param>
/// <param name="Reason">Why (optional, one line, at most 500 characters, without the address), kept with the erasure.</param>
public sealed record StartErasureRequest(string? Email, string? Reason);

/// <summary>
/// An erasure: its state (queued, running, succeeded, failed, cancelled), the person's hash (an HMAC of the address under
/// the tenant's own key, never the address), each managed audience's state, and whether Hub's own records were forgotten.
/// </summary>
/// <param name="ErasureId">The erasure's id.</param>
/// <param name="PersonHash">An HMAC of the address under the tenant's own key (never the address).</param>
/// <param name="State">Where the erasure stands.</param>
/// <param name="Reason">The reason given.</param>
/// <param name="Audiences">Each managed audience's progress.</param>
/// <param name="RecordsForgotten">Whether Hub's own records of the address are gone.</param>
/// <param name="CreatedAt">When it was asked for.</param>
/// <param name="StartedAt">When it started.</param>
/// <param name="FinishedAt">When it ended.</param>
/// <param name="FailureReason">Why it failed, when it did.</param>
/// <param name="Attempts">Runs so far.</param>
/// <param name="Joined">True when this request joined an erasure already queued or running.</param>
/// <param name="StatusUrl">Where to read the erasure: an absolute URL on Hub's public base URL.</param>
public sealed record ErasureResponse(
    string ErasureId, string PersonHash, [OneOf<JobState>] string State, string? Reason, IReadOnlyList<ErasureAudience> Audiences, bool RecordsForgotten,
    DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? FailureReason, int Attempts, bool Joined, string StatusUrl)
{
    public static ErasureResponse From(Erasure erasure, HubOptions hub, bool joined = false) => new(
        erasure.Job.Id.ToString(), erasure.PersonHash, erasure.Job.State.ToName(), erasure.Reason, erasure.Progress?.Audiences ?? [],
        erasure.Progress?.RecordsForgotten ?? false, erasure.Job.CreatedAt, erasure.Job.StartedAt, erasure.Job.FinishedAt, erasure.Job.FailureReason,
        erasure.Job.Attempts, joined, hub.PublicUrl($"/api/v1/people/erasures/{erasure.Job.Id}"));
}

/// <summary>Everything Hub and the tenant's managed audiences hold of one address.</summary>
/// <param name="Email">The address asked about.</param>
/// <param name="PersonHash">An HMAC of the address under the tenant's own key.</param>
/// <param name="ErasureId">The erasure of the address, if one was asked for.</param>
/// <param name="Audiences">The contact in each managed audience.</param>
/// <param name="Lists">The tenant's lists that hold the address.</param>
/// <param name="Records">Which of Hub's own records mention it.</param>
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
/// <param name="AudienceId">The managed audience.</param>
/// <param name="Found">Whether Mailchimp has the contact there.</param>
/// <param name="Status">The contact's status.</param>
/// <param name="MergeFields">The contact's merge fields.</param>
/// <param name="Tags">The contact's tags.</param>
/// <param name="LastChanged">When Mailchimp last changed the contact.</param>
/// <param name="Lists">The tenant's lists in this audience that hold it.</param>
/// <param name="Error">Why the audience could not be read, when it could not.</param>
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
/// <param name="Key">The list's key.</param>
/// <param name="Linked">Whether the list is still linked (records of an unlinked list may remain).</param>
/// <param name="AudienceId">The list's audience.</param>
/// <param name="Mode">The list's mode.</param>
/// <param name="Tag">The list's tag, in tag mode.</param>
/// <param name="InMailchimp">Whether Mailchimp holds the address in the list.</param>
/// <param name="SyncedByHub">Whether Hub synced the address to the list.</param>
/// <param name="AddedByHub">Whether Hub added the contact.</param>
/// <param name="Refused">Whether Mailchimp refused the address for the list.</param>
/// <param name="EmailChanged">Whether the address was changed away from, in the list.</param>
/// <param name="ExternalIds">The host ids (<c>externalId</c>) Hub knows for it.</param>
/// <param name="LastSync">The list's last sync.</param>
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
/// <param name="Ledger">Lists whose ledger holds the address.</param>
/// <param name="Refused">Lists whose refusals hold it.</param>
/// <param name="JobErrors">Jobs whose kept errors name it.</param>
/// <param name="WebhookDeliveries">Webhook deliveries that carry it.</param>
/// <param name="Events">Member events that name it.</param>
/// <param name="EventsWaiting">Events received from Mailchimp, not processed yet, that name it.</param>
public sealed record PersonRecordsResponse(
    IReadOnlyList<string> Ledger, IReadOnlyList<string> Refused, IReadOnlyList<string> JobErrors, IReadOnlyList<string> WebhookDeliveries,
    IReadOnlyList<string> Events, int EventsWaiting);
