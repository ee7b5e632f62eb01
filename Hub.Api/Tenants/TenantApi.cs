using Hub.Api.Admin;
using Hub.Api.Hosting;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Tenants;

/// <summary>The <c>/api/v1</c> group: tenant-key authentication, per-tenant rate limit. Features add their routes to it.</summary>
public static class TenantApi
{
    public static RouteGroupBuilder MapTenantApiGroup(this IEndpointRouteBuilder app) =>
        app.MapGroup("/api/v1")
            .RequireAuthorization(HubAuth.TenantPolicy)
            .RequireRateLimiting(RateLimits.TenantPolicy);

    public static RouteGroupBuilder MapTenantProfileApi(this RouteGroupBuilder v1)
    {
        v1.MapGet("/tenant", GetOwnTenant).WithTags("Tenant");
        return v1;
    }

    /// <summary>Read the tenant that owns the calling key.</summary>
    /// <remarks>Its settings as the operator set them (name, return origins, webhook URL, audience defaults); never a key or secret.</remarks>
    public static Ok<TenantResponse> GetOwnTenant(Tenant tenant) => TypedResults.Ok(TenantResponse.From(tenant));
}
