using System.Globalization;
using Hub.Api.Hosting;
using Hub.Core.Audiences;
using Hub.Core.Events;
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
        v1.MapGet("/events", ListEvents).WithTags("Events").ProducesValidationProblem()
            .WithSummary("The tenant's member events from Mailchimp (unsubscribed, cleaned, subscribed, profile_updated, email_changed), oldest first after the cursor ?since=; read on with nextCursor. Kept at least 7 days.");
        var audience = v1.MapGroup("/audiences/{audienceId}/events").WithTags("Events")
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        audience.MapGet("/", GetRegistration)
            .WithSummary("The list webhook Hub keeps on a managed audience: registered or failed (with the last error), when registered and last checked.");
        audience.MapPost("/repair", Repair).ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithSummary("Checks the audience's list webhook in Mailchimp now and registers it again when it is missing.");
        return v1;
    }

    public static async Task<Results<Ok<MemberEventPage>, ValidationProblem>> ListEvents(
        Tenant tenant, MemberEventLog log, CancellationToken cancellationToken, string? since = null, int limit = 100)
    {
        long? cursor = null;
        if (since is not null)
        {
            if (!long.TryParse(since, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed))
            {
                return Problems.Validation(new Dictionary<string, string[]> { ["since"] = ["A cursor as returned in nextCursor (digits)."] });
            }

            cursor = parsed;
        }

        if (limit is < 1 or > MaxLimit)
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["limit"] = [$"Must be between 1 and {MaxLimit}."] });
        }

        return TypedResults.Ok(await log.ReadAsync(tenant.Id, cursor, limit, cancellationToken));
    }

    public static async Task<Results<Ok<AudienceEventsResponse>, ProblemHttpResult>> GetRegistration(
        string audienceId, Tenant tenant, TenantMailchimp guard, AudienceHookStore store, CancellationToken cancellationToken)
    {
        if (await guard.GuardAsync(tenant.Id, audienceId, cancellationToken) is { } notManaged)
        {
            return notManaged.ToProblem();
        }

        return TypedResults.Ok(AudienceEventsResponse.From(audienceId, await store.GetAsync(tenant.Id, audienceId)));
    }

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
public sealed record AudienceEventsResponse(
    string AudienceId, string State, string? WebhookId, bool Signed, DateTimeOffset? RegisteredAt, DateTimeOffset? CheckedAt, string? LastError, DateTimeOffset? FailedAt)
{
    public static AudienceEventsResponse From(string audienceId, AudienceHook? hook) => hook is null
        ? new(audienceId, "not_registered", null, false, null, null, null, null)
        : new(audienceId, hook.State == AudienceHookState.Registered ? "registered" : "failed", hook.WebhookId, hook.Signed,
            hook.RegisteredAt, hook.CheckedAt, hook.LastError, hook.FailedAt);
}
