using Hub.Core.Audiences;
using Hub.Core.Tenants;

namespace Hub.Core.Mailchimp;

/// <summary>What a passthrough call may do, decided before anything reaches Mailchimp.</summary>
public sealed record PassthroughDecision(MailchimpError? Refusal, bool RegistersNewAudience, string? DeletesAudience);

/// <summary>
/// The passthrough's rules: reads go anywhere; writes under <c>/lists/{id}</c> only to audiences Hub
/// manages for the tenant, and <c>DELETE /lists/{id}</c> only of an audience Hub created; <c>POST /lists</c>
/// creates an audience that becomes managed (and Hub's own); any other write only when the tenant allows it. An empty
/// path is the API root (<c>GET /3.0/</c>, the account).
/// Paths with dot segments, backslashes, control characters or encoded slashes are refused outright, so
/// nothing can step outside the API base.
/// </summary>
public sealed class PassthroughRules(TenantMailchimp tenantMailchimp)
{
    public async Task<PassthroughDecision> DecideAsync(Tenant tenant, string method, string path, string rawTarget, CancellationToken cancellationToken)
    {
        if (PathProblem(path, rawTarget) is { } problem)
        {
            return new(FacadeErrors.Invalid("path", problem), false, null);
        }

        var segments = path.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (HttpMethods.IsRead(method))
        {
            return new(null, false, null);
        }

        // Routing in Mailchimp (and the sandbox) ignores case, so /LISTS/{id} must meet the same guard.
        var underLists = segments.Length > 0 && string.Equals(segments[0], "lists", StringComparison.OrdinalIgnoreCase);
        if (underLists && segments.Length == 1 && method == "POST")
        {
            return new(null, true, null);
        }

        if (underLists && segments is [_, var audienceId, ..])
        {
            var deletesAudience = method == "DELETE" && segments.Length == 2;
            var refusal = deletesAudience
                ? await tenantMailchimp.GuardDeletionAsync(tenant.Id, audienceId, cancellationToken)
                : await tenantMailchimp.GuardAsync(tenant.Id, audienceId, cancellationToken);
            return new(refusal, false, refusal is null && deletesAudience ? audienceId : null);
        }

        return tenant.AllowPassthroughWrites
            ? new(null, false, null)
            : new(FacadeErrors.Create(FacadeErrors.PassthroughWriteNotAllowed, "Write not allowed",
                "Through the passthrough this tenant may write only under /lists/{audience id} of audiences Hub manages (and POST /lists). Ask the operator to set allowPassthroughWrites for other writes."), false, null);
    }

    private static string? PathProblem(string path, string rawTarget)
    {
        var rawPath = rawTarget.Split('?', 2)[0];
        if (rawPath.Contains("%2f", StringComparison.OrdinalIgnoreCase) || rawPath.Contains("%5c", StringComparison.OrdinalIgnoreCase)
            || rawPath.Contains("%2e", StringComparison.OrdinalIgnoreCase) || rawPath.Contains('\\', StringComparison.Ordinal))
        {
            return "Encoded slashes, encoded dots and backslashes are not allowed in the path.";
        }

        // Kestrel resolves dot segments before routing, so they are looked for in the raw target too.
        if (path.Any(char.IsControl) || path.Split('/').Any(segment => segment is "." or "..")
            || rawPath.Split('/').Any(segment => segment is "." or ".."))
        {
            return "Dot segments and control characters are not allowed in the path.";
        }

        // A rooted ("/x", "//host/x") or absolute ("http://host/x") path would leave the API base, or the host.
        if (path.StartsWith('/') || path.Contains("//", StringComparison.Ordinal) || path.Split('/')[0].Contains(':', StringComparison.Ordinal)
            || !Uri.TryCreate(path, UriKind.Relative, out _))
        {
            return "The path must be relative to the Mailchimp API base, e.g. lists/{list_id}/members.";
        }

        return null;
    }

    private static class HttpMethods
    {
        public static bool IsRead(string method) => method is "GET" or "HEAD" or "OPTIONS";
    }
}
