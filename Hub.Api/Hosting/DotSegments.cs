using Microsoft.AspNetCore.Http.Features;

namespace Hub.Api.Hosting;

/// <summary>
/// Refuses a request whose path has a dot segment (<c>.</c> or <c>..</c>, also percent-encoded as
/// <c>%2e</c> in any case) with 400 <c>invalid_path</c>, before authentication, routing or any handler.
/// </summary>
/// <remarks>
/// Kestrel decodes <c>%2e</c> and resolves dot segments before routing, so
/// <c>DELETE /api/v1/lists/l1/members/..</c> would otherwise reach <c>DELETE /api/v1/lists/l1</c>, and
/// <c>PATCH /api/v1/audiences/A/../B</c> would change audience B. Only the raw request target still shows
/// what the client sent. No Hub route needs a dot segment: list keys, audience ids and emails are never
/// <c>.</c> or <c>..</c>.
/// </remarks>
public sealed class DotSegments(RequestDelegate next)
{
    public const string Code = "invalid_path";

    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problemDetails)
    {
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path.Value ?? "";
        if (!HasDotSegment(rawTarget))
        {
            await next(context);
            return;
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        await problemDetails.WriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            ProblemDetails =
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "Invalid path",
                Detail = "The path has a '.' or '..' segment (possibly percent-encoded). Hub does not resolve them; send the path as the route names it.",
                Type = Problems.TypePrefix + Code,
            },
        });
    }

    /// <summary>True when the path of a request target (origin form, or the path of an absolute form) has a <c>.</c> or <c>..</c> segment.</summary>
    public static bool HasDotSegment(string rawTarget)
    {
        var path = rawTarget.AsSpan();
        var end = path.IndexOfAny('?', '#');
        if (end >= 0)
        {
            path = path[..end];
        }

        // Absolute form (http://host/path): only the path counts.
        var scheme = path.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0 && !path[..scheme].Contains('/'))
        {
            var rest = path[(scheme + 3)..];
            var slash = rest.IndexOf('/');
            path = slash < 0 ? [] : rest[slash..];
        }

        foreach (var range in path.Split('/'))
        {
            // The longest spelling of a dot segment is %2e%2e.
            var segment = path[range];
            if (segment.IsEmpty || segment.Length > 6)
            {
                continue;
            }

            var decoded = segment.ToString().Replace("%2e", ".", StringComparison.OrdinalIgnoreCase);
            if (decoded is "." or "..")
            {
                return true;
            }
        }

        return false;
    }
}
