using System.Buffers;
using Microsoft.AspNetCore.Http.Features;

namespace Hub.Api.Hosting;

/// <summary>
/// Refuses a request body over its endpoint's limit with a 413 problem that the client actually
/// receives, then reads and discards what the client still sends.
/// </summary>
/// <remarks>
/// Most HTTP/1.1 clients (HttpClient among them) send the whole body before they read the answer.
/// Kestrel on its own closes the connection with that body unread, which makes the kernel reset it,
/// and the client sees a broken pipe instead of the 413 (dotnet/aspnetcore#23840). Draining, like
/// nginx's lingering close, lets the answer arrive. It is bounded in bytes and time.
/// <list type="bullet">
/// <item>A declared Content-Length over the limit is answered before anything reads the body. A
/// client that asked first with <c>Expect: 100-continue</c> is not drained: it never sends the body.</item>
/// <item>A chunked body has no declared length, so this middleware counts it instead of Kestrel,
/// whose own limit leaves the body unreadable once it trips.</item>
/// </list>
/// </remarks>
public sealed class OversizedRequests(RequestDelegate next, ILogger<OversizedRequests> logger)
{
    /// <summary>At most this much of a refused body is read after the 413; then the connection is cut.</summary>
    public const long DrainLimitBytes = 16 * 1024 * 1024;

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
            await RefuseAsync(context, problemDetails, limit, drain: !clientWaits && length <= DrainLimitBytes);
            return;
        }

        sizeLimit.MaxRequestBodySize = null;
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
            await RefuseAsync(context, problemDetails, limit, drain: true);
        }
    }

    private async Task RefuseAsync(HttpContext context, IProblemDetailsService problemDetails, long limit, bool drain)
    {
        logger.LogInformation("Refused the body of {Method} {Path}: over the {Limit}-byte limit.", context.Request.Method, context.Request.Path, limit);
        context.Response.Clear();
        context.Response.StatusCode = StatusCodes.Status413PayloadTooLarge;
        context.Response.Headers.Connection = "close";
        await problemDetails.WriteAsync(new ProblemDetailsContext { HttpContext = context, ProblemDetails = ProblemDetailsSetup.PayloadTooLarge(limit) });
        await context.Response.CompleteAsync();
        if (!drain || context.Request.Protocol is not ("HTTP/1.1" or "HTTP/1.0"))
        {
            return;
        }

        if (context.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } sizeLimit)
        {
            sizeLimit.MaxRequestBodySize = null;
        }

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(DrainTime);
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var body = context.Request.Body is LimitedReadStream limited ? limited.Inner : context.Request.Body;
            long drained = 0;
            int read;
            while (drained <= DrainLimitBytes && (read = await body.ReadAsync(buffer, timeout.Token)) > 0)
            {
                drained += read;
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
