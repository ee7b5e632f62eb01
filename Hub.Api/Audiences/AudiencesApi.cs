using Hub.Api.Hosting;
using Hub.Core.Audiences;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Audiences;

/// <summary>Audiences in the tenant's Mailchimp account: read any, write only managed ones.</summary>
public static class AudiencesApi
{
    private const int MaxPageSize = 1000;

    public static RouteGroupBuilder MapAudiencesApi(this RouteGroupBuilder v1)
    {
        var audiences = v1.MapGroup("/audiences").WithTags("Audiences")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        audiences.MapGet("/", ListAudiences).Produces<Page<Audience>>().ProducesValidationProblem();
        audiences.MapPost("/", CreateAudience).Produces<Audience>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithRequestExample(new { name = "Acme customers", permissionReminder = "You bought from Acme.", contact = new { company = "Acme Ltd", address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" }, campaignDefaults = new { fromName = "Acme", fromEmail = "news@acme.example", subject = "Acme news", language = "en" }, doubleOptin = false });
        audiences.MapGet("/{audienceId}", GetAudience).Produces<Audience>().ProducesProblem(StatusCodes.Status404NotFound);
        audiences.MapPatch("/{audienceId}", UpdateAudience).Produces<Audience>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithRequestExample(new { permissionReminder = "You signed up at checkout." });
        audiences.MapDelete("/{audienceId}", DeleteAudience).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
        audiences.MapPost("/{audienceId}/manage", ManageAudience).Produces<Audience>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        audiences.MapDelete("/{audienceId}/manage", StopManagingAudience).Produces(StatusCodes.Status204NoContent);
        return v1;
    }

    /// <summary>List the account's audiences, with whether Hub manages each.</summary>
    /// <remarks>
    /// Every audience in the connected Mailchimp account, as Mailchimp orders them, each with <c>managed</c> and <c>createdByHub</c>, a page
    /// with <c>total</c>. Mailchimp pages audiences by position only, so an audience created or deleted while paging can shift one.
    /// 409 <c>not_connected</c> without a connection.
    /// </remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the first page.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    public static async Task<Results<Ok<Page<Audience>>, ValidationProblem, ProblemHttpResult>> ListAudiences(
        Tenant tenant, AudienceService audiences, CancellationToken cancellationToken, string? cursor = null, int limit = 100)
    {
        if (Paging.CheckOffset(cursor, limit, MaxPageSize, out var offset) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        var page = await audiences.ListAsync(tenant, offset, limit, cancellationToken);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error.ToProblem();
    }

    /// <summary>Create a managed audience.</summary>
    /// <remarks>
    /// <c>name</c> is required; <c>permissionReminder</c>, <c>contact</c> and <c>campaignDefaults</c> default to the tenant's. Mailchimp's
    /// required fields are checked before Mailchimp is called. The audience is managed and counts as created by Hub.
    /// </remarks>
    public static async Task<Results<Created<Audience>, ProblemHttpResult>> CreateAudience(CreateAudienceRequest request, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var created = await audiences.CreateAsync(tenant, request.ToDraft(), cancellationToken);
        return created.IsSuccess ? TypedResults.Created($"/api/v1/audiences/{created.Value.Id}", created.Value) : created.Error.ToProblem();
    }

    /// <summary>Read an audience.</summary>
    /// <remarks>Any audience of the account, managed or not.</remarks>
    /// <param name="audienceId">Mailchimp's audience (list) id.</param>
    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> GetAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var audience = await audiences.GetAsync(tenant, audienceId, cancellationToken);
        return audience.IsSuccess ? TypedResults.Ok(audience.Value) : audience.Error.ToProblem();
    }

    /// <summary>Change a managed audience.</summary>
    /// <remarks>Only the fields sent change: name, permission reminder, contact or campaign defaults. 403 <c>audience_not_managed</c> for an audience Hub does not manage.</remarks>
    /// <param name="audienceId">Mailchimp's audience (list) id.</param>
    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> UpdateAudience(string audienceId, UpdateAudienceRequest request, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var updated = await audiences.UpdateAsync(tenant, audienceId, request.ToChanges(), cancellationToken);
        return updated.IsSuccess ? TypedResults.Ok(updated.Value) : updated.Error.ToProblem();
    }

    /// <summary>Delete an audience Hub created, in Mailchimp.</summary>
    /// <remarks>
    /// Irreversible: its contacts and history are gone. The id must be repeated as <c>?confirm=</c> (400 <c>confirmation_required</c>
    /// otherwise). An audience Hub did not create is refused with 403 <c>audience_not_created_by_hub</c> and nothing is sent to Mailchimp.
    /// </remarks>
    /// <param name="audienceId">Mailchimp's audience (list) id.</param>
    /// <param name="confirm">The audience id again, to confirm.</param>
    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteAudience(string audienceId, string? confirm, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        if (confirm != audienceId)
        {
            return Problems.Create(StatusCodes.Status400BadRequest, FacadeErrors.ConfirmationRequired, "Confirmation required",
                $"Deleting an audience erases its contacts and history in Mailchimp for good. Repeat the audience id as ?confirm={audienceId} to proceed.");
        }

        var deleted = await audiences.DeleteAsync(tenant, audienceId, cancellationToken);
        return deleted.IsSuccess ? TypedResults.NoContent() : deleted.Error.ToProblem();
    }

    /// <summary>Register an existing audience as managed.</summary>
    /// <remarks>
    /// The audience handed over with the OAuth app, or any audience when the operator set the tenant's <c>allowAudienceAdoption</c>
    /// (403 <c>audience_adoption_not_allowed</c> otherwise). Checked to exist; an audience already managed stays as it is.
    /// </remarks>
    /// <param name="audienceId">Mailchimp's audience (list) id.</param>
    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> ManageAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var managed = await audiences.ManageAsync(tenant, audienceId, cancellationToken);
        return managed.IsSuccess ? TypedResults.Ok(managed.Value) : managed.Error.ToProblem();
    }

    /// <summary>Stop managing an audience.</summary>
    /// <remarks>Hub forgets it; Mailchimp keeps it with its contacts. 409 <c>audience_in_use</c> while lists are linked to it; 204 also when Hub did not manage it. Nothing is sent to Mailchimp.</remarks>
    /// <param name="audienceId">Mailchimp's audience (list) id.</param>
    public static async Task<Results<NoContent, ProblemHttpResult>> StopManagingAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var stopped = await audiences.StopManagingAsync(tenant, audienceId, cancellationToken);
        return stopped.IsSuccess ? TypedResults.NoContent() : stopped.Error.ToProblem();
    }
}
