using System.Security.Cryptography;
using System.Text;
using Hub.Api.Hosting;
using Hub.Core.Diagnostics;
using Hub.Core.Events;
using Hub.Core.Security;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace Hub.Api.Events;

/// <summary>
/// Where Mailchimp's list webhooks arrive: <c>{PublicBaseUrl}/mailchimp/events/{secret}</c>, a secret per audience, no
/// API key (Mailchimp sends none). GET answers Mailchimp's check of the URL; POST takes one event, form-encoded as
/// Mailchimp sends it (FACTS.md §9), keeps it in Redis and answers 200 before anything else is done with it (Mailchimp
/// wants an answer within 10 s and disables slow webhooks). An unknown or revoked secret gets 404 and changes nothing; a
/// repeated delivery gets 200 and changes nothing. When Mailchimp gave a signing secret at registration, the event must
/// carry a valid <c>X-Mailchimp-Signature</c> (<c>t=&lt;unix&gt;,v1=&lt;hex HMAC-SHA256 of "t.body"&gt;</c>, at most
/// 5 minutes old) or it gets 401.
/// </summary>
public static class MailchimpEventReceiver
{
    /// <summary>Largest event body taken; Mailchimp's are a few kilobytes.</summary>
    public const int MaxBodyBytes = 64 * 1024;

    private const int MaxFields = 500;

    public static IEndpointRouteBuilder MapMailchimpEventReceiver(this IEndpointRouteBuilder app)
    {
        var receiver = app.MapGroup(AudienceHooks.ReceiverPath).WithTags("Mailchimp events (called by Mailchimp)")
            .ProducesProblem(StatusCodes.Status404NotFound);
        receiver.MapGet("/{secret}", Check).Produces(StatusCodes.Status200OK);
        receiver.MapPost("/{secret}", Receive).WithMetadata(new Microsoft.AspNetCore.Mvc.RequestSizeLimitAttribute(MaxBodyBytes))
            .Accepts<IFormCollection>("application/x-www-form-urlencoded").ProducesValidationProblem()
            .WithRequestExample(new Dictionary<string, string>
            {
                ["type"] = "unsubscribe", ["fired_at"] = "2026-12-03 11:49:04", ["data[action]"] = "unsub", ["data[reason]"] = "manual",
                ["data[id]"] = "8a25ff1d98", ["data[list_id]"] = "0b30051403", ["data[email]"] = "ann@customer.example",
            })
            .ProducesProblem(StatusCodes.Status401Unauthorized).ProducesProblem(StatusCodes.Status413PayloadTooLarge).ProducesProblem(StatusCodes.Status415UnsupportedMediaType);
        return app;
    }

    /// <summary>Mailchimp's check of a list webhook URL.</summary>
    /// <remarks>Called by Mailchimp, not by host applications: 200 for a URL Hub registered, 404 <c>unknown_webhook</c> otherwise.</remarks>
    /// <param name="secret">The webhook's secret, part of the URL Hub registered (one per audience).</param>
    public static async Task<Results<Ok<string>, ProblemHttpResult>> Check(string secret, AudienceHookStore store) =>
        await FindAsync(secret, store) is null ? UnknownWebhook() : TypedResults.Ok("ok");

    /// <summary>One event from a Mailchimp list webhook.</summary>
    /// <remarks>
    /// Called by Mailchimp, not by host applications: form-encoded (<c>type</c>, <c>fired_at</c>, <c>data[...]</c>), at most 64 KiB. Kept
    /// durably and answered 200 before it is processed; a repeated delivery is 200 and changes nothing. An unknown secret is 404
    /// <c>unknown_webhook</c>; when Mailchimp signs, a missing, stale or wrong <c>X-Mailchimp-Signature</c> is 401.
    /// </remarks>
    /// <param name="secret">The webhook's secret, part of the URL Hub registered (one per audience).</param>
    public static async Task<Results<Ok<ReceivedEventResponse>, ValidationProblem, ProblemHttpResult>> Receive(
        string secret, HttpContext http, AudienceHookStore store, EventInbox inbox, TenantSecrets secrets, IOptions<EventsOptions> options, TimeProvider time)
    {
        var (result, outcome) = await ReceiveAsync(secret, http, store, inbox, secrets, options.Value, time);
        HubTelemetry.Events.Received.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Events.OutcomeTag, outcome));
        return result;
    }

    private static async Task<(Results<Ok<ReceivedEventResponse>, ValidationProblem, ProblemHttpResult> Result, string Outcome)> ReceiveAsync(
        string secret, HttpContext http, AudienceHookStore store, EventInbox inbox, TenantSecrets secrets, EventsOptions options, TimeProvider time)
    {
        // The secret must be the audience's current one: a secret left allowed by a registration that crashed half-way is not.
        if (await FindAsync(secret, store) is not { } found || await store.GetAsync(found.Tenant, found.AudienceId) is not { } hook
            || !CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(hook.SecretHash ?? ""), Encoding.ASCII.GetBytes(AudienceHookStore.HashOf(secret))))
        {
            return (UnknownWebhook(), "unknown_webhook");
        }

        if (!IsFormEncoded(http.Request.ContentType))
        {
            return (Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
                "Mailchimp sends list webhook events as application/x-www-form-urlencoded."), "invalid");
        }

        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer, http.RequestAborted);
        var body = buffer.ToArray();
        if (hook.Signed)
        {
            var signingSecret = await secrets.GetAsync(found.Tenant, AudienceHooks.SigningSecretName(found.AudienceId));
            if (signingSecret is null || !SignatureValid(http.Request.Headers["X-Mailchimp-Signature"].ToString(), body, signingSecret, time.GetUtcNow(), options.SignatureTolerance))
            {
                return (Problems.Create(StatusCodes.Status401Unauthorized, "invalid_signature", "Invalid signature",
                    "X-Mailchimp-Signature is missing, not valid for this webhook's signing secret, or older than allowed."), "invalid_signature");
            }
        }

        var parsed = QueryHelpers.ParseQuery(Encoding.UTF8.GetString(body));
        if (parsed.Count > MaxFields)
        {
            return (Problems.Validation(new Dictionary<string, string[]> { ["body"] = [$"At most {MaxFields} fields."] }), "invalid");
        }

        var form = parsed.ToDictionary(pair => pair.Key, pair => pair.Value.ToString(), StringComparer.Ordinal);
        if (InboundEvent.Read(form, found.AudienceId, out var error, out var ignored) is null)
        {
            return ignored
                ? (TypedResults.Ok(new ReceivedEventResponse(null, Ignored: true, Duplicate: false)), "ignored")
                : (Problems.Validation(new Dictionary<string, string[]> { ["body"] = [error!] }, "The event is not one Hub can read; see errors."), "invalid");
        }

        var id = InboundEvent.IdOf(found.Tenant, found.AudienceId, form);
        var isNew = await inbox.AcceptAsync(id, found.Tenant, found.AudienceId, form, http.RequestAborted);
        return (TypedResults.Ok(new ReceivedEventResponse(id, Ignored: false, Duplicate: !isNew)), isNew ? "accepted" : "duplicate");
    }

    /// <summary>
    /// Mailchimp's webhook signature (FACTS.md §9): <c>t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>, the hex being HMAC-SHA256 with the
    /// signing secret over <c>"&lt;t&gt;.&lt;raw body&gt;"</c>; compared in constant time, refused when older than the tolerance.
    /// </summary>
    internal static bool SignatureValid(string header, byte[] body, Secret signingSecret, DateTimeOffset now, TimeSpan tolerance)
    {
        string? timestamp = null, signature = null;
        foreach (var part in header.Split(',', StringSplitOptions.TrimEntries))
        {
            if (part.StartsWith("t=", StringComparison.Ordinal)) timestamp = part[2..];
            else if (part.StartsWith("v1=", StringComparison.Ordinal)) signature = part[3..];
        }

        if (!long.TryParse(timestamp, out var seconds) || signature is null || Math.Abs((now - DateTimeOffset.FromUnixTimeSeconds(Math.Clamp(seconds, 0, 253402300799))).TotalSeconds) > tolerance.TotalSeconds)
        {
            return false;
        }

        var signed = Encoding.UTF8.GetBytes(timestamp + ".").Concat(body).ToArray();
        var expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(signingSecret.Reveal()), signed);
        var given = new byte[expected.Length];
        return signature.Length == expected.Length * 2 && Convert.FromHexString(signature, given, out _, out _) == System.Buffers.OperationStatus.Done
            && CryptographicOperations.FixedTimeEquals(given, expected);
    }

    private static bool IsFormEncoded(string? contentType) =>
        contentType is not null && contentType.Split(';')[0].Trim().Equals("application/x-www-form-urlencoded", StringComparison.OrdinalIgnoreCase);

    private static async Task<(TenantId Tenant, string AudienceId)?> FindAsync(string secret, AudienceHookStore store) =>
        secret.Length is < 20 or > 100 ? null : await store.FindAsync(secret);

    private static ProblemHttpResult UnknownWebhook() =>
        Problems.NotFound("unknown_webhook", "No list webhook of Hub's has this URL (it was never registered, or was removed).");
}

/// <summary>What the receiver did with an event: kept it (its id; <c>duplicate</c> when it had it already) or ignored it (a type Hub does not use).</summary>
/// <param name="Id">The event's id in Hub; null when ignored.</param>
/// <param name="Ignored">True for a type Hub does not use (nothing kept).</param>
/// <param name="Duplicate">True when Hub had the event already.</param>
public sealed record ReceivedEventResponse(string? Id, bool Ignored, bool Duplicate);
