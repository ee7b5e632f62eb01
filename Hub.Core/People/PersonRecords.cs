using Hub.Core.Events;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Members;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;

namespace Hub.Core.People;

/// <summary>Which of Hub's own records of a tenant mention a person.</summary>
public sealed record PersonRecordsFound(
    IReadOnlyList<PersonInList> Lists,
    IReadOnlyList<string> JobsWithErrors,
    IReadOnlyList<string> WebhookDeliveries,
    IReadOnlyList<string> Events,
    int WaitingEvents);

/// <summary>
/// Every record Hub keeps for a tenant that can hold a person's address or subscriber hash, found or forgotten in one place:
/// the lists' ledgers (fingerprints, hub-added marks, refusals, moves, external ids; <see cref="MemberLedger"/>), the kept
/// member errors of its jobs (<see cref="JobStore"/>), its webhook deliveries pending and past (<see cref="WebhookStore"/>),
/// its member event log (<see cref="MemberEventLog"/>) and the Mailchimp events received but not yet processed
/// (<see cref="EventInbox"/>). Another tenant's records are never read. Forgetting is safe to repeat.
/// </summary>
public sealed class PersonRecords(MemberLedger ledger, ListStore lists, JobStore jobs, WebhookStore webhooks, MemberEventLog events, EventInbox inbox)
{
    public async Task<PersonRecordsFound> FindAsync(TenantId tenant, Person person, CancellationToken cancellationToken)
    {
        var inLists = await ledger.FindPersonAsync(tenant, await LinkedAsync(tenant, cancellationToken), person.SubscriberHash, person.Address, cancellationToken);
        var errors = await jobs.ErrorsMentioningAsync(tenant, person.IsIn, cancellationToken);
        var deliveries = await webhooks.DeliveriesMentioningAsync(tenant, person.IsInJson, cancellationToken);
        var logged = await events.EventsMentioningAsync(tenant, person.IsInJson, cancellationToken);
        var waiting = await inbox.WaitingMentioningAsync(tenant, person.IsInJson, cancellationToken);
        return new PersonRecordsFound(
            inLists,
            [.. errors.Select(error => error.Job.ToString()).Distinct(StringComparer.Ordinal)],
            deliveries,
            [.. logged.Select(EventId)],
            waiting.Count);
    }

    /// <summary>Removes the person from every record above; answers how many entries were removed.</summary>
    public async Task<long> ForgetAsync(TenantId tenant, Person person, CancellationToken cancellationToken)
    {
        var forgotten = await ledger.ForgetPersonAsync(tenant, await LinkedAsync(tenant, cancellationToken), person.SubscriberHash, person.Address, cancellationToken);

        var errors = await jobs.ErrorsMentioningAsync(tenant, person.IsIn, cancellationToken);
        await jobs.RemoveErrorsAsync(tenant, errors, cancellationToken);

        var deliveries = await webhooks.DeliveriesMentioningAsync(tenant, person.IsInJson, cancellationToken);
        await webhooks.DeleteDeliveriesAsync(tenant, deliveries, cancellationToken);

        var logged = await events.EventsMentioningAsync(tenant, person.IsInJson, cancellationToken);
        await events.RemoveEventsAsync(tenant, logged, cancellationToken);

        var waiting = await inbox.WaitingMentioningAsync(tenant, person.IsInJson, cancellationToken);
        await inbox.DropAsync(tenant, waiting, cancellationToken);

        return forgotten + errors.Count + deliveries.Count + logged.Count + waiting.Count;
    }

    private async Task<IEnumerable<ListKey>> LinkedAsync(TenantId tenant, CancellationToken cancellationToken) =>
        (await lists.ListAsync(tenant, cancellationToken)).Select(list => list.Key);

    private static string EventId(string json)
    {
        using var document = System.Text.Json.JsonDocument.Parse(json);
        return document.RootElement.TryGetProperty("id", out var id) ? id.GetString() ?? "" : "";
    }
}
