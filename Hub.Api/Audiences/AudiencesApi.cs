using Hub.Api.Hosting;
using Hub.Core.Audiences;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Audiences;

/// <summary>Audiences in the tenant's Mailchimp account: read any, write only managed ones.</summary>
public static class AudiencesApi
{
    public static RouteGroupBuilder MapAudiencesApi(this RouteGroupBuilder v1)
    {
        var audiences = v1.MapGroup("/audiences").WithTags("Audiences")
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        audiences.MapGet("/", ListAudiences).Produces<AudiencePage>().ProducesValidationProblem()
            .WithSummary("The account's audiences, with whether Hub manages each.");
        audiences.MapPost("/", CreateAudience).Produces<Audience>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Create a managed audience (permission reminder, contact and campaign defaults default to the tenant's).")
            .WithRequestExample(new { name = "Acme customers", permissionReminder = "You bought from Acme.", contact = new { company = "Acme Ltd", address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" }, campaignDefaults = new { fromName = "Acme", fromEmail = "news@acme.example", subject = "Acme news", language = "en" }, doubleOptin = false });
        audiences.MapGet("/{audienceId}", GetAudience).Produces<Audience>().ProducesProblem(StatusCodes.Status404NotFound);
        audiences.MapPatch("/{audienceId}", UpdateAudience).Produces<Audience>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Change name, permission reminder, contact or campaign defaults of a managed audience.")
            .WithRequestExample(new { permissionReminder = "You signed up at checkout." });
        audiences.MapDelete("/{audienceId}", DeleteAudience).Produces(StatusCodes.Status204NoContent).ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Delete an audience Hub created, in Mailchimp (irreversible); needs ?confirm=<audienceId>. Audiences Hub did not create are refused (audience_not_created_by_hub).");
        audiences.MapPost("/{audienceId}/manage", ManageAudience).Produces<Audience>().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Register an existing audience as managed: the Audience ID handed over with the OAuth app, or any audience when the operator allows adoption (audience_adoption_not_allowed otherwise).");
        audiences.MapDelete("/{audienceId}/manage", StopManagingAudience).Produces(StatusCodes.Status204NoContent)
            .WithSummary("Stop managing an audience: Hub forgets it and Mailchimp keeps it. Refused (audience_in_use) while lists are linked to it.");
        return v1;
    }

    public static async Task<Results<Ok<AudiencePage>, ValidationProblem, ProblemHttpResult>> ListAudiences(Tenant tenant, AudienceService audiences, CancellationToken cancellationToken, int count = 100, int offset = 0)
    {
        if (count is < 1 or > 1000 || offset < 0)
        {
            return Problems.Validation(new Dictionary<string, string[]> { [offset < 0 ? "offset" : "count"] = [offset < 0 ? "Must be 0 or more." : "Between 1 and 1000."] });
        }

        var page = await audiences.ListAsync(tenant, count, offset, cancellationToken);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error.ToProblem();
    }

    public static async Task<Results<Created<Audience>, ProblemHttpResult>> CreateAudience(CreateAudienceRequest request, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var created = await audiences.CreateAsync(tenant, request.ToDraft(), cancellationToken);
        return created.IsSuccess ? TypedResults.Created($"/api/v1/audiences/{created.Value.Id}", created.Value) : created.Error.ToProblem();
    }

    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> GetAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var audience = await audiences.GetAsync(tenant, audienceId, cancellationToken);
        return audience.IsSuccess ? TypedResults.Ok(audience.Value) : audience.Error.ToProblem();
    }

    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> UpdateAudience(string audienceId, UpdateAudienceRequest request, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var updated = await audiences.UpdateAsync(tenant, audienceId, request.ToChanges(), cancellationToken);
        return updated.IsSuccess ? TypedResults.Ok(updated.Value) : updated.Error.ToProblem();
    }

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

    public static async Task<Results<Ok<Audience>, ProblemHttpResult>> ManageAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var managed = await audiences.ManageAsync(tenant, audienceId, cancellationToken);
        return managed.IsSuccess ? TypedResults.Ok(managed.Value) : managed.Error.ToProblem();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> StopManagingAudience(string audienceId, Tenant tenant, AudienceService audiences, CancellationToken cancellationToken)
    {
        var stopped = await audiences.StopManagingAsync(tenant, audienceId, cancellationToken);
        return stopped.IsSuccess ? TypedResults.NoContent() : stopped.Error.ToProblem();
    }
}
