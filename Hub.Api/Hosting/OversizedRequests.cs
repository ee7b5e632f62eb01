using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Hub.Api.Hosting;

/// <summary>
/// Answers a request whose declared Content-Length is over its endpoint's body limit with a 413
/// problem before anything reads the body, then reads and discards what the client still sends.
/// </summary>
/// <remarks>
/// Most HTTP/1.1 clients (HttpClient among them) send the whole body before they read the answer.
/// Kestrel on its own closes the connection with that body unread, which makes the kernel reset it,
/// and the client sees a broken pipe instead of the 413 (dotnet/aspnetcore#23840). Draining, like
/// nginx's lingering close, lets the answer arrive. It is bounded in bytes and time, and skipped
/// for a client that asked first with <c>Expect: 100-continue</c>: that one never sends the body.
/// Chunked bodies have no declared length; Kestrel stops them at the limit, and the exception
/// handler answers 413 on a best-effort basis.
/// </remarks>
public sealed class OversizedRequests(RequestDelegate next, ILogger<OversizedRequests> logger)
{
    /// <summary>Bodies up to this size are read to the end after the 413; larger ones are cut off.</summary>
    public const long DrainLimitBytes = 16 * 1024 * 1024;

    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(5);

    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problemDetails)
    {
        var sizeLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (context.Request.ContentLength is not { } length || sizeLimit?.MaxRequestBodySize is not { } limit || length <= limit)
        {
            await next(context);
            return;
        }

        var drain = length <= DrainLimitBytes && !sizeLimit.IsReadOnly && context.Request.Protocol is "HTTP/1.1" or "HTTP/1.0"
            && !context.Request.Headers.Expect.Any(value => string.Equals(value, "100-continue", StringComparison.OrdinalIgnoreCase));
        logger.LogInformation("Refused a {Length}-byte body on {Method} {Path}: the limit is {Limit} bytes.", length, context.Request.Method, context.Request.Path, limit);

        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.Headers.Connection = "close";
        await problemDetails.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = ProblemDetailsSetup.PayloadTooLarge(limit) });
        await context.Response.CompleteAsync();

        if (drain)
        {
            sizeLimit.MaxRequestBodySize = null;
            await DrainAsync(context);
        }
    }

    private static async Task DrainAsync(HttpContext context)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTime);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, timeout.Token) > 0)
            {
            }
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or BadHttpRequestException)
        {
            // The client went away or was too slow; the connection closes either way.
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
