using Hub.Api.People;
using Hub.Core.Events;

namespace Hub.Api.Hosting;

/// <summary>
/// Request paths that hold what must not reach a trace or a problem body: the list webhook receiver's secret, a person's
/// address (<c>GET /api/v1/people/{email}</c>). Traces and problems show such a path as its route.
/// </summary>
public static class RedactedPaths
{
    /// <summary>The route to show instead of <paramref name="path"/>, or null when the path may be shown.</summary>
    public static string? RouteOf(PathString path) =>
        path.StartsWithSegments(AudienceHooks.ReceiverPath) ? AudienceHooks.ReceiverRoute : PeopleApi.RouteOf(path);
}
