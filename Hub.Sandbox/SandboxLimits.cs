using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>
/// Endpoint metadata naming a sandbox route for counters and fault selection, e.g. "PUT member".
/// A fault's route matches the name, an alias, "METHOD /pattern" (pattern relative to <c>/{dc}/3.0</c>) or "*".
/// </summary>
public sealed record SandboxRoute(string Name, string Method, string Pattern, IReadOnlyList<string> Aliases)
{
    public bool Matches(string selector, string method, string pattern)
    {
        var s = selector.Trim();
        return s == "*"
            || s.Equals(Name, StringComparison.OrdinalIgnoreCase)
            || Aliases.Any(a => a.Equals(s, StringComparison.OrdinalIgnoreCase))
            || s.Equals($"{method} {pattern}", StringComparison.OrdinalIgnoreCase);
    }
}

/// <summary>What the marketing API knows about the caller once authenticated.</summary>
internal static class SandboxCaller
{
    private const string Key = "Hub.Sandbox.Account";

    public static string AccountId(HttpContext http) => ((Account)http.Items[Key]!).Id;

    public static void Set(HttpContext http, Account account) => http.Items[Key] = account;

    /// <summary>The key or token from Basic (any user, key as password), Bearer, OAuth or the legacy <c>apikey</c> query.</summary>
    public static string? Credential(HttpRequest request)
    {
        var header = request.Headers.Authorization.ToString();
        if (AuthenticationHeaderValue.TryParse(header, out var parsed) && parsed.Parameter is { } value)
        {
            if (parsed.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                try
                {
                    var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(value));
                    var colon = decoded.IndexOf(':');
                    return colon < 0 ? null : decoded[(colon + 1)..];
                }
                catch (FormatException)
                {
                    return null;
                }
            }
            if (parsed.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase) || parsed.Scheme.Equals("OAuth", StringComparison.OrdinalIgnoreCase))
                return value;
            return null;
        }
        return HttpMethods.IsGet(request.Method) && request.Query.TryGetValue("apikey", out var key) ? key.ToString() : null;
    }
}

/// <summary>
/// The rules every marketing API call passes through, in Mailchimp's order: authentication (401),
/// the per-account connection limit (429), then injected faults and configured latency while the
/// call holds its slot, so in-flight counting is real.
/// </summary>
internal static class SandboxLimits
{
    public static async ValueTask<object?> MarketingFilter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var state = http.RequestServices.GetRequiredService<SandboxState>();
        var route = http.GetEndpoint()?.Metadata.GetMetadata<SandboxRoute>();
        if (route is not null && state.CaptureRequests) await CaptureAsync(http, state, route);
        var status = 499; // the client went away before an answer
        try
        {
            var result = await Guarded(http, state, route, context, next);
            status = StatusOf(result);
            return result;
        }
        finally
        {
            if (route is not null) state.CountCall(route.Name, status);
        }
    }

    /// <summary>Records the request (method, path below <c>/{dc}/3.0</c>, route template, query names, JSON body) and rewinds the body for the handler.</summary>
    private static async Task CaptureAsync(HttpContext http, SandboxState state, SandboxRoute route)
    {
        var request = http.Request;
        JsonNode? body = null;
        string? text = null;
        if (request.ContentLength is > 0 || request.Headers.TransferEncoding.Count > 0)
        {
            request.EnableBuffering();
            using (var reader = new StreamReader(request.Body, Encoding.UTF8, detectEncodingFromByteOrderMarks: false, leaveOpen: true))
                text = await reader.ReadToEndAsync(http.RequestAborted);
            request.Body.Position = 0;
            try
            {
                body = text.Length == 0 ? null : JsonNode.Parse(text);
                if (body is not null || text.Length == 0) text = null;
            }
            catch (System.Text.Json.JsonException)
            {
            }
        }
        var full = request.Path.Value ?? "";
        var api = full.IndexOf("/3.0", StringComparison.Ordinal);
        var path = api < 0 ? full : full[(api + 4)..];
        state.Capture(request.Method, path.Length == 0 ? "/" : path, route.Pattern, [.. request.Query.Keys], body, text);
    }

    public static async ValueTask<object?> CountingFilter(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var http = context.HttpContext;
        var state = http.RequestServices.GetRequiredService<SandboxState>();
        var route = http.GetEndpoint()?.Metadata.GetMetadata<SandboxRoute>();
        var result = await next(context);
        if (route is not null) state.CountCall(route.Name, StatusOf(result));
        return result;
    }

    private static int StatusOf(object? result) => result is IStatusCodeHttpResult { StatusCode: { } code } ? code : 200;

    private static async ValueTask<object?> Guarded(HttpContext http, SandboxState state, SandboxRoute? route, EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var dc = http.Request.RouteValues["dc"] as string;
        var account = SandboxCaller.Credential(http.Request) is { } credential ? state.Authenticate(credential) : null;
        if (account is null || !string.Equals(account.Dc, dc, StringComparison.OrdinalIgnoreCase))
            return SandboxJson.Problem(401, "API Key Invalid", "Your API key may be invalid, or you've attempted to access the wrong datacenter.");
        SandboxCaller.Set(http, account);

        if (!state.TryEnter(account))
            return TooManyRequests(account.MaxConcurrentRequests);
        try
        {
            var ct = http.RequestAborted;
            var fault = route is null ? null : state.DrawFault(route, route.Method, route.Pattern);
            switch (fault)
            {
                case "429":
                    return TooManyRequests(account.MaxConcurrentRequests);
                case "500":
                    return SandboxJson.Problem(500, "Internal Server Error", "An unexpected internal error has occurred. Please contact Support for more information.");
                case "hang":
                    await Task.Delay(state.Options.HangDuration, state.Time, ct);
                    return TypedResults.Content("<html><body><h1>502 Bad Gateway</h1></body></html>", "text/html", Encoding.UTF8, 502);
            }
            if (SandboxPartialResponse.Refusal(http.Request) is { } refused)
                return refused;

            // The configured latency is the answer's time, the handler's work included: it runs at the start of
            // the latency, so a client that gives up during the wait finds the change made (as with Mailchimp).
            var started = state.Time.GetTimestamp();
            CallLatency.Set(http, state.PerCallLatency);
            var result = SandboxPartialResponse.Apply(http.Request, await next(context));
            if (CallLatency.Remaining(http, state.Time.GetElapsedTime(started)) is { } remaining && remaining > TimeSpan.Zero)
                await Task.Delay(remaining, state.Time, ct);
            return result;
        }
        finally
        {
            SandboxState.Exit(account);
        }
    }

    private static IResult TooManyRequests(int limit) =>
        SandboxJson.Problem(429, "Too Many Requests", $"You have exceeded the limit of {limit} simultaneous connections.");
}

/// <summary>How long the current marketing call should take in all: the per-call latency plus what its handler adds (per member in a batch).</summary>
internal static class CallLatency
{
    private const string Key = "Hub.Sandbox.Latency";

    public static void Set(HttpContext http, TimeSpan latency) => http.Items[Key] = latency;

    public static void Add(HttpContext http, TimeSpan extra) => http.Items[Key] = (http.Items[Key] is TimeSpan latency ? latency : TimeSpan.Zero) + extra;

    public static TimeSpan? Remaining(HttpContext http, TimeSpan elapsed) => http.Items[Key] is TimeSpan latency ? latency - elapsed : null;
}
