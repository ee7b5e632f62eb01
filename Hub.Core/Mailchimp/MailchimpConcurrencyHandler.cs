using System.Net;

namespace Hub.Core.Mailchimp;

/// <summary>
/// Takes the account's concurrency slot around each HTTP attempt. It sits inside the resilience
/// handler, so a retry takes a slot afresh and a backoff between attempts holds none. The slot is
/// held until the response is disposed: Mailchimp counts the connection busy until the body is read.
/// </summary>
internal sealed class MailchimpConcurrencyHandler(MailchimpConcurrencyLimiter limiter) : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (!request.Options.TryGetValue(MailchimpRequestOptions.AccountKey, out var accountKey) || string.IsNullOrEmpty(accountKey))
        {
            throw new InvalidOperationException("A Mailchimp request must name its account (MailchimpRequestOptions.AccountKey) for the concurrency cap.");
        }

        // A slot the request reserved while it read its credential serves its first call.
        var reserved = request.Options.TryGetValue(MailchimpRequestOptions.ReservedSlot, out var reservation) ? await reservation.TakeAsync(accountKey) : null;
        var lease = reserved ?? await limiter.AcquireAsync(accountKey, cancellationToken);
        HttpResponseMessage response;
        try
        {
            response = await base.SendAsync(request, cancellationToken);
        }
        catch
        {
            await lease.DisposeAsync();
            throw;
        }

        response.Content = new LeasedContent(response.Content, lease);
        return response;
    }

    /// <summary>The response body, giving the slot back when it is disposed.</summary>
    private sealed class LeasedContent : HttpContent
    {
        private readonly HttpContent _inner;
        private readonly MailchimpConcurrencyLease _lease;

        public LeasedContent(HttpContent inner, MailchimpConcurrencyLease lease)
        {
            _inner = inner;
            _lease = lease;
            foreach (var header in inner.Headers)
            {
                Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context) => _inner.CopyToAsync(stream);

        protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken) =>
            _inner.CopyToAsync(stream, cancellationToken);

        protected override Task<Stream> CreateContentReadStreamAsync() => _inner.ReadAsStreamAsync();

        protected override Task<Stream> CreateContentReadStreamAsync(CancellationToken cancellationToken) => _inner.ReadAsStreamAsync(cancellationToken);

        protected override bool TryComputeLength(out long length)
        {
            length = _inner.Headers.ContentLength ?? 0;
            return _inner.Headers.ContentLength is not null;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                _lease.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
