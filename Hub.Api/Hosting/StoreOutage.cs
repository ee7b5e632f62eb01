using System.Globalization;
using Hub.Api.OAuth;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Microsoft.AspNetCore.Diagnostics;

namespace Hub.Api.Hosting;

/// <summary>
/// Honest answers while the store (Redis) cannot be reached: any request that fails on a store fault
/// (<see cref="StoreFaults.IsStoreFault"/>) is answered 503 <c>store_unavailable</c> with
/// <c>Retry-After</c>, never 500. That covers tenant API-key authentication too: a key lookup that
/// cannot reach Redis throws out of the authentication handler, so the caller gets this 503 rather
/// than a 401. A browser on the consent routes that asks for HTML gets a short page instead.
/// </summary>
public static partial class StoreOutage
{
    /// <summary>Seconds a client is asked to wait: about as long as a Redis restart or failover takes to be noticed.</summary>
    public const int RetryAfterSeconds = 5;

    /// <summary>503 store_unavailable: the store did not answer, so the request could not be served.</summary>
    public static Microsoft.AspNetCore.Mvc.ProblemDetails Problem() => new()
    {
        Status = StatusCodes.Status503ServiceUnavailable,
        Title = "Store unavailable",
        Detail = $"Hub cannot reach its data store right now. Retry after {RetryAfterSeconds} s.",
        Type = Problems.TypePrefix + StoreFaults.Code,
    };

    /// <summary>
    /// Refuses every request but the health probes (a store fault, so 503 <c>store_unavailable</c>) until the store is known to
    /// have the current key layout (<see cref="StoreLayout"/>): at start-up while the store does not answer, or while another
    /// replica moves it to the current layout.
    /// </summary>
    internal sealed class LayoutGate(RequestDelegate next, StoreLayout layout)
    {
        public Task InvokeAsync(HttpContext httpContext)
        {
            if (!layout.IsCurrent && !httpContext.Request.Path.StartsWithSegments("/health", StringComparison.Ordinal))
            {
                layout.EnsureCurrent();
            }

            return next(httpContext);
        }
    }

    /// <summary>Answers a store fault; registered before the other exception handlers.</summary>
    internal sealed partial class ExceptionHandler(IProblemDetailsService problemDetails, ILogger<ExceptionHandler> logger) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (!StoreFaults.IsStoreFault(exception))
            {
                return false;
            }

            // The route's pattern, not the path or query string: either can carry an email address.
            var route = (httpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)";
            LogStoreUnavailable(logger, httpContext.Request.Method, route, exception);
            HubTelemetry.Store.UnavailableAnswers.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Tags.HttpRoute, route));

            httpContext.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            httpContext.Response.Headers.RetryAfter = RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            if (OAuthEndpoints.StoreUnavailablePage(httpContext) is { } page)
            {
                await page.ExecuteAsync(httpContext);
                return true;
            }

            var problem = Problem();
            if (!await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception }))
            {
                // The client accepts no JSON: the detail as plain text, still a 503.
                await httpContext.Response.WriteAsync(problem.Detail!, cancellationToken);
            }

            return true;
        }

        [LoggerMessage(Level = LogLevel.Warning, Message = "Answered {Method} {Route} with 503 store_unavailable: the store could not serve it.")]
        private static partial void LogStoreUnavailable(ILogger logger, string method, string route, Exception exception);
    }
}
