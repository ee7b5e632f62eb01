using Hub.Core.Connections;
using Hub.Core.Diagnostics;
using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Hub.Core.Events;

/// <summary>
/// Keeps one Mailchimp list webhook on every managed audience of a connected tenant, pointing at Hub's receiver
/// (<c>{PublicBaseUrl}/mailchimp/events/{secret}</c>, a secret per audience), and none anywhere else. It asks for the
/// subscribe, unsubscribe, profile, cleaned and upemail events from the user and admin sources, never the API source: Hub's
/// own writes do not come back (FACTS.md §9). Registration (spec <c>postListsIdWebhooks</c>) makes the secret known first,
/// because Mailchimp checks the URL with a GET before it answers.
/// </summary>
public sealed partial class AudienceHooks(
    AudienceHookStore store,
    ConnectionService connections,
    MailchimpClient mailchimp,
    TenantSecrets secrets,
    IOptions<HubOptions> hub,
    IOptions<EventsOptions> options,
    TimeProvider time,
    ILogger<AudienceHooks> logger)
{
    public const string ReceiverPath = "/mailchimp/events";

    /// <summary>The receiver's route as telemetry and problem bodies name it: its path carries a secret.</summary>
    public const string ReceiverRoute = ReceiverPath + "/{secret}";

    private static readonly MailchimpWebhookEvents Events = new(Subscribe: true, Unsubscribe: true, Profile: true, Cleaned: true, Upemail: true, Campaign: false);
    private static readonly MailchimpWebhookSources Sources = new(User: true, Admin: true, Api: false);

    /// <summary>The tenant secret that keeps an audience webhook's signing secret.</summary>
    public static string SigningSecretName(string audienceId) => $"mailchimp-hook-signing:{audienceId}";

    /// <summary>
    /// Brings the tenant's webhooks in line with its managed audiences: registers the missing and failed ones (and, when last
    /// seen longer ago than <see cref="EventsOptions.VerifyEvery"/>, those Mailchimp no longer has or that changed), removes
    /// those of audiences no longer managed. Without a credential (disconnected) it only forgets them.
    /// True when every webhook is as it should be; false when Mailchimp failed somewhere (tried again later).
    /// </summary>
    public Task<bool> ReconcileAsync(TenantId tenant, CancellationToken cancellationToken) =>
        LockedAsync(tenant, () => ReconcileLockedAsync(tenant, cancellationToken), busy: false, cancellationToken);

    private async Task<bool> ReconcileLockedAsync(TenantId tenant, CancellationToken cancellationToken)
    {
        var credential = await connections.GetCredentialAsync(tenant, cancellationToken);
        if (credential is null && await connections.IsAwaitingReauthorizationAsync(tenant, cancellationToken))
        {
            // Mailchimp refused the credential (401): its webhooks still deliver, so they and their secrets stay until the
            // tenant reconnects (then they are checked) or disconnects (then they are removed).
            return true;
        }

        var managed = credential is null
            ? []
            : (await connections.ListManagedAudiencesAsync(tenant, cancellationToken)).ToHashSet(StringComparer.Ordinal);
        var hooks = await store.GetAllAsync(tenant);
        var ok = true;
        foreach (var audienceId in managed)
        {
            hooks.TryGetValue(audienceId, out var hook);
            var stale = hook?.CheckedAt is not { } checkedAt || time.GetUtcNow() - checkedAt >= options.Value.VerifyEvery;
            if (hook is { State: AudienceHookState.Registered } && !stale)
            {
                continue;
            }

            ok &= (await EnsureAsync(tenant, credential!, audienceId, hook, cancellationToken)).Error is null;
        }

        foreach (var hook in hooks.Values.Where(hook => !managed.Contains(hook.AudienceId)))
        {
            ok &= await RemoveAsync(tenant, credential, hook, cancellationToken);
        }

        return ok;
    }

    /// <summary>Checks one audience's webhook in Mailchimp now and registers it again when it is missing; answers how it stands.</summary>
    public async Task<(AudienceHook? Hook, MailchimpError? Error)> RepairAsync(TenantId tenant, string audienceId, CancellationToken cancellationToken)
    {
        if (await connections.GetCredentialAsync(tenant, cancellationToken) is not { } credential)
        {
            return (null, null);
        }

        return await LockedAsync(tenant, async () => await EnsureAsync(tenant, credential, audienceId, await store.GetAsync(tenant, audienceId), cancellationToken),
            busy: (null, MailchimpError.Unavailable("Another replica is changing this tenant's list webhooks; try again in a moment.")), cancellationToken);
    }

    /// <summary>Removes every webhook of the tenant from Mailchimp while its credential still works (before a disconnect or deletion).</summary>
    public Task RemoveAllAsync(TenantId tenant, CancellationToken cancellationToken) =>
        LockedAsync(tenant, async () =>
        {
            var credential = await connections.GetCredentialAsync(tenant, cancellationToken);
            foreach (var hook in (await store.GetAllAsync(tenant)).Values)
            {
                await RemoveAsync(tenant, credential, hook, cancellationToken);
            }

            return true;
        }, busy: false, cancellationToken);

    /// <summary>
    /// Runs <paramref name="change"/> while holding the tenant's webhook lock, so that a repair, the background service on
    /// another replica and a disconnect never register or remove the same webhook twice; <paramref name="busy"/> when the lock
    /// stays taken (its holder may take a few Mailchimp calls).
    /// </summary>
    private async Task<T> LockedAsync<T>(TenantId tenant, Func<Task<T>> change, T busy, CancellationToken cancellationToken)
    {
        if (await store.LockAsync(tenant, options.Value.Lease, TimeSpan.FromSeconds(15), cancellationToken) is not { } token)
        {
            return busy;
        }

        // Mailchimp calls may take longer than the lease (retries, slow answers): the lock is renewed while the change runs.
        using var renewing = new CancellationTokenSource();
        var lease = options.Value.Lease;
        var renewal = Task.Run(async () =>
        {
            while (!renewing.IsCancellationRequested)
            {
                await Task.Delay(lease / 3, time, renewing.Token);
                await store.RenewLockAsync(tenant, token, lease);
            }
        }, CancellationToken.None);
        try
        {
            return await change();
        }
        finally
        {
            await renewing.CancelAsync();
            await renewal.ContinueWith(_ => { }, TaskScheduler.Default);
            await store.UnlockAsync(tenant, token);
        }
    }

    private async Task<(AudienceHook Hook, MailchimpError? Error)> EnsureAsync(
        TenantId tenant, MailchimpCredential credential, string audienceId, AudienceHook? hook, CancellationToken cancellationToken)
    {
        if (hook is { State: AudienceHookState.Registered, WebhookId: { } webhookId })
        {
            var existing = await mailchimp.GetListWebhookAsync(credential, audienceId, webhookId, cancellationToken);
            if (existing.IsSuccess && !IsAsRegistered(existing.Value))
            {
                // Hub's public URL changed, or someone changed its events or sources in Mailchimp (the api source would
                // echo Hub's own writes): replaced by a new one.
                LogWebhookChanged(logger, tenant.ToString(), audienceId, webhookId);
                var removed = await mailchimp.DeleteListWebhookAsync(credential, audienceId, webhookId, cancellationToken);
                if (!removed.IsSuccess && removed.Error!.Status != 404)
                {
                    return (await FailedAsync(tenant, audienceId, hook, removed.Error), removed.Error);
                }
            }
            else if (existing.IsSuccess)
            {
                var checkedHook = hook with { CheckedAt = time.GetUtcNow() };
                await store.SaveAsync(tenant, checkedHook);
                Count("checked");
                return (checkedHook, null);
            }

            else if (existing.Error!.Status != 404)
            {
                return (await FailedAsync(tenant, audienceId, hook, existing.Error), existing.Error);
            }
            else
            {
                LogWebhookMissing(logger, tenant.ToString(), audienceId, webhookId);
            }
        }

        var secret = AudienceHookStore.NewSecret();
        var secretHash = AudienceHookStore.HashOf(secret);
        await store.AllowAsync(tenant, audienceId, secretHash);
        var url = $"{hub.Value.PublicBaseUrl.TrimEnd('/')}{ReceiverPath}/{secret}";
        var created = await mailchimp.CreateListWebhookAsync(credential, audienceId, new MailchimpListWebhookCreate(url, Events, Sources), cancellationToken);
        if (!created.IsSuccess)
        {
            await store.RevokeAsync(secretHash);
            return (await FailedAsync(tenant, audienceId, hook, created.Error!), created.Error);
        }

        var signed = created.Value!.SigningEnabled != false && !string.IsNullOrEmpty(created.Value.SigningSecret);
        if (signed)
        {
            await secrets.SetAsync(tenant, SigningSecretName(audienceId), new Secret(created.Value.SigningSecret!));
        }
        else
        {
            await secrets.DeleteAsync(tenant, SigningSecretName(audienceId));
        }

        var now = time.GetUtcNow();
        var registered = new AudienceHook
        {
            AudienceId = audienceId, State = AudienceHookState.Registered, WebhookId = created.Value.Id, SecretHash = secretHash,
            Signed = signed, RegisteredAt = now, CheckedAt = now,
        };
        await store.SaveAsync(tenant, registered);
        await store.RevokeAsync(hook?.SecretHash);
        LogRegistered(logger, tenant.ToString(), audienceId, created.Value.Id, signed);
        Count("registered");
        return (registered, null);
    }

    /// <summary>
    /// Records a failed registration or check. A webhook Mailchimp could not be asked about (an outage, not a 404) stays
    /// registered in the record, so events to its URL keep being taken; the answer says failed.
    /// </summary>
    private async Task<AudienceHook> FailedAsync(TenantId tenant, string audienceId, AudienceHook? hook, MailchimpError error)
    {
        LogRegistrationFailed(logger, tenant.ToString(), audienceId, error.Code, error.Status);
        Count("failed");
        var failed = (hook ?? new AudienceHook { AudienceId = audienceId, State = AudienceHookState.Failed }) with
        {
            State = hook?.State == AudienceHookState.Registered && error.Status != 404 ? AudienceHookState.Registered : AudienceHookState.Failed,
            LastError = $"{error.Code}: {error.Detail}",
            FailedAt = time.GetUtcNow(),
        };
        await store.SaveAsync(tenant, failed);
        return failed with { State = AudienceHookState.Failed };
    }

    private async Task<bool> RemoveAsync(TenantId tenant, MailchimpCredential? credential, AudienceHook hook, CancellationToken cancellationToken)
    {
        if (credential is not null && hook.WebhookId is { } webhookId)
        {
            var deleted = await mailchimp.DeleteListWebhookAsync(credential, hook.AudienceId, webhookId, cancellationToken);
            if (!deleted.IsSuccess && deleted.Error!.Status != 404)
            {
                LogRemovalFailed(logger, tenant.ToString(), hook.AudienceId, deleted.Error.Code);
                return false;
            }
        }

        await store.RevokeAsync(hook.SecretHash);
        await store.RemoveAsync(tenant, hook.AudienceId);
        await secrets.DeleteAsync(tenant, SigningSecretName(hook.AudienceId));
        LogRemoved(logger, tenant.ToString(), hook.AudienceId);
        Count("removed");
        return true;
    }

    private static void Count(string outcome) =>
        HubTelemetry.Events.Registrations.Add(1, new KeyValuePair<string, object?>(HubTelemetry.Events.OutcomeTag, outcome));

    [LoggerMessage(Level = LogLevel.Information, Message = "Registered Mailchimp list webhook {WebhookId} on audience {AudienceId} of tenant {TenantId} (signed: {Signed}).")]
    private static partial void LogRegistered(ILogger logger, string tenantId, string audienceId, string webhookId, bool signed);

    /// <summary>Whether a webhook Mailchimp holds is still the one Hub registers: its URL on this Hub's receiver, the same events and sources.</summary>
    private bool IsAsRegistered(MailchimpListWebhook webhook) =>
        webhook.Url.StartsWith($"{hub.Value.PublicBaseUrl.TrimEnd('/')}{ReceiverPath}/", StringComparison.Ordinal)
        && webhook.Events == Events && webhook.Sources == Sources;

    [LoggerMessage(Level = LogLevel.Warning, Message = "List webhook {WebhookId} on audience {AudienceId} of tenant {TenantId} no longer points at this Hub or asks for other events or sources; replacing it.")]
    private static partial void LogWebhookChanged(ILogger logger, string tenantId, string audienceId, string webhookId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp no longer has list webhook {WebhookId} on audience {AudienceId} of tenant {TenantId}; registering it again.")]
    private static partial void LogWebhookMissing(ILogger logger, string tenantId, string audienceId, string webhookId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not register or check the list webhook on audience {AudienceId} of tenant {TenantId}: {Code} (HTTP {Status}); trying again later.")]
    private static partial void LogRegistrationFailed(ILogger logger, string tenantId, string audienceId, string code, int? status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not remove the list webhook on audience {AudienceId} of tenant {TenantId}: {Code}; trying again later.")]
    private static partial void LogRemovalFailed(ILogger logger, string tenantId, string audienceId, string code);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed the list webhook on audience {AudienceId} of tenant {TenantId}.")]
    private static partial void LogRemoved(ILogger logger, string tenantId, string audienceId);
}
