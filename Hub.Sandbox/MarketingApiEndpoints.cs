using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;

namespace Hub.Sandbox;

/// <summary>The Mailchimp Marketing API v3 routes Hub uses, under <c>/{dc}/3.0</c>.</summary>
public static class MarketingApiEndpoints
{
    private static readonly string[] PatchStatuses = ["subscribed", "unsubscribed", "cleaned", "pending"];
    private static readonly string[] TagStatuses = ["active", "inactive"];
    private static readonly string[] IgnoredMemberProperties = ["interests", "location", "timestamp_opt", "timestamp_signup"];

    public static RouteGroupBuilder MapMarketingApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/{dc}/3.0").AddEndpointFilter(SandboxLimits.MarketingFilter);

        api.Route("GET", "/ping", "GET ping", Ping);
        api.Route("GET", "/", "GET root", Root);
        api.Route("GET", "/lists", "GET lists", GetLists);
        api.Route("POST", "/lists", "POST lists", CreateList);
        api.Route("GET", "/lists/{list_id}", "GET list", GetList);
        api.Route("PATCH", "/lists/{list_id}", "PATCH list", UpdateList);
        api.Route("DELETE", "/lists/{list_id}", "DELETE list", DeleteList);
        api.Route("POST", "/lists/{list_id}", "POST batch", BatchSubscribe);
        api.Route("GET", "/lists/{list_id}/members", "GET members", GetMembers);
        api.Route("POST", "/lists/{list_id}/members", "POST members", AddMember, "POST member");
        api.Route("GET", "/lists/{list_id}/members/{subscriber_hash}", "GET member", GetMember);
        api.Route("PUT", "/lists/{list_id}/members/{subscriber_hash}", "PUT member", PutMember, "PUT members");
        api.Route("PATCH", "/lists/{list_id}/members/{subscriber_hash}", "PATCH member", PatchMember, "PATCH members");
        api.Route("DELETE", "/lists/{list_id}/members/{subscriber_hash}", "DELETE member", ArchiveMember, "DELETE members");
        api.Route("POST", "/lists/{list_id}/members/{subscriber_hash}/actions/delete-permanent", "POST delete-permanent", DeletePermanent);
        api.Route("GET", "/lists/{list_id}/members/{subscriber_hash}/tags", "GET tags", GetTags);
        api.Route("POST", "/lists/{list_id}/members/{subscriber_hash}/tags", "POST tags", UpdateTags);
        api.MapMergeFields();
        api.MapListWebhooks();
        api.MapUnmatched();
        return api;
    }

    internal static RouteHandlerBuilder Route(this IEndpointRouteBuilder group, string method, string pattern, string name, Delegate handler, params string[] aliases) =>
        group.MapMethods(pattern, [method], handler).WithMetadata(new SandboxRoute(name, method, pattern, aliases));

    private static IResult Ping() => SandboxJson.Ok(new { HealthStatus = "Everything's Chimpy!" });

    private static IResult Root(HttpContext http, SandboxState state)
    {
        var account = state.GetAccount(SandboxCaller.AccountId(http))!;
        var subscribers = state.GetListSummaries(account.Id).Sum(l => l.MemberCount);
        var since = DateTimeOffset.UnixEpoch.AddYears(50);
        return SandboxJson.Ok(new AccountResponse(
            account.Id, account.LoginId, account.Name, account.LoginEmail, "Sandbox", "Owner", account.LoginEmail, "", "owner",
            since, account.AudienceLimit <= 1 ? "forever_free" : "monthly", "UTC", "Retail",
            new AccountContact(account.Name, "1 Sandbox Way", "", "Atlanta", "GA", "30308", "US"), false, since, subscribers));
    }

    // ---- Lists ----

    private static IResult GetLists(HttpContext http, SandboxState state)
    {
        if (Paging(http, out var count, out var offset) is { } bad) return bad;
        var (page, total, constraints) = state.GetLists(SandboxCaller.AccountId(http), count, offset);
        return SandboxJson.Ok(new ListsResponse(page, total, constraints));
    }

    private static async Task<IResult> CreateList(HttpContext http, SandboxState state, CancellationToken ct)
    {
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var settings = ReadListSettings(body, existing: null);
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        var (list, access) = state.CreateList(SandboxCaller.AccountId(http), settings!);
        return access == ListAccess.LimitReached
            ? SandboxJson.Problem(403, "User action not permitted", "User does not have access to the requested operation")
            : SandboxJson.Ok(list);
    }

    private static IResult GetList(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId) =>
        state.GetList(SandboxCaller.AccountId(http), listId) is { } list ? SandboxJson.Ok(list) : SandboxJson.NotFound();

    private static async Task<IResult> UpdateList(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!state.ListExists(accountId, listId)) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        List<FieldError>? errors = null;
        var updated = state.UpdateList(accountId, listId, current =>
        {
            var next = ReadListSettings(body, current);
            body.RejectUnknown(state.StrictRequestBodies);
            if (body.Errors.Count > 0) errors = body.Errors;
            return body.Errors.Count > 0 ? current : next!;
        });
        if (errors is not null) return SandboxJson.InvalidResource(errors);
        return updated is null ? SandboxJson.NotFound() : SandboxJson.Ok(updated);
    }

    private static IResult DeleteList(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId) =>
        state.DeleteList(SandboxCaller.AccountId(http), listId) ? TypedResults.NoContent() : SandboxJson.NotFound();

    /// <summary>
    /// POST validates the spec's required fields; PATCH (existing != null) takes only what is sent,
    /// since Mailchimp documents PATCH as partial.
    /// </summary>
    private static ListSettings? ReadListSettings(SandboxBody body, ListSettings? existing)
    {
        var create = existing is null;
        var name = body.String("name", create);
        var reminder = body.String("permission_reminder", create);
        var emailTypeOption = body.Bool("email_type_option", create);
        var contactJson = body.Object("contact", create);
        var defaultsJson = body.Object("campaign_defaults", create);
        var doubleOptin = body.Bool("double_optin");
        var marketingPermissions = body.Bool("marketing_permissions");
        var archiveBar = body.Bool("use_archive_bar");
        var notifySubscribe = body.String("notify_on_subscribe");
        var notifyUnsubscribe = body.String("notify_on_unsubscribe");

        var contact = existing?.Contact;
        if (contactJson is not null)
        {
            var c = body.Nested(contactJson, "contact");
            var old = existing?.Contact;
            contact = new ListContact(
                c.String("company", old is null) ?? old?.Company ?? "", c.String("address1", old is null) ?? old?.Address1 ?? "",
                c.String("address2") ?? old?.Address2, c.String("city", old is null) ?? old?.City ?? "",
                c.String("state") ?? old?.State, c.String("zip") ?? old?.Zip,
                c.String("country", old is null) ?? old?.Country ?? "", c.String("phone") ?? old?.Phone);
        }
        var defaults = existing?.CampaignDefaults;
        if (defaultsJson is not null)
        {
            var d = body.Nested(defaultsJson, "campaign_defaults");
            var old = existing?.CampaignDefaults;
            defaults = new CampaignDefaults(
                d.String("from_name", old is null) ?? old?.FromName ?? "", d.String("from_email", old is null) ?? old?.FromEmail ?? "",
                d.String("subject", old is null) ?? old?.Subject ?? "", d.String("language", old is null) ?? old?.Language ?? "");
        }
        if (body.Errors.Count > 0) return null;
        return new ListSettings(
            name ?? existing!.Name, reminder ?? existing!.PermissionReminder, emailTypeOption ?? existing!.EmailTypeOption,
            contact!, defaults!, doubleOptin ?? existing?.DoubleOptin ?? false, marketingPermissions ?? existing?.MarketingPermissions ?? false,
            archiveBar ?? existing?.UseArchiveBar ?? false, notifySubscribe ?? existing?.NotifyOnSubscribe ?? "",
            notifyUnsubscribe ?? existing?.NotifyOnUnsubscribe ?? "");
    }

    // ---- Members ----

    private static IResult GetMembers(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, string? status)
    {
        if (Paging(http, out var count, out var offset) is { } bad) return bad;
        if (status is not null && !SandboxState.WritableStatuses.Contains(status) && status != "archived")
            return SandboxJson.InvalidResource([new FieldError("status", "Value must be one of: subscribed, unsubscribed, cleaned, pending, transactional, archived.")]);
        return state.GetMembers(SandboxCaller.AccountId(http), listId, status, count, offset) is { } result
            ? SandboxJson.Ok(new MembersResponse(result.Page, listId, result.Total))
            : SandboxJson.NotFound();
    }

    private static IResult GetMember(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash) =>
        state.GetMember(SandboxCaller.AccountId(http), listId, HashOf(hash)).Member is { } member ? SandboxJson.Ok(member) : SandboxJson.NotFound();

    private static Task<IResult> AddMember(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, CancellationToken ct) =>
        WriteMember(http, state, listId, null, MemberWriteMode.Create, ct);

    private static Task<IResult> PutMember(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash, CancellationToken ct) =>
        WriteMember(http, state, listId, HashOf(hash), MemberWriteMode.Upsert, ct);

    private static Task<IResult> PatchMember(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash, CancellationToken ct) =>
        WriteMember(http, state, listId, HashOf(hash), MemberWriteMode.Update, ct);

    private static async Task<IResult> WriteMember(HttpContext http, SandboxState state, string listId, string? hash, MemberWriteMode mode, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!state.ListExists(accountId, listId)) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var input = ReadMember(body, mode);
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        var outcome = state.WriteMember(accountId, listId, hash, input, mode, SkipMergeValidation(http));
        return outcome switch
        {
            null => SandboxJson.NotFound(),
            { Failure: { } failure } => failure.ToProblem(),
            { Member: var member } => SandboxJson.Ok(member),
        };
    }

    private static MemberInput ReadMember(SandboxBody body, MemberWriteMode mode)
    {
        var statuses = mode == MemberWriteMode.Update ? PatchStatuses : SandboxState.WritableStatuses;
        // Documented for these routes (spec 3.0.55) but not acted on; strict mode must not refuse them.
        body.Ignore(IgnoredMemberProperties);
        if (mode is not (MemberWriteMode.BatchUpsert or MemberWriteMode.BatchCreateOnly)) body.Ignore("marketing_permissions");
        return new MemberInput(
            Email: body.String("email_address", required: mode is not MemberWriteMode.Update),
            Status: body.String("status", required: mode is MemberWriteMode.Create, statuses),
            // status_if_new is documented for the member PUT only (spec putListsIdMembersId); a batch member has status.
            StatusIfNew: mode is MemberWriteMode.Upsert
                ? body.String("status_if_new", required: true, SandboxState.WritableStatuses)
                : null,
            EmailType: body.String("email_type"),
            Language: body.String("language"),
            Vip: body.Bool("vip"),
            IpSignup: body.String("ip_signup"),
            IpOpt: body.String("ip_opt"),
            MergeFields: ReadMergeValues(body),
            Tags: mode is MemberWriteMode.Create or MemberWriteMode.BatchUpsert or MemberWriteMode.BatchCreateOnly ? body.StringArray("tags") : null);
    }

    /// <summary>
    /// <c>merge_fields</c>: each value a string, number or object (the merge-field guide); anything else is a schema
    /// error on <c>merge_fields.TAG</c>, as Mailchimp reports it. Types and tags are checked by the state.
    /// </summary>
    private static Dictionary<string, JsonNode?>? ReadMergeValues(SandboxBody body)
    {
        if (body.Object("merge_fields") is not { } values) return null;
        foreach (var (tag, value) in values)
            if (!MergeFieldRules.SchemaAllows(value)) body.Errors.Add(new FieldError($"merge_fields.{tag}", MergeFieldRules.SchemaMismatch));
        return values.ToDictionary(p => p.Key, p => p.Value);
    }

    private static IResult ArchiveMember(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash) =>
        state.Archive(SandboxCaller.AccountId(http), listId, HashOf(hash)) switch
        {
            204 => TypedResults.NoContent(),
            405 => SandboxJson.Problem(405, "Method Not Allowed", "This list member cannot be removed. Can not archive a contact that is bounced, pending or archived"),
            _ => SandboxJson.NotFound(),
        };

    private static IResult DeletePermanent(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash) =>
        state.DeletePermanently(SandboxCaller.AccountId(http), listId, HashOf(hash)) ? TypedResults.NoContent() : SandboxJson.NotFound();

    private static IResult GetTags(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash)
    {
        if (Paging(http, out var count, out var offset) is { } bad) return bad;
        return state.GetMemberTags(SandboxCaller.AccountId(http), listId, HashOf(hash), count, offset) is { } tags
            ? SandboxJson.Ok(new MemberTagsResponse(tags.Page, tags.Total))
            : SandboxJson.NotFound();
    }

    private static async Task<IResult> UpdateTags(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "subscriber_hash")] string hash, CancellationToken ct)
    {
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var tags = new List<(string, bool)>();
        var array = body.Array("tags", required: true);
        body.Bool("is_syncing");
        foreach (var item in array ?? [])
        {
            if (item is not JsonObject tag)
            {
                body.Errors.Add(new FieldError("tags", "Schema describes object"));
                continue;
            }
            var t = body.Nested(tag, "tags");
            var name = t.String("name", required: true);
            var status = t.String("status", required: true, TagStatuses);
            if (name is not null && status is not null) tags.Add((name, status == "active"));
        }
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        return state.UpdateTags(SandboxCaller.AccountId(http), listId, HashOf(hash), tags) ? TypedResults.NoContent() : SandboxJson.NotFound();
    }

    // ---- Batch subscribe ----

    private static async Task<IResult> BatchSubscribe(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!state.ListExists(accountId, listId)) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var members = body.Array("members", required: true);
        var updateExisting = body.Bool("update_existing") ?? false;
        var syncTags = body.Bool("sync_tags") ?? false;
        body.RejectUnknown(state.StrictRequestBodies);
        if (members is { Count: > 500 })
            body.Errors.Add(new FieldError("members", $"Batch subscribe accepts at most 500 members; {members.Count} were sent."));
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);

        var mode = updateExisting ? MemberWriteMode.BatchUpsert : MemberWriteMode.BatchCreateOnly;
        var valid = new List<MemberInput>();
        var invalid = new List<BatchError>();
        foreach (var item in members!)
        {
            if (item is not JsonObject obj)
            {
                invalid.Add(new BatchError("", "Each member must be an object.", "ERROR_GENERIC", "members", "Schema describes object"));
                continue;
            }
            var member = new SandboxBody(obj, []);
            var input = ReadMember(member, mode);
            member.RejectUnknown(state.StrictRequestBodies);
            if (member.Errors.Count == 0) valid.Add(input);
            else invalid.Add(new BatchError(input.Email ?? obj["email_address"]?.ToString() ?? "", member.Errors[0].Message, "ERROR_GENERIC", member.Errors[0].Field, member.Errors[0].Message));
        }

        CallLatency.Add(http, state.PerMemberLatency * members.Count);
        var result = state.Batch(accountId, listId, valid, updateExisting, syncTags, SkipMergeValidation(http));
        if (result is null) return SandboxJson.NotFound();
        var errors = invalid.Concat(result.Errors).ToList();
        return SandboxJson.Ok(result with { Errors = errors, ErrorCount = errors.Count });
    }

    // ---- Helpers ----

    /// <summary>Paths accept the subscriber hash or, as the spec allows, the raw address.</summary>
    private static string HashOf(string value) => value.Contains('@') ? Ids.SubscriberHash(Uri.UnescapeDataString(value)) : value.ToLowerInvariant();

    /// <summary>
    /// <c>count</c> (default 10, at most 1000) and <c>offset</c> (default 0), read by hand so that a value that is
    /// not a whole number gets Mailchimp's 400 rather than the host's binding failure. Returns that 400, or null.
    /// </summary>
    internal static IResult? Paging(HttpContext http, out int count, out int offset)
    {
        var errors = new List<FieldError>();
        int? Read(string name)
        {
            var text = http.Request.Query[name].ToString();
            if (text.Length == 0) return null;
            if (int.TryParse(text, System.Globalization.NumberStyles.Integer, System.Globalization.CultureInfo.InvariantCulture, out var value)) return value;
            errors.Add(new FieldError(name, "Schema describes integer, string found instead"));
            return null;
        }

        count = Math.Clamp(Read("count") ?? 10, 1, 1000);
        offset = Math.Max(0, Read("offset") ?? 0);
        return errors.Count > 0 ? SandboxJson.InvalidResource(errors) : null;
    }

    private static bool SkipMergeValidation(HttpContext http) =>
        bool.TryParse(http.Request.Query["skip_merge_validation"].ToString(), out var skip) && skip;
}
