namespace Hub.Core.Mailchimp;

/// <summary>
/// Per-request settings the Mailchimp pipeline reads from <see cref="HttpRequestMessage.Options"/>:
/// which account's concurrency slot to take and whether the call may be retried.
/// </summary>
public static class MailchimpRequestOptions
{
    /// <summary>The <see cref="MailchimpCredential.AccountKey"/> whose shared concurrency cap the request counts against.</summary>
    public static readonly HttpRequestOptionsKey<string> AccountKey = new("Hub.Mailchimp.AccountKey");

    /// <summary>A concurrency slot taken ahead for this request (<see cref="MailchimpCredential.ReservedSlot"/>).</summary>
    public static readonly HttpRequestOptionsKey<MailchimpSlotReservation> ReservedSlot = new("Hub.Mailchimp.ReservedSlot");

    /// <summary>Overrides whether the request is safe to retry; without it GET, HEAD, OPTIONS, PUT and DELETE are.</summary>
    public static readonly HttpRequestOptionsKey<bool> Idempotent = new("Hub.Mailchimp.Idempotent");

    /// <summary>Marks a request (e.g. a POST that is an upsert by nature) as safe to retry.</summary>
    public static void MarkIdempotent(this HttpRequestMessage request, bool idempotent = true) => request.Options.Set(Idempotent, idempotent);

    /// <summary>Whether the retry strategy may send <paramref name="request"/> again.</summary>
    public static bool IsIdempotent(HttpRequestMessage request) =>
        request.Options.TryGetValue(Idempotent, out var marked)
            ? marked
            : request.Method == HttpMethod.Get || request.Method == HttpMethod.Head || request.Method == HttpMethod.Options
              || request.Method == HttpMethod.Put || request.Method == HttpMethod.Delete;
}

/// <summary>
/// Called when Mailchimp answers 401 for a tenant's credential, so the tenant can be flipped to
/// "reauthorization required". The default does nothing; the consent feature registers the real one.
/// </summary>
public interface IMailchimpAuthFailureHandler
{
    Task OnUnauthorizedAsync(MailchimpCredential credential, CancellationToken cancellationToken);
}

/// <summary>The default <see cref="IMailchimpAuthFailureHandler"/>: nothing to do.</summary>
public sealed class NoOpMailchimpAuthFailureHandler : IMailchimpAuthFailureHandler
{
    public Task OnUnauthorizedAsync(MailchimpCredential credential, CancellationToken cancellationToken) => Task.CompletedTask;
}
