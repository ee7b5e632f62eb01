using Hub.Api.Hosting;
using Hub.Core.Events;
using Hub.Core.Security;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace Hub.Api.Admin;

/// <summary>Operator routes under <c>/api/admin</c>, authenticated with the admin key.</summary>
public static class AdminApi
{
    private const int MaxPageSize = 200;

    public static IEndpointRouteBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/admin")
            .RequireAuthorization(HubAuth.AdminPolicy)
            .WithTags("Admin")
            .ProducesProblem(StatusCodes.Status401Unauthorized);

        admin.MapPost("/tenants", CreateTenant).ProducesValidationProblem().ProducesProblem(StatusCodes.Status413PayloadTooLarge);
        admin.MapGet("/tenants", ListTenants).ProducesValidationProblem();
        admin.MapGet("/tenants/{tenantId}", GetTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPatch("/tenants/{tenantId}", UpdateTenant).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/tenants/{tenantId}/disable", DisableTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/tenants/{tenantId}/enable", EnableTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/tenants/{tenantId}", DeleteTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/tenants/{tenantId}/webhook-secret", RotateWebhookSecret).ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/tenants/{tenantId}/keys", IssueKey).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapGet("/tenants/{tenantId}/keys", ListKeys).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/tenants/{tenantId}/keys/{keyId}", RevokeKey).ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/encryption/re-encrypt", ReEncrypt);
        return app;
    }

    public static async Task<Results<Created<CreatedTenantResponse>, ValidationProblem>> CreateTenant(
        TenantRequest request, TenantStore tenants, IOptions<WebhookOptions> webhooks, CancellationToken cancellationToken)
    {
        var changes = request.ToChanges();
        var errors = TenantRules.Validate(changes, isCreate: true, allowPrivateWebhookTargets: webhooks.Value.AllowPrivateTargets == true);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        var (tenant, signingSecret) = await tenants.CreateAsync(changes, cancellationToken);
        return TypedResults.Created($"/api/admin/tenants/{tenant.Id}", new CreatedTenantResponse(TenantResponse.From(tenant), signingSecret.Reveal()));
    }

    public static async Task<Results<Ok<TenantPage>, ValidationProblem>> ListTenants(
        TenantStore tenants, CancellationToken cancellationToken, int offset = 0, int limit = 50)
    {
        if (offset < 0 || limit is < 1 or > MaxPageSize)
        {
            return Problems.Validation(new Dictionary<string, string[]>
            {
                [offset < 0 ? "offset" : "limit"] = [offset < 0 ? "Must be 0 or more." : $"Must be between 1 and {MaxPageSize}."],
            });
        }

        var (items, total) = await tenants.ListAsync(offset, limit, cancellationToken);
        return TypedResults.Ok(new TenantPage(items.Select(TenantResponse.From).ToList(), total, offset, limit));
    }

    public static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetTenant(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.GetAsync(id, cancellationToken) is { } tenant
            ? TypedResults.Ok(TenantResponse.From(tenant))
            : TenantNotFound(tenantId);

    public static async Task<Results<Ok<TenantResponse>, ValidationProblem, ProblemHttpResult>> UpdateTenant(
        string tenantId, TenantRequest request, TenantStore tenants, IOptions<WebhookOptions> webhooks, CancellationToken cancellationToken)
    {
        if (!TenantId.TryParse(tenantId, out var id))
        {
            return TenantNotFound(tenantId);
        }

        var changes = request.ToChanges();
        var errors = TenantRules.Validate(changes, isCreate: false, allowPrivateWebhookTargets: webhooks.Value.AllowPrivateTargets == true);
        if (errors.Count > 0)
        {
            return Problems.Validation(errors);
        }

        return await tenants.UpdateAsync(id, changes, cancellationToken) is { } tenant
            ? TypedResults.Ok(TenantResponse.From(tenant))
            : TenantNotFound(tenantId);
    }

    public static Task<Results<Ok<TenantResponse>, ProblemHttpResult>> DisableTenant(string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        SetEnabled(tenantId, false, tenants, cancellationToken);

    public static Task<Results<Ok<TenantResponse>, ProblemHttpResult>> EnableTenant(string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        SetEnabled(tenantId, true, tenants, cancellationToken);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTenant(string tenantId, TenantStore tenants, AudienceHooks hooks, CancellationToken cancellationToken)
    {
        if (!TenantId.TryParse(tenantId, out var id) || await tenants.GetAsync(id, cancellationToken) is null)
        {
            return TenantNotFound(tenantId);
        }

        // The tenant's list webhooks are removed from Mailchimp while its credential still works.
        await hooks.RemoveAllAsync(id, cancellationToken);
        return await tenants.DeleteAsync(id, cancellationToken) ? TypedResults.NoContent() : TenantNotFound(tenantId);
    }

    public static async Task<Results<Ok<WebhookSecretResponse>, ProblemHttpResult>> RotateWebhookSecret(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.RotateWebhookSecretAsync(id, cancellationToken) is { } secret
            ? TypedResults.Ok(new WebhookSecretResponse(secret.Reveal()))
            : TenantNotFound(tenantId);

    public static async Task<Results<Created<IssuedKeyResponse>, ValidationProblem, ProblemHttpResult>> IssueKey(
        string tenantId, IssueKeyRequest? request, TenantStore tenants, CancellationToken cancellationToken)
    {
        if (request?.Name is { Length: > 100 })
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["name"] = ["At most 100 characters."] });
        }

        if (!TenantId.TryParse(tenantId, out var id) || await tenants.IssueKeyAsync(id, request?.Name, cancellationToken) is not { } issued)
        {
            return TenantNotFound(tenantId);
        }

        return TypedResults.Created(
            $"/api/admin/tenants/{id}/keys/{issued.Info.Id}",
            new IssuedKeyResponse(issued.Info.Id, issued.Info.Name, issued.Key.Reveal(), issued.Info.CreatedAt));
    }

    public static async Task<Results<Ok<List<ApiKeyResponse>>, ProblemHttpResult>> ListKeys(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.ListKeysAsync(id, cancellationToken) is { } keys
            ? TypedResults.Ok(keys.Select(key => new ApiKeyResponse(key.Id, key.Name, key.CreatedAt)).ToList())
            : TenantNotFound(tenantId);

    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(
        string tenantId, string keyId, TenantStore tenants, CancellationToken cancellationToken)
    {
        if (!TenantId.TryParse(tenantId, out var id) || await tenants.GetAsync(id, cancellationToken) is null)
        {
            return TenantNotFound(tenantId);
        }

        return await tenants.RevokeKeyAsync(id, keyId, cancellationToken)
            ? TypedResults.NoContent()
            : Problems.NotFound("api_key_not_found", $"Tenant {id} has no API key '{keyId}'.");
    }

    public static async Task<Ok<ReEncryptionResponse>> ReEncrypt(TenantSecrets secrets, CancellationToken cancellationToken)
    {
        var report = await secrets.ReEncryptAllAsync(cancellationToken);
        return TypedResults.Ok(new ReEncryptionResponse(report.ReEncrypted, report.AlreadyCurrent, report.ActiveKeyId));
    }

    private static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> SetEnabled(
        string tenantId, bool enabled, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.UpdateAsync(id, new TenantChanges { Enabled = enabled }, cancellationToken) is { } tenant
            ? TypedResults.Ok(TenantResponse.From(tenant))
            : TenantNotFound(tenantId);

    private static ProblemHttpResult TenantNotFound(string tenantId) =>
        Problems.NotFound("tenant_not_found", $"No tenant with id '{tenantId}'.");
}
