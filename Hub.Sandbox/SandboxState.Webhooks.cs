using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>A list-webhook write as parsed from a request body; a null field means "not sent" (PATCH keeps the value).</summary>
internal sealed record WebhookInput(
    string? Url,
    bool? Subscribe, bool? Unsubscribe, bool? Profile, bool? Cleaned, bool? Upemail, bool? Campaign,
    bool? User, bool? Admin, bool? Api)
{
    public WebhookEvents EventsOver(WebhookEvents e) =>
        new(Subscribe ?? e.Subscribe, Unsubscribe ?? e.Unsubscribe, Profile ?? e.Profile, Cleaned ?? e.Cleaned, Upemail ?? e.Upemail, Campaign ?? e.Campaign);

    public WebhookSources SourcesOver(WebhookSources s) => new(User ?? s.User, Admin ?? s.Admin, Api ?? s.Api);
}

/// <summary>
/// Who made a member change (<see cref="WebhookSourceNames"/>) and what Mailchimp reports with it: the reason of an
/// unsubscribe (manual, abuse) or a clean (hard, abuse), and the campaign it came from.
/// </summary>
internal sealed record ChangeOrigin(string Source, string? Reason = null, string? CampaignId = null)
{
    public static readonly ChangeOrigin Api = new(WebhookSourceNames.Api);
}

/// <summary>What a member was before a change, to tell which events the change fires.</summary>
internal sealed record MemberBefore(string Email, string Status, Dictionary<string, JsonNode?> MergeFields)
{
    public static MemberBefore? Of(Audience audience, Member? member) =>
        member is null || audience.Webhooks.Count == 0 ? null : new(member.Email, member.Status, new Dictionary<string, JsonNode?>(member.MergeFields));

    public bool SameMergeFields(Member member) =>
        MergeFields.Count == member.MergeFields.Count
        && MergeFields.All(p => member.MergeFields.TryGetValue(p.Key, out var now) && JsonNode.DeepEquals(p.Value, now));
}

public sealed partial class SandboxState
{
    // ---- List webhooks (marketing API) ----

    internal WebhookResponse? AddWebhook(string accountId, string listId, string url, WebhookInput input)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return null;
            var webhook = new ListWebhook
            {
                Id = Ids.Hex(10),
                ListId = listId,
                AccountId = accountId,
                Url = url,
                Events = input.EventsOver(new WebhookEvents(false, false, false, false, false, false)),
                Sources = input.SourcesOver(new WebhookSources(false, false, false)),
                SigningSecret = Ids.Hex(64),
                CreatedAt = _time.GetUtcNow(),
            };
            audience.Webhooks.Add(webhook);
            return ToResponse(webhook) with { SigningSecret = webhook.SigningSecret };
        }
    }

    /// <summary>The list's webhooks; null when the list is unknown.</summary>
    internal IReadOnlyList<WebhookResponse>? GetWebhooks(string accountId, string listId)
    {
        lock (_gate) return Find(accountId, listId)?.Webhooks.Select(ToResponse).ToList();
    }

    /// <summary>Null when the list or the webhook is unknown.</summary>
    internal WebhookResponse? GetWebhook(string accountId, string listId, string webhookId)
    {
        lock (_gate) return FindWebhook(accountId, listId, webhookId) is { } webhook ? ToResponse(webhook) : null;
    }

    internal WebhookResponse? UpdateWebhook(string accountId, string listId, string webhookId, WebhookInput input)
    {
        lock (_gate)
        {
            if (FindWebhook(accountId, listId, webhookId) is not { } webhook) return null;
            if (input.Url is { } url) webhook.Url = url;
            webhook.Events = input.EventsOver(webhook.Events);
            webhook.Sources = input.SourcesOver(webhook.Sources);
            return ToResponse(webhook);
        }
    }

    internal bool DeleteWebhook(string accountId, string listId, string webhookId)
    {
        lock (_gate)
        {
            if (FindWebhook(accountId, listId, webhookId) is not { } webhook) return false;
            _audiences[listId].Webhooks.Remove(webhook);
            ForgetLocked(webhook);
            return true;
        }
    }

    private ListWebhook? FindWebhook(string accountId, string listId, string webhookId) =>
        Find(accountId, listId)?.Webhooks.FirstOrDefault(w => w.Id == webhookId);

    private static WebhookResponse ToResponse(ListWebhook w) => new(w.Id, w.Url, w.Events, w.Sources, w.ListId, "", true, []);

    // ---- Control views ----

    /// <summary>Every webhook (of one list when <paramref name="listId"/> is given) with its delivery counters, oldest first.</summary>
    public IReadOnlyList<SandboxWebhook> GetWebhooksDirect(string? listId = null)
    {
        lock (_gate)
        {
            return _audiences.Values
                .Where(a => listId is null || a.Id == listId)
                .SelectMany(a => a.Webhooks)
                .OrderBy(w => w.CreatedAt)
                .Select(w => new SandboxWebhook(w.Id, w.ListId, w.AccountId, w.Url, w.Events, w.Sources, w.Disabled, w.Sent, w.Failed, w.Pending, w.Attempts, w.CreatedAt))
                .ToList();
        }
    }

    /// <summary>
    /// Sets a member's merge fields as if the person edited their profile in Mailchimp (fires <c>profile</c> when a value
    /// changed). Null when the list or member is unknown.
    /// </summary>
    internal SandboxMember? SetMergeFieldsDirect(string listId, string emailOrHash, IReadOnlyDictionary<string, JsonNode?> values, ChangeOrigin origin)
    {
        lock (_gate)
        {
            if (!TryFindDirect(listId, emailOrHash, out var audience, out var member) || member is null) return null;
            var before = MemberBefore.Of(audience, member);
            foreach (var (tag, value) in values) member.MergeFields[tag.ToUpperInvariant()] = value?.DeepClone();
            member.LastChanged = _time.GetUtcNow();
            FireMemberChangeLocked(audience, before, member, origin);
            return ToControlView(member);
        }
    }

    /// <summary>
    /// Changes a member's address as if the person did it on Mailchimp's preference page (fires <c>upemail</c>).
    /// </summary>
    internal (SandboxMember? Member, string? Problem) ChangeEmailDirect(string listId, string emailOrHash, string newEmail, ChangeOrigin origin)
    {
        lock (_gate)
        {
            if (!TryFindDirect(listId, emailOrHash, out var audience, out var member) || member is null) return (null, null);
            newEmail = newEmail.Trim();
            if (EmailRules.Problem(newEmail) is { } fake) return (null, fake);
            var hash = Ids.SubscriberHash(newEmail);
            if (hash != member.Hash && audience.Members.ContainsKey(hash)) return (null, $"{newEmail} is already a list member.");
            var before = MemberBefore.Of(audience, member);
            Rekey(audience, member, newEmail);
            member.LastChanged = _time.GetUtcNow();
            FireMemberChangeLocked(audience, before, member, origin);
            return (ToControlView(member), null);
        }
    }

    /// <summary>The audience (any account's) and the member an email or subscriber hash names, the member null when absent.</summary>
    private bool TryFindDirect(string listId, string emailOrHash, [NotNullWhen(true)] out Audience? audience, out Member? member)
    {
        member = null;
        if (!_audiences.TryGetValue(listId, out audience)) return false;
        member = audience.Members.GetValueOrDefault(emailOrHash.Contains('@') ? Ids.SubscriberHash(emailOrHash) : emailOrHash.ToLowerInvariant());
        return true;
    }

    /// <summary>Gives a member a new address, moving it to the new subscriber hash.</summary>
    private static void Rekey(Audience audience, Member member, string email)
    {
        var hash = Ids.SubscriberHash(email);
        if (hash != member.Hash)
        {
            audience.Members.Remove(member.Hash);
            member.Hash = hash;
            audience.Members[hash] = member;
        }
        member.Email = email;
    }

    // ---- Which changes fire what ----

    /// <summary>
    /// Queues the events a member change fires, for each webhook whose events and sources take them: <c>upemail</c> when
    /// the address changed; then <c>subscribe</c>, <c>unsubscribe</c> (action unsub) or <c>cleaned</c> when the status became
    /// that, <c>unsubscribe</c> (action delete) when a subscribed contact was archived; otherwise <c>profile</c> when a merge
    /// field of an existing member changed. <paramref name="before"/> is null for a new member (or when no webhook exists).
    /// </summary>
    private void FireMemberChangeLocked(Audience audience, MemberBefore? before, Member member, ChangeOrigin origin)
    {
        if (audience.Webhooks.Count == 0) return;
        var now = _time.GetUtcNow();
        if (before is not null && !string.Equals(before.Email, member.Email, StringComparison.Ordinal))
            FireLocked(audience, WebhookEventTypes.Upemail, origin, () => WebhookPayload.Upemail(now, audience.Id, member.Hash, member.Email, before.Email));

        var statusChanged = before?.Status != member.Status;
        switch (statusChanged ? member.Status : null)
        {
            case "subscribed":
                FireLocked(audience, WebhookEventTypes.Subscribe, origin, () => WebhookPayload.Member(WebhookEventTypes.Subscribe, now, audience.Id, member, MergeValues(audience, member)));
                break;
            case "unsubscribed":
                FireUnsubscribeLocked(audience, member, origin, "unsub");
                break;
            case "archived" when before?.Status == "subscribed":
                FireUnsubscribeLocked(audience, member, origin, "delete");
                break;
            case "cleaned":
                FireLocked(audience, WebhookEventTypes.Cleaned, origin, () => WebhookPayload.Cleaned(now, audience.Id, origin.CampaignId ?? "", origin.Reason ?? "hard", member.Email));
                break;
            default:
                if (!statusChanged && before is not null && !before.SameMergeFields(member))
                    FireLocked(audience, WebhookEventTypes.Profile, origin, () => WebhookPayload.Member(WebhookEventTypes.Profile, now, audience.Id, member, MergeValues(audience, member)));
                break;
        }
    }

    private void FireUnsubscribeLocked(Audience audience, Member member, ChangeOrigin origin, string action) =>
        FireLocked(audience, WebhookEventTypes.Unsubscribe, origin, () => WebhookPayload.Unsubscribe(
            _time.GetUtcNow(), audience.Id, member, MergeValues(audience, member), action, origin.Reason ?? "manual", origin.CampaignId ?? ""));

    /// <summary>Queues one event for every webhook of the audience that takes it; the body is built once, only when one does.</summary>
    private void FireLocked(Audience audience, string type, ChangeOrigin origin, Func<string> body)
    {
        string? text = null;
        foreach (var webhook in audience.Webhooks)
        {
            if (!webhook.Fires(type, origin.Source)) continue;
            text ??= body();
            EnqueueLocked(new WebhookDelivery(webhook, type, origin.Source, text));
        }
    }

    /// <summary>A member's merge fields as the API shows them: every field of the audience ("" when unset), then any other the member holds.</summary>
    private static Dictionary<string, JsonNode?> MergeValues(Audience audience, Member m)
    {
        var values = new Dictionary<string, JsonNode?>(StringComparer.Ordinal);
        foreach (var field in audience.MergeFields)
            values[field.Tag] = m.MergeFields.GetValueOrDefault(field.Tag)?.DeepClone() ?? JsonValue.Create("");
        foreach (var (tag, value) in m.MergeFields) values.TryAdd(tag, value?.DeepClone());
        return values;
    }
}
