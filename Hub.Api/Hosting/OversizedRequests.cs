using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Hub.Api.Hosting;

/// <summary>
/// Refuses a request body over its endpoint's limit with a 413 problem that the client actually
/// receives, then reads and discards a bounded amount of what the client still sends.
/// </summary>
/// <remarks>
/// Most HTTP/1.1 clients (HttpClient among them) send the whole body before they read the answer.
/// Kestrel on its own closes the connection with that body unread, which makes the kernel reset it,
/// and the client sees a broken pipe instead of the 413 (dotnet/aspnetcore#23840). Draining, like
/// nginx's lingering close, lets the answer arrive.
/// <list type="bullet">
/// <item>A declared Content-Length over the limit is answered before anything reads the body. A
/// client that asked first with <c>Expect: 100-continue</c> is not drained: it never sends the body.</item>
/// <item>A chunked body has no declared length, so this middleware counts it for the endpoint and
/// gives Kestrel's own limit the headroom of the drain: Kestrel's limit, once it trips, leaves the
/// body unreadable.</item>
/// <item>The drain stops after <see cref="DrainLimitBytes"/> or <see cref="DrainTime"/>, and then the
/// connection is cut.</item>
/// </list>
/// It runs after authentication and rate limiting, so only a tenant's or operator's request is drained.
/// </remarks>
public sealed partial class OversizedRequests(RequestDelegate next, ILogger<OversizedRequests> logger)
{
    /// <summary>At most this much of a refused body is read after the 413.</summary>
    private const long DrainLimitBytes = 16 * 1024 * 1024;

    private static readonly TimeSpan DrainTime = TimeSpan.FromSeconds(5);

    public async Task InvokeAsync(HttpContext context, IProblemDetailsService problemDetails)
    {
        var sizeLimit = context.Features.Get<IHttpMaxRequestBodySizeFeature>();
        if (sizeLimit is not { MaxRequestBodySize: { } limit, IsReadOnly: false } || context.Features.Get<IHttpRequestBodyDetectionFeature>() is not { CanHaveBody: true })
        {
            await next(context);
            return;
        }

        if (context.Request.ContentLength is { } length)
        {
            if (length <= limit)
            {
                await next(context);
                return;
            }

            var clientWaits = context.Request.Headers.Expect.Any(value => string.Equals(value, "100-continue", StringComparison.OrdinalIgnoreCase));
            var drain = !clientWaits && length <= DrainLimitBytes;
            if (drain)
            {
                sizeLimit.MaxRequestBodySize = length;
            }

            await RefuseAsync(context, problemDetails, limit, drain);
            return;
        }

        sizeLimit.MaxRequestBodySize = limit + DrainLimitBytes;
        var body = new LimitedReadStream(context.Request.Body, limit);
        context.Request.Body = body;
        try
        {
            await next(context);
        }
        catch (BadHttpRequestException) when (body.Exceeded && !context.Response.HasStarted)
        {
            // Answered below. Minimal APIs catch it themselves and leave a bare 413 instead.
        }

        if (body.Exceeded && !context.Response.HasStarted)
        {
            context.Request.Body = body.Inner;
            await RefuseAsync(context, problemDetails, limit, drain: true);
        }
    }

    private async Task RefuseAsync(HttpContext context, IProblemDetailsService problemDetails, long limit, bool drain)
    {
        // The route's pattern, not the path: a path can carry an email address.
        LogRefused(logger, context.Request.Method, (context.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText ?? "(no route)", limit);
        var http1 = context.Request.Protocol is "HTTP/1.1" or "HTTP/1.0";
        var problem = ProblemDetailsSetup.PayloadTooLarge(limit);
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        if (http1)
        {
            context.Response.Headers.Connection = "close";
        }

        if (!await problemDetails.TryWriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = problem }))
        {
            await context.Response.WriteAsync(problem.Detail!);
        }

        await context.Response.CompleteAsync();
        if (drain && http1 && !await DrainAsync(context))
        {
            context.Abort();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Refused the body of {Method} {Route}: over the {Limit}-byte limit.")]
    private static partial void LogRefused(ILogger logger, string method, string route, long limit);

    /// <summary>Reads the rest of the body; false when it did not end within the drain's bounds.</summary>
    private static async Task<bool> DrainAsync(HttpContext context)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTime);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            while (await context.Request.Body.ReadAsync(buffer, timeout.Token) > 0)
            {
            }

            return true;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException)
        {
            // Too slow, past Kestrel's limit (BadHttpRequestException is an IOException), or gone.
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Reads through to the request body and fails with 413 once more than the limit has come.</summary>
    private sealed class LimitedReadStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public Stream Inner => inner;

        public bool Exceeded => _read > limit;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken));

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        private int Count(int read)
        {
            _read += read;
            return Exceeded
                ? throw new BadHttpRequestException($"Request body too large. The max request body size is {limit} bytes.", StatusCodes.Status413PayloadTooLarge)
                : read;
        }
    }
}
