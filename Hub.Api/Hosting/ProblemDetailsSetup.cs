using System.Diagnostics;
using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;

namespace Hub.Api.Hosting;

public static class ProblemDetailsSetup
{
    /// <summary>Every error is problem+json: binding failures, 404/405, 413, store outages (503) and unhandled exceptions (no stack trace outside Development).</summary>
    public static IServiceCollection AddHubProblemDetails(this IServiceCollection services)
    {
        services.AddProblemDetails(options => options.CustomizeProblemDetails = context =>
        {
            // Paths that hold a secret or an address: their problems name the route instead.
            context.ProblemDetails.Instance ??= RedactedPaths.RouteOf(context.HttpContext.Request.Path) ?? context.HttpContext.Request.Path;
            context.ProblemDetails.Extensions.TryAdd("traceId", Activity.Current?.TraceId.ToString() ?? context.HttpContext.TraceIdentifier);
            if (context.ProblemDetails.Type is null or "" || context.ProblemDetails.Type.StartsWith("https://tools.ietf.org", StringComparison.Ordinal))
            {
                context.ProblemDetails.Type = Problems.TypePrefix + DefaultCode(context.ProblemDetails.Status ?? 500);
            }

            // Every 400 Hub means to give says why; a bare one comes from the framework failing to read the body as HTTP frames
            // it (Kestrel's error while binding is an IOException, which minimal APIs answer with an empty 400, not a throw).
            if (context.ProblemDetails is { Status: StatusCodes.Status400BadRequest, Detail: null } && context.Exception is null)
            {
                context.ProblemDetails.Detail = BodyUnreadable;
            }
        });
        // Handlers run in registration order; a store outage is a 503 whatever else went wrong on the way.
        services.AddExceptionHandler<StoreOutage.ExceptionHandler>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        // Binding failures throw, so the handler above can say what was wrong instead of an empty 400.
        services.Configure<RouteHandlerOptions>(options => options.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(options => options.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip);
        return services;
    }

    /// <summary>The detail of a 400 whose body could not be read as HTTP (see docs/api.md, "Requests Hub never sees").</summary>
    public const string BodyUnreadable =
        "The request body could not be read: its HTTP framing is malformed (e.g. a bad chunk size) or it ended before its declared length.";

    private static string DefaultCode(int status) => status switch
    {
        400 => "bad_request",
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        429 => "rate_limited",
        _ when status >= 500 => "internal_error",
        _ => "error",
    };

    /// <summary>413 payload_too_large: the body is over the endpoint's limit (1 MiB unless the endpoint says otherwise).</summary>
    public static Microsoft.AspNetCore.Mvc.ProblemDetails PayloadTooLarge(long? limit)
    {
        const long mebibyte = 1024 * 1024;
        var size = limit switch
        {
            null => "size",
            var bytes when bytes % mebibyte == 0 => $"{bytes / mebibyte} MiB",
            var bytes => $"{bytes} bytes",
        };
        var message = $"The request body is larger than the {size} this endpoint accepts.";
        return new Microsoft.AspNetCore.Mvc.ProblemDetails
        {
            Status = StatusCodes.Status413PayloadTooLarge,
            Title = "Payload too large",
            Detail = message,
            Type = Problems.TypePrefix + "payload_too_large",
            Extensions = { ["errors"] = new Dictionary<string, string[]> { ["$"] = [message] } },
        };
    }

    /// <summary>Turns request-binding failures (malformed JSON, missing body, too large) into 400/413 problems with an errors map.</summary>
    private sealed class BadRequestExceptionHandler(IProblemDetailsService problemDetails) : IExceptionHandler
    {
        public async ValueTask<bool> TryHandleAsync(HttpContext httpContext, Exception exception, CancellationToken cancellationToken)
        {
            if (exception is not BadHttpRequestException badRequest)
            {
                return false;
            }

            var status = badRequest.StatusCode;
            httpContext.Response.StatusCode = status;
            if (status == StatusCodes.Status413PayloadTooLarge)
            {
                var limit = httpContext.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
                return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = PayloadTooLarge(limit), Exception = exception });
            }

            var (field, message) = badRequest.InnerException switch
            {
                JsonException json => (json.Path is { Length: > 0 } path ? path : "$", $"The JSON is malformed or has a value of the wrong type: {FirstSentence(json.Message)}"),
                _ => ("$", badRequest.Message),
            };
            var problem = new Microsoft.AspNetCore.Mvc.ProblemDetails
            {
                Status = status,
                Title = "Invalid request",
                Detail = message,
                Type = Problems.TypePrefix + "validation",
                Extensions = { ["errors"] = new Dictionary<string, string[]> { [field] = [message] } },
            };
            return await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = httpContext, ProblemDetails = problem, Exception = exception });
        }

        private static string FirstSentence(string message)
        {
            var end = message.IndexOf(". ", StringComparison.Ordinal);
            return end > 0 ? message[..(end + 1)] : message;
        }
    }
}
