using System.Globalization;
using System.Text.Json;
using Hub.Api.Hosting;
using Hub.Core.Audiences;
using Hub.Core.Events;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Events;

/// <summary>
/// What happens in Mailchimp, back to the tenant: the member events (<c>GET /api/v1/events</c>) and the list webhook Hub
/// keeps on each managed audience (<c>/api/v1/audiences/{id}/events</c>). Mailchimp's own calls arrive at
/// <see cref="MailchimpEventReceiver"/>.
/// </summary>
public static class EventsApi
{
    public const int MaxLimit = 1000;

    public static RouteGroupBuilder MapEventsApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/events", ListEvents).WithTags("Events").Produces<Page<JsonElement>>().ProducesValidationProblem();
        var audience = v1.MapGroup("/audiences/{audienceId}/events").WithTags("Events")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        audience.MapGet("/", GetRegistration);
        audience.MapPost("/repair", Repair).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        return v1;
    }

    /// <summary>Read the tenant's member events from Mailchimp.</summary>
    /// <remarks>
    /// What happened to contacts in managed audiences (<c>unsubscribed</c>, <c>cleaned</c>, <c>subscribed</c>, <c>profile_updated</c>,
    /// <c>email_changed</c>), oldest first after the cursor, each naming the tenant's lists that held the member. Read on with
    /// <c>nextCursor</c>: a feed, so it stays set on the last page (a page shorter than <c>limit</c>); keep it to poll for new events
    /// later. No <c>total</c>. Events are kept at least 7 days.
    /// </remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page, or an event's <c>cursor</c>; absent: from the oldest event kept.</param>
    /// <param name="since">The former name of <c>cursor</c>, still accepted.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    public static async Task<Results<Ok<Page<JsonElement>>, ValidationProblem>> ListEvents(
        Tenant tenant, MemberEventLog log, CancellationToken cancellationToken, string? cursor = null, string? since = null, int limit = 100)
    {
        if (cursor is not null && since is not null)
        {
            return Problems.Paging(("since", "Give cursor or its former name since, not both."));
        }

        var parameter = since is null ? "cursor" : "since";
        long? after = null;
        if ((cursor ?? since) is { } text)
        {
            // The position is the event's own cursor (digits), the one its webhook carries, not a Paging cursor.
            if (!long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.Paging((parameter, PageCursor.Rule));
            }

            after = parsed;
        }

        if (limit is < 1 or > MaxLimit)
        {
            return Problems.Paging(("limit", $"Between 1 and {MaxLimit}."));
        }

        return TypedResults.Ok(await log.ReadAsync(tenant.Id, after, limit, cancellationToken));
    }

    /// <summary>Read the list webhook Hub keeps on a managed audience.</summary>
    /// <remarks>Registered or failed (with the last error), when registered and when last checked. Hub checks each audience's webhook daily and registers it again when Mailchimp lost it.</remarks>
    /// <param name="audienceId">A managed audience's id.</param>
    public static async Task<Results<Ok<AudienceEventsResponse>, ProblemHttpResult>> GetRegistration(
        string audienceId, Tenant tenant, TenantMailchimp guard, AudienceHookStore store, CancellationToken cancellationToken)
    {
        if (await guard.GuardAsync(tenant.Id, audienceId, cancellationToken) is { } notManaged)
        {
            return notManaged.ToProblem();
        }

        return TypedResults.Ok(AudienceEventsResponse.From(audienceId, await store.GetAsync(tenant.Id, audienceId)));
    }

    /// <summary>Check an audience's list webhook now and register it again when it is missing.</summary>
    /// <remarks>The daily check, on demand: asks Mailchimp for the audience's webhooks and registers Hub's again when it is gone or differs.</remarks>
    /// <param name="audienceId">A managed audience's id.</param>
    public static async Task<Results<Ok<AudienceEventsResponse>, ProblemHttpResult>> Repair(
        string audienceId, Tenant tenant, TenantMailchimp guard, AudienceHooks hooks, CancellationToken cancellationToken)
    {
        if (await guard.GuardAsync(tenant.Id, audienceId, cancellationToken) is { } notManaged)
        {
            return notManaged.ToProblem();
        }

        var (credential, notConnected) = await guard.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return notConnected!.ToProblem();
        }

        var (hook, error) = await hooks.RepairAsync(tenant.Id, audienceId, cancellationToken);
        return error is null ? TypedResults.Ok(AudienceEventsResponse.From(audienceId, hook)) : error.ToProblem();
    }
}

/// <summary>The list webhook on one managed audience; <c>state</c> is registered, failed or not_registered (not yet tried).</summary>
/// <param name="AudienceId">The managed audience.</param>
/// <param name="State">Whether the webhook is registered in Mailchimp.</param>
/// <param name="WebhookId">Mailchimp's id of the webhook.</param>
/// <param name="Signed">Whether Mailchimp signs its events to Hub.</param>
/// <param name="RegisteredAt">When Hub registered it.</param>
/// <param name="CheckedAt">When Hub last found it in Mailchimp.</param>
/// <param name="LastError">Why the last registration failed.</param>
/// <param name="FailedAt">When it failed.</param>
public sealed record AudienceEventsResponse(
    string AudienceId, [OneOf("registered", "failed", "not_registered")] string State, string? WebhookId, bool Signed, DateTimeOffset? RegisteredAt, DateTimeOffset? CheckedAt, string? LastError, DateTimeOffset? FailedAt)
{
    public static AudienceEventsResponse From(string audienceId, AudienceHook? hook) => hook is null
        ? new(audienceId, "not_registered", null, false, null, null, null, null)
        : new(audienceId, hook.State == AudienceHookState.Registered ? "registered" : "failed", hook.WebhookId, hook.Signed,
            hook.RegisteredAt, hook.CheckedAt, hook.LastError, hook.FailedAt);
}
