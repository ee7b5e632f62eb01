using System.Security.Claims;
using System.Security.Cryptography;
using System.Text;
using System.Text.Encodings.Web;
using Hub.Core.Security;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Hub.Api.Hosting;

/// <summary>
/// Two bearer schemes: the operator's admin key for <c>/api/admin</c>, and tenant API keys for
/// <c>/api/v1</c>. The tenant is always the key's owner; no route takes a tenant id from its caller.
/// </summary>
public static class HubAuth
{
    public const string AdminScheme = "AdminKey";
    public const string TenantScheme = "TenantKey";
    public const string AdminPolicy = "Admin";
    public const string TenantPolicy = "Tenant";
    public const string TenantIdClaim = "hub:tenant";
    public const string KeyIdClaim = "hub:key";
    public const string TenantEnabledClaim = "hub:tenant-enabled";

    public static IServiceCollection AddHubAuthentication(this IServiceCollection services)
    {
        // The tenant of a /api/v1 request is a handler parameter (`Tenant tenant`): the key's handler
        // fills CurrentTenant, and Tenant resolves from it for the rest of the request.
        services.AddScoped<CurrentTenant>();
        services.AddScoped(provider => provider.GetRequiredService<CurrentTenant>().Tenant);
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, AdminKeyHandler>(AdminScheme, null)
            .AddScheme<AuthenticationSchemeOptions, TenantKeyHandler>(TenantScheme, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(AdminPolicy, policy => policy.AddAuthenticationSchemes(AdminScheme).RequireAuthenticatedUser())
            .AddPolicy(TenantPolicy, policy => policy.AddAuthenticationSchemes(TenantScheme).RequireAuthenticatedUser()
                .RequireClaim(TenantEnabledClaim, "true"));
        return services;
    }

    internal static string? BearerToken(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        return header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
    }
}

/// <summary>
/// The caller of the current request, set by <see cref="TenantKeyHandler"/> once its key is
/// authenticated. Scoped to the request; handlers take the <see cref="Hub.Core.Tenants.Tenant"/> itself.
/// </summary>
public sealed class CurrentTenant
{
    public AuthenticatedTenant? Caller { get; set; }

    /// <summary>The authenticated tenant of a <c>/api/v1</c> request.</summary>
    public Tenant Tenant =>
        Caller?.Tenant ?? throw new InvalidOperationException("No authenticated tenant on this request; is the route in the tenant group?");
}

/// <summary>Shared 401/403 answers as problem+json.</summary>
public abstract class BearerKeyHandler(IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    protected abstract string KeyDescription { get; }

    protected override Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.Headers.WWWAuthenticate = "Bearer";
        return WriteProblem(StatusCodes.Status401Unauthorized, "unauthorized", "Unauthorized",
            $"Send a valid {KeyDescription} as 'Authorization: Bearer <key>'.");
    }

    protected override Task HandleForbiddenAsync(AuthenticationProperties properties) =>
        WriteProblem(StatusCodes.Status403Forbidden, "tenant_disabled", "Forbidden", "This tenant is disabled. Ask the Hub operator to enable it.");

    private async Task WriteProblem(int status, string code, string title, string detail)
    {
        Response.StatusCode = status;
        var problems = Context.RequestServices.GetRequiredService<IProblemDetailsService>();
        await problems.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = Context,
            ProblemDetails = { Status = status, Title = title, Detail = detail, Type = Problems.TypePrefix + code },
        });
    }
}

public sealed class AdminKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, IOptions<AdminOptions> admin)
    : BearerKeyHandler(options, logger, encoder)
{
    private readonly byte[] _expected = SHA256.HashData(Encoding.UTF8.GetBytes(admin.Value.ApiKey ?? ""));

    protected override string KeyDescription => "admin key";

    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (HubAuth.BearerToken(Request) is not { Length: > 0 } presented)
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        // Compare digests in constant time so neither length nor content leaks through timing.
        var matches = CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), _expected);
        if (!matches)
        {
            return Task.FromResult(AuthenticateResult.Fail("Invalid admin key."));
        }

        var identity = new ClaimsIdentity([new Claim(ClaimTypes.Role, "admin")], HubAuth.AdminScheme);
        return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), HubAuth.AdminScheme)));
    }
}

/// <summary>
/// Tenant API keys, checked through <see cref="TenantStore.AuthenticateAsync"/>. A store fault there is
/// not a failed authentication: it is left to propagate, and <see cref="StoreOutage"/> answers 503
/// <c>store_unavailable</c> instead of 401.
/// </summary>
public sealed class TenantKeyHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options, ILoggerFactory logger, UrlEncoder encoder, TenantStore tenants)
    : BearerKeyHandler(options, logger, encoder)
{
    protected override string KeyDescription => "tenant API key";

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        if (HubAuth.BearerToken(Request) is not { Length: > 0 } presented)
        {
            return AuthenticateResult.NoResult();
        }

        if (await tenants.AuthenticateAsync(presented, Context.RequestAborted) is not { } caller)
        {
            return AuthenticateResult.Fail("Unknown or revoked tenant API key.");
        }

        Context.RequestServices.GetRequiredService<CurrentTenant>().Caller = caller;
        var identity = new ClaimsIdentity(
            [
                new Claim(HubAuth.TenantIdClaim, caller.Tenant.Id.ToString()),
                new Claim(HubAuth.KeyIdClaim, caller.KeyId),
                new Claim(HubAuth.TenantEnabledClaim, caller.Tenant.Enabled ? "true" : "false"),
            ],
            HubAuth.TenantScheme);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), HubAuth.TenantScheme));
    }
}
