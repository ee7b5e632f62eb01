using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>A member write as parsed from a request body; null means "not sent".</summary>
internal sealed record MemberInput(
    string? Email, string? Status, string? StatusIfNew, string? EmailType, string? Language, bool? Vip,
    string? IpSignup, string? IpOpt, IReadOnlyDictionary<string, JsonNode?>? MergeFields, IReadOnlyList<string>? Tags);

/// <summary>Why a member write was refused, in both the problem-detail and the batch-error vocabulary.</summary>
internal sealed record MemberFailure(int Status, string Title, string Detail, string ErrorCode = "ERROR_GENERIC", string? Field = null, IReadOnlyList<FieldError>? Errors = null)
{
    public IResult ToProblem() => SandboxJson.Problem(Status, Title, Detail, Errors);

    public BatchError ToBatchError(string email) =>
        new(email, Detail, ErrorCode, Field, Field is null ? null : Errors?.FirstOrDefault()?.Message ?? Detail);
}

internal enum MemberWriteMode { Create, Upsert, Update, BatchCreateOnly, BatchUpsert }

internal readonly record struct MemberOutcome(MemberResponse? Member, bool Created, MemberFailure? Failure);

internal enum ListAccess { Ok, NotFound, LimitReached }

public sealed partial class SandboxState
{
    public static readonly IReadOnlyList<string> WritableStatuses = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional"];

    // ---- Lists ----

    internal (ListResponse? List, ListAccess Access) CreateList(string accountId, ListSettings settings)
    {
        lock (_gate)
        {
            var account = _accounts[accountId];
            if (_audiences.Values.Count(a => a.AccountId == accountId) >= account.AudienceLimit) return (null, ListAccess.LimitReached);
            var audience = new Audience
            {
                Id = Ids.Hex(10),
                AccountId = accountId,
                WebId = Ids.SmallNumber(),
                CreatedAt = _time.GetUtcNow(),
                Settings = settings,
            };
            AddMergeFieldLocked(audience, new MergeFieldSettings("FNAME", "First Name", "text", Options: new MergeFieldOptions(Size: 25)));
            AddMergeFieldLocked(audience, new MergeFieldSettings("LNAME", "Last Name", "text", Options: new MergeFieldOptions(Size: 25)));
            AddMergeFieldLocked(audience, new MergeFieldSettings("ADDRESS", "Address", "address", Options: MergeFieldRules.DefaultOptions("address")));
            AddMergeFieldLocked(audience, new MergeFieldSettings("PHONE", "Phone Number", "phone", Options: MergeFieldRules.DefaultOptions("phone")));
            _audiences[audience.Id] = audience;
            return (ToResponse(audience), ListAccess.Ok);
        }
    }

    internal (IReadOnlyList<ListResponse> Page, int Total, ListConstraints Constraints) GetLists(string accountId, int count, int offset)
    {
        lock (_gate)
        {
            var all = _audiences.Values.Where(a => a.AccountId == accountId).OrderBy(a => a.CreatedAt).ToList();
            var limit = _accounts[accountId].AudienceLimit;
            return (all.Skip(offset).Take(count).Select(ToResponse).ToList(), all.Count, new ListConstraints(all.Count < limit, limit, all.Count));
        }
    }

    internal bool ListExists(string accountId, string listId)
    {
        lock (_gate) return Find(accountId, listId) is not null;
    }

    internal ListResponse? GetList(string accountId, string listId)
    {
        lock (_gate) return Find(accountId, listId) is { } audience ? ToResponse(audience) : null;
    }

    internal ListResponse? UpdateList(string accountId, string listId, Func<ListSettings, ListSettings> change)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return null;
            audience.Settings = change(audience.Settings);
            return ToResponse(audience);
        }
    }

    /// <summary>Deletes the audience with its webhooks (their pending deliveries are dropped).</summary>
    internal bool DeleteList(string accountId, string listId)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return false;
            foreach (var webhook in audience.Webhooks) ForgetLocked(webhook);
            return _audiences.Remove(listId);
        }
    }

    private Audience? Find(string accountId, string listId) =>
        _audiences.TryGetValue(listId, out var audience) && audience.AccountId == accountId ? audience : null;

    private static ListResponse ToResponse(Audience a)
    {
        var s = a.Settings;
        var members = a.Members.Values;
        var stats = new ListStats(
            MemberCount: members.Count(m => m.Status == "subscribed"),
            TotalContacts: members.Count(m => m.Status != "archived"),
            UnsubscribeCount: members.Count(m => m.Status == "unsubscribed"),
            CleanedCount: members.Count(m => m.Status == "cleaned"),
            MemberCountSinceSend: members.Count(m => m.Status == "subscribed"),
            UnsubscribeCountSinceSend: members.Count(m => m.Status == "unsubscribed"),
            CleanedCountSinceSend: members.Count(m => m.Status == "cleaned"),
            CampaignCount: 0, MergeFieldCount: a.MergeFields.Count,
            AvgSubRate: 0, AvgUnsubRate: 0, TargetSubRate: 0, OpenRate: 0, ClickRate: 0);
        return new ListResponse(
            a.Id, a.WebId, s.Name, s.Contact, s.PermissionReminder, s.UseArchiveBar, s.CampaignDefaults,
            s.NotifyOnSubscribe, s.NotifyOnUnsubscribe, a.CreatedAt, 0, s.EmailTypeOption,
            $"http://eepurl.com/sandbox{a.WebId}", $"https://sandbox.list-manage.com/subscribe?u=sandbox&id={a.Id}",
            $"us-{a.Id}@inbound.mailchimp.com", "pub", s.DoubleOptin, false, s.MarketingPermissions, [], stats);
    }

    // ---- Members ----

    internal (IReadOnlyList<MemberResponse> Page, int Total)? GetMembers(string accountId, string listId, string? status, int count, int offset)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return null;
            // Like Mailchimp, archived contacts only show up when asked for by status.
            var matching = audience.Members.Values
                .Where(m => status is null ? m.Status != "archived" : m.Status == status)
                .OrderBy(m => m.TimestampSignup).ThenBy(m => m.Email, StringComparer.Ordinal)
                .ToList();
            return (matching.Skip(offset).Take(count).Select(m => ToResponse(audience, m)).ToList(), matching.Count);
        }
    }

    /// <summary>Null when the list is unknown; a null member when the member is.</summary>
    internal (bool ListFound, MemberResponse? Member) GetMember(string accountId, string listId, string hash)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return (false, null);
            return (true, audience.Members.TryGetValue(hash, out var m) ? ToResponse(audience, m) : null);
        }
    }

    internal MemberOutcome? WriteMember(string accountId, string listId, string? pathHash, MemberInput input, MemberWriteMode mode, bool skipMergeValidation)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return null;
            return WriteMemberLocked(audience, pathHash, input, mode, skipMergeValidation, syncTags: false);
        }
    }

    internal BatchResponse? Batch(string accountId, string listId, IReadOnlyList<MemberInput> members, bool updateExisting, bool syncTags, bool skipMergeValidation)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return null;
            var created = new List<MemberResponse>();
            var updated = new List<MemberResponse>();
            var errors = new List<BatchError>();
            var mode = updateExisting ? MemberWriteMode.BatchUpsert : MemberWriteMode.BatchCreateOnly;
            foreach (var input in members)
            {
                var outcome = WriteMemberLocked(audience, null, input, mode, skipMergeValidation, syncTags && updateExisting);
                if (outcome.Failure is { } failure) errors.Add(failure.ToBatchError(input.Email ?? ""));
                else if (outcome.Created) created.Add(outcome.Member!);
                else updated.Add(outcome.Member!);
            }
            return new BatchResponse(created, updated, errors, created.Count, updated.Count, errors.Count);
        }
    }

    private MemberOutcome WriteMemberLocked(Audience audience, string? pathHash, MemberInput input, MemberWriteMode mode, bool skipMergeValidation, bool syncTags)
    {
        var lookupHash = pathHash ?? Ids.SubscriberHash(input.Email ?? "");
        audience.Members.TryGetValue(lookupHash, out var existing);
        var before = MemberBefore.Of(audience, existing);
        if (mode == MemberWriteMode.Update && existing is null) return Fail(404, "Resource Not Found", "The requested resource could not be found.");

        var email = (input.Email ?? existing?.Email ?? "").Trim();
        if (EmailRules.Problem(email) is { } fake) return Fail(400, "Invalid Resource", fake, field: "email_address");
        var hash = pathHash is null && input.Email is not null ? lookupHash : Ids.SubscriberHash(email);
        if (pathHash is not null && hash != pathHash)
        {
            if (mode != MemberWriteMode.Update)
                return Fail(400, "Invalid Resource", $"The subscriber hash in the URL does not match {email}.", field: "email_address");
            if (audience.Members.ContainsKey(hash))
                return Fail(400, "Member Exists", $"{email} is already a list member. Use PUT to insert or update list members.", "ERROR_CONTACT_EXISTS");
        }

        var now = _time.GetUtcNow();
        if (existing is null || (existing.Status == "archived" && mode != MemberWriteMode.Update))
        {
            if (existing is null && audience.ForgottenHashes.Contains(hash))
                return Fail(400, "Forgotten Email Not Subscribed",
                    $"{email} was permanently deleted and cannot be re-imported. The contact must re-subscribe to get back on the list.");
            var status = mode == MemberWriteMode.Create ? input.Status : input.Status ?? input.StatusIfNew;
            if (status is null) return Fail(400, "Invalid Resource", "Required fields were not provided: status", field: "status");
            var (merged, mergeFailure) = MergedFields(audience, existing, input, skipMergeValidation);
            if (mergeFailure is not null) return new(null, false, mergeFailure);

            var wasArchived = existing is not null;
            var member = existing ?? NewMember(audience, hash, email, status);
            member.Status = status;
            ApplyFields(member, input, merged, now);
            if (input.Tags is { } tags) SetTags(audience, member, tags, replace: syncTags);
            if (wasArchived) _updated++; else _created++;
            FireMemberChangeLocked(audience, before, member, ChangeOrigin.Api);
            return new(ToResponse(audience, member), !wasArchived, null);
        }

        if (mode == MemberWriteMode.Create)
            return Fail(400, "Member Exists", $"{email} is already a list member. Use PUT to insert or update list members.", "ERROR_CONTACT_EXISTS");
        if (mode == MemberWriteMode.BatchCreateOnly)
            return Fail(400, "Member Exists", $"{email} is already a list member, do you want to update? please provide update_existing:true in the request body", "ERROR_CONTACT_EXISTS");

        if (input.Status == "subscribed" && existing.Status is "unsubscribed" or "cleaned")
            return Fail(400, "Member In Compliance State",
                $"{email} is in a compliance state due to unsubscribe, bounce, or compliance review and cannot be subscribed.");
        var (fields, failure) = MergedFields(audience, existing, input, skipMergeValidation);
        if (failure is not null) return new(null, false, failure);

        if (hash != existing.Hash) Rekey(audience, existing, email);
        if (input.Status is { } newStatus && newStatus != existing.Status) existing.Status = newStatus;
        ApplyFields(existing, input, fields, now);
        if (input.Tags is { } newTags && mode is MemberWriteMode.BatchUpsert) SetTags(audience, existing, newTags, replace: syncTags);
        _updated++;
        FireMemberChangeLocked(audience, before, existing, ChangeOrigin.Api);
        return new(ToResponse(audience, existing), false, null);
    }

    private static MemberOutcome Fail(int status, string title, string detail, string errorCode = "ERROR_GENERIC", string? field = null) =>
        new(null, false, new MemberFailure(status, title, detail, errorCode, field, field is null ? null : [new FieldError(field, detail)]));

    private Member NewMember(Audience audience, string hash, string email, string status)
    {
        var now = _time.GetUtcNow();
        var member = new Member
        {
            Hash = hash,
            Email = email,
            Status = status,
            UniqueEmailId = Ids.PlainHex(10),
            ContactId = Ids.PlainHex(32),
            WebId = Ids.SmallNumber(),
            TimestampSignup = now,
            TimestampOpt = now,
            LastChanged = now,
        };
        audience.Members[member.Hash] = member;
        return member;
    }

    private static void ApplyFields(Member member, MemberInput input, Dictionary<string, JsonNode?> mergeFields, DateTimeOffset now)
    {
        member.MergeFields.Clear();
        foreach (var (tag, value) in mergeFields) member.MergeFields[tag] = value;
        if (input.EmailType is { } emailType) member.EmailType = emailType;
        if (input.Language is { } language) member.Language = language;
        if (input.Vip is { } vip) member.Vip = vip;
        if (input.IpSignup is { } ipSignup) member.IpSignup = ipSignup;
        if (input.IpOpt is { } ipOpt) member.IpOpt = ipOpt;
        if (member.Status == "subscribed") member.TimestampOpt = now;
        member.LastChanged = now;
    }

    private static void SetTags(Audience audience, Member member, IEnumerable<string> names, bool replace)
    {
        if (replace) member.Tags.Clear();
        foreach (var name in names) AddTag(audience, member, name);
    }

    private static void AddTag(Audience audience, Member member, string name)
    {
        if (!audience.TagIds.ContainsKey(name)) audience.TagIds[name] = audience.TagIds.Count + 1;
        if (!member.Tags.Contains(name, StringComparer.OrdinalIgnoreCase)) member.Tags.Add(name);
    }

    /// <summary>Applies tag changes; false when the list or member is unknown.</summary>
    internal bool UpdateTags(string accountId, string listId, string hash, IReadOnlyList<(string Name, bool Active)> tags)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience || !audience.Members.TryGetValue(hash, out var member)) return false;
            var now = _time.GetUtcNow();
            foreach (var (name, active) in tags)
            {
                if (active && !member.Tags.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    AddTag(audience, member, name);
                    member.TagDates[name] = now;
                }
                else if (!active)
                {
                    member.Tags.RemoveAll(t => string.Equals(t, name, StringComparison.OrdinalIgnoreCase));
                    member.TagDates.Remove(name);
                }
            }
            member.LastChanged = now;
            _updated++;
            return true;
        }
    }

    /// <summary>A member's tags (<c>GET .../tags</c>): a page and the total; null when the list or member is unknown.</summary>
    internal (IReadOnlyList<MemberTagDetail> Page, int Total)? GetMemberTags(string accountId, string listId, string hash, int count, int offset)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience || !audience.Members.TryGetValue(hash, out var member)) return null;
            var page = member.Tags.Skip(offset).Take(count)
                .Select(name => new MemberTagDetail(audience.TagIds[name], name, member.TagDates.GetValueOrDefault(name, member.TimestampSignup)))
                .ToList();
            return (page, member.Tags.Count);
        }
    }

    /// <summary>Archives a member (DELETE): 404 unknown, 405 for cleaned, pending or archived contacts.</summary>
    internal int Archive(string accountId, string listId, string hash)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience || !audience.Members.TryGetValue(hash, out var member)) return 404;
            if (member.Status is "cleaned" or "pending" or "archived") return 405;
            var before = MemberBefore.Of(audience, member);
            member.Status = "archived";
            member.LastChanged = _time.GetUtcNow();
            _archived++;
            FireMemberChangeLocked(audience, before, member, ChangeOrigin.Api);
            return 204;
        }
    }

    internal bool DeletePermanently(string accountId, string listId, string hash)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience || !audience.Members.Remove(hash, out var member)) return false;
            audience.ForgottenHashes.Add(hash);
            _deleted++;
            if (member.Status == "subscribed") FireUnsubscribeLocked(audience, member, ChangeOrigin.Api, "delete");
            return true;
        }
    }

    private static MemberResponse ToResponse(Audience audience, Member m)
    {
        var first = m.MergeFields.GetValueOrDefault("FNAME")?.ToString() ?? "";
        var last = m.MergeFields.GetValueOrDefault("LNAME")?.ToString() ?? "";
        return new MemberResponse(
            m.Hash, m.Email, m.UniqueEmailId, m.ContactId, $"{first} {last}".Trim(), m.WebId, m.EmailType, m.Status, false,
            MergeValues(audience, m), new Dictionary<string, bool>(), new MemberStats(0, 0), m.IpSignup, m.TimestampSignup, m.IpOpt,
            m.TimestampOpt, 2, m.LastChanged, m.Language, m.Vip, "", new MemberLocation(0, 0, 0, 0, "", "", ""),
            "API - Generic", m.Tags.Count, m.Tags.Select(t => new MemberTag(audience.TagIds[t], t)).ToList(), audience.Id);
    }
}

/// <summary>
/// The sandbox's deterministic "looks fake or invalid" rule: syntactically invalid addresses, any
/// local part starting with <c>fake</c>, and the domain <c>example.invalid</c>.
/// </summary>
public static class EmailRules
{
    public static string? Problem(string email)
    {
        var at = email.LastIndexOf('@');
        var valid = at > 0 && at < email.Length - 1 && email.IndexOf('@') == at && !email.Any(char.IsWhiteSpace);
        if (valid)
        {
            var local = email[..at];
            var domain = email[(at + 1)..];
            valid = domain.Contains('.') && !domain.StartsWith('.') && !domain.EndsWith('.') && !domain.Contains("..", StringComparison.Ordinal)
                && !local.StartsWith("fake", StringComparison.OrdinalIgnoreCase)
                && !domain.Equals("example.invalid", StringComparison.OrdinalIgnoreCase);
        }
        return valid ? null : $"{email} looks fake or invalid, please enter a real email address.";
    }
}
