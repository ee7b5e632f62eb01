using Hub.Api.Hosting;
using Hub.Core.Jobs;
using Hub.Core.People;
using Hub.Core.Tenants;
using Hub.Core.Storage;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Hub.Api.People;

/// <summary>
/// A person's rights (GDPR/AVG): what Hub and the tenant's managed audiences hold of an address, and its erasure everywhere.
/// The address of <c>GET /people/{email}</c> is in the path, so traces and problems name the route instead (<see cref="PersonRoute"/>).
/// </summary>
public static class PeopleApi
{
    public const string PersonPath = "/api/v1/people";

    /// <summary>The route of a person as traces and problems show it, never with the address.</summary>
    public const string PersonRoute = PersonPath + "/{email}";

    private const string ErasuresSegment = "erasures";

    public static RouteGroupBuilder MapPeopleApi(this RouteGroupBuilder v1)
    {
        var people = v1.MapGroup("/people").WithTags("People");
        people.MapPost("/" + ErasuresSegment, StartErasure).Produces<ErasureResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .WithRequestExample(new { email = "ann@example.com", reason = "Request of 2026-12-01 by e-mail" });
        people.MapGet("/" + ErasuresSegment + "/{erasureId}", GetErasure).Produces<ErasureResponse>().ProducesProblem(StatusCodes.Status404NotFound);
        people.MapGet("/{email}", FindPerson).Produces<PersonResponse>().ProducesValidationProblem();
        return v1;
    }

    /// <summary>The route to show for a request path that carries an address (<c>/api/v1/people/{email}</c>), else null.</summary>
    public static string? RouteOf(PathString path) =>
        path.StartsWithSegments(PersonPath, out var rest) && rest.Value is { Length: > 1 } value && !value.StartsWith("/" + ErasuresSegment, StringComparison.Ordinal)
            ? PersonRoute
            : null;

    /// <summary>Find everything held of an address for the tenant.</summary>
    /// <remarks>
    /// The contact in every managed audience (status, merge fields, tags), the host lists that hold it, and which of Hub's own records
    /// mention it (list ledgers, job errors, webhook deliveries, member events). For a person's right of access.
    /// </remarks>
    /// <param name="email">The address (case does not matter).</param>
    public static async Task<Results<Ok<PersonResponse>, ProblemHttpResult>> FindPerson(string email, Tenant tenant, PersonFinder finder, CancellationToken cancellationToken)
    {
        var found = await finder.FindAsync(tenant, email, cancellationToken);
        return found.IsSuccess ? TypedResults.Ok(PersonResponse.From(found.Value)) : found.Error.ToProblem();
    }

    /// <summary>Erase a person everywhere for the tenant.</summary>
    /// <remarks>
    /// Permanently deletes the contact in every managed audience, then every record Hub keeps of the address; later writes of it are
    /// refused (<c>person_erased</c>). A durable job: follow <c>statusUrl</c>. A second request for the same address while one is queued or
    /// running joins it (same id, <c>joined</c> true).
    /// </remarks>
    public static async Task<Results<Accepted<ErasureResponse>, ProblemHttpResult>> StartErasure(
        StartErasureRequest request, Tenant tenant, ErasureService erasures, IOptions<HubOptions> hub, CancellationToken cancellationToken)
    {
        var started = await erasures.StartAsync(tenant.Id, request.Email, request.Reason, cancellationToken);
        if (!started.IsSuccess)
        {
            return started.Error.ToProblem();
        }

        var response = ErasureResponse.From(started.Value.Erasure, hub.Value, started.Value.Joined);
        return TypedResults.Accepted(response.StatusUrl, response);
    }

    /// <summary>Read an erasure.</summary>
    /// <remarks>Its state and its progress per managed audience.</remarks>
    /// <param name="erasureId">The erasure's id (a job id).</param>
    public static async Task<Results<Ok<ErasureResponse>, ProblemHttpResult>> GetErasure(
        string erasureId, Tenant tenant, ErasureService erasures, IOptions<HubOptions> hub, CancellationToken cancellationToken) =>
        JobId.TryParse(erasureId, out var id) && await erasures.GetAsync(tenant.Id, id, cancellationToken) is { } erasure
            ? TypedResults.Ok(ErasureResponse.From(erasure, hub.Value))
            : Problems.NotFound("erasure_not_found", $"This tenant has no erasure '{erasureId}'.");
}
