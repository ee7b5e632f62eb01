using Hub.Api.Hosting;
using Hub.Core.Events;
using Hub.Core.Security;
using Hub.Core.Storage;
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

        admin.MapPost("/tenants", CreateTenant).ProducesValidationProblem()
            .WithRequestExample(new
            {
                name = "Acme", allowedReturnOrigins = new[] { "https://app.acme.example" }, webhookUrl = "https://app.acme.example/hub-events",
                defaultPermissionReminder = "You bought from Acme.",
                defaultContact = new { company = "Acme Ltd", address1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308", country = "US" },
                defaultCampaignDefaults = new { fromName = "Acme", fromEmail = "news@acme.example", subject = "Acme news", language = "en" },
            });
        admin.MapGet("/tenants", ListTenants).ProducesValidationProblem();
        admin.MapGet("/tenants/{tenantId}", GetTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPatch("/tenants/{tenantId}", UpdateTenant).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample(new { webhookUrl = "https://app.acme.example/hooks/hub", allowAudienceAdoption = true });
        admin.MapPost("/tenants/{tenantId}/disable", DisableTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/tenants/{tenantId}/enable", EnableTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/tenants/{tenantId}", DeleteTenant).ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapPost("/tenants/{tenantId}/webhook-secret", RotateWebhookSecret).ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/tenants/{tenantId}/keys", IssueKey).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample(new { name = "production" });
        admin.MapGet("/tenants/{tenantId}/keys", ListKeys).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        admin.MapDelete("/tenants/{tenantId}/keys/{keyId}", RevokeKey).ProducesProblem(StatusCodes.Status404NotFound);

        admin.MapPost("/encryption/re-encrypt", ReEncrypt);
        return app;
    }

    /// <summary>Create a tenant: one host application (or customer) with its own keys, connection, lists and webhook.</summary>
    /// <remarks>
    /// <c>name</c> is required (one line, no control characters). The audience defaults (<c>defaultPermissionReminder</c>,
    /// <c>defaultContact</c>, <c>defaultCampaignDefaults</c>) fill what a new audience leaves out, so a list can be linked with
    /// just <c>newAudience.name</c>. Answers the tenant and its webhook signing secret, shown only in this response.
    /// </remarks>
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

    /// <summary>List tenants in creation order.</summary>
    /// <remarks>A page of tenants with <c>total</c>; read on with <c>nextCursor</c>. Tenants created meanwhile never shift a page.</remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the first page.</param>
    /// <param name="limit">Page size, 1 to 200.</param>
    public static async Task<Results<Ok<Page<TenantResponse>>, ValidationProblem>> ListTenants(
        TenantStore tenants, CancellationToken cancellationToken, string? cursor = null, int limit = 50)
    {
        if (Paging.Check(cursor, limit, MaxPageSize, out var after) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        return TypedResults.Ok((await tenants.ListAsync(after, limit, cancellationToken)).Map(TenantResponse.From));
    }

    /// <summary>Read a tenant.</summary>
    /// <remarks>Settings only; never a key or secret. 404 <c>tenant_not_found</c> for an unknown id.</remarks>
    /// <param name="tenantId">The tenant's id (<c>tn_</c> and 20 letters and digits).</param>
    public static async Task<Results<Ok<TenantResponse>, ProblemHttpResult>> GetTenant(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.GetAsync(id, cancellationToken) is { } tenant
            ? TypedResults.Ok(TenantResponse.From(tenant))
            : TenantNotFound(tenantId);

    /// <summary>Change a tenant's settings.</summary>
    /// <remarks>Only the fields sent change; <c>"webhookUrl": ""</c> removes the webhook. <c>enabled</c> false refuses the tenant's keys with 403 <c>tenant_disabled</c>.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
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

    /// <summary>Disable a tenant.</summary>
    /// <remarks>Its keys get 403 <c>tenant_disabled</c> at once, on every replica; its data stays. Undo with <c>enable</c>.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
    public static Task<Results<Ok<TenantResponse>, ProblemHttpResult>> DisableTenant(string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        SetEnabled(tenantId, false, tenants, cancellationToken);

    /// <summary>Enable a disabled tenant.</summary>
    /// <remarks>Its keys work again at once.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
    public static Task<Results<Ok<TenantResponse>, ProblemHttpResult>> EnableTenant(string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        SetEnabled(tenantId, true, tenants, cancellationToken);

    /// <summary>Delete a tenant with its keys and all its data in Hub.</summary>
    /// <remarks>Removes the list webhooks Hub registered in Mailchimp first, while the credential works; audiences and contacts in Mailchimp stay. Irreversible.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
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

    /// <summary>Issue a new webhook signing secret.</summary>
    /// <remarks>Deliveries from now on are signed with the new secret, shown only in this response; the old one stops at once.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
    public static async Task<Results<Ok<WebhookSecretResponse>, ProblemHttpResult>> RotateWebhookSecret(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken) =>
        TenantId.TryParse(tenantId, out var id) && await tenants.RotateWebhookSecretAsync(id, cancellationToken) is { } secret
            ? TypedResults.Ok(new WebhookSecretResponse(secret.Reveal()))
            : TenantNotFound(tenantId);

    /// <summary>Issue a tenant API key.</summary>
    /// <remarks>
    /// The <c>key</c> (<c>hub_&lt;id&gt;_&lt;256 random bits&gt;</c>) is shown only in this response; Hub keeps only its SHA-256.
    /// A tenant may hold several keys, for rotation: issue a second, deploy it, revoke the first. The body is optional.
    /// </remarks>
    /// <param name="tenantId">The tenant's id.</param>
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

    /// <summary>List a tenant's API keys.</summary>
    /// <remarks>Ids, names and creation times, never the keys; oldest first, a page with <c>total</c>.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the first page.</param>
    /// <param name="limit">Page size, 1 to 200.</param>
    public static async Task<Results<Ok<Page<ApiKeyResponse>>, ValidationProblem, ProblemHttpResult>> ListKeys(
        string tenantId, TenantStore tenants, CancellationToken cancellationToken, string? cursor = null, int limit = 50)
    {
        if (Paging.Check(cursor, limit, MaxPageSize, out var after) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        return TenantId.TryParse(tenantId, out var id) && await tenants.ListKeysAsync(id, cancellationToken) is { } keys
            ? TypedResults.Ok(Page<TenantApiKeyInfo>.Of(keys, key => new PageCursor(key.CreatedAt.ToUnixTimeMilliseconds(), key.Id), after, limit)
                .Map(key => new ApiKeyResponse(key.Id, key.Name, key.CreatedAt)))
            : TenantNotFound(tenantId);
    }

    /// <summary>Revoke a tenant API key.</summary>
    /// <remarks>At once, on every replica. 404 <c>api_key_not_found</c> for a key the tenant does not hold.</remarks>
    /// <param name="tenantId">The tenant's id.</param>
    /// <param name="keyId">The key's id, as issued (the part after <c>hub_</c>).</param>
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

    /// <summary>Re-encrypt every stored secret under the active encryption key.</summary>
    /// <remarks>
    /// For encryption key rotation: add the new key under <c>Hub:Encryption:Keys</c>, point <c>Hub:Encryption:ActiveKeyId</c> at it on
    /// every replica, call this, then remove the old key. Safe to repeat.
    /// </remarks>
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
