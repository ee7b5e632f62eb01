using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace Hub.Sandbox;

/// <summary>
/// An audience's merge fields under <c>/{dc}/3.0/lists/{list_id}/merge-fields</c> (spec 3.0.55 getListsIdMergeFields,
/// postListsIdMergeFields, getListsIdMergeFieldsId, patchListsIdMergeFieldsId, deleteListsIdMergeFieldsId). The rules
/// and their sources are in <see cref="MergeFieldRules"/>.
/// </summary>
internal static class MergeFieldEndpoints
{
    private const string TypeFixed = "The type of a merge field cannot be changed.";
    private const string ChoicesNeeded = "A radio or dropdown field needs at least one choice.";

    public static void MapMergeFields(this IEndpointRouteBuilder api)
    {
        api.Route("GET", "/lists/{list_id}/merge-fields", "GET merge-fields", GetMergeFields);
        api.Route("POST", "/lists/{list_id}/merge-fields", "POST merge-fields", AddMergeField);
        api.Route("GET", "/lists/{list_id}/merge-fields/{merge_id}", "GET merge-field", GetMergeField);
        api.Route("PATCH", "/lists/{list_id}/merge-fields/{merge_id}", "PATCH merge-field", UpdateMergeField);
        api.Route("DELETE", "/lists/{list_id}/merge-fields/{merge_id}", "DELETE merge-field", DeleteMergeField);
    }

    private static IResult GetMergeFields(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId)
    {
        if (MarketingApiEndpoints.Paging(http, out var count, out var offset) is { } bad) return bad;
        if (state.GetMergeFields(SandboxCaller.AccountId(http), listId) is not { } fields) return SandboxJson.NotFound();
        return SandboxJson.Ok(new MergeFieldsResponse(fields.Skip(offset).Take(count).ToList(), listId, fields.Count));
    }

    private static IResult GetMergeField(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "merge_id")] string mergeId) =>
        int.TryParse(mergeId, out var id) && state.GetMergeField(SandboxCaller.AccountId(http), listId, id) is { } field
            ? SandboxJson.Ok(field)
            : SandboxJson.NotFound();

    private static async Task<IResult> AddMergeField(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!state.ListExists(accountId, listId)) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var name = body.String("name", required: true);
        var type = body.String("type", required: true, MergeFieldRules.Types);
        var sent = ReadCommon(body);
        var options = type is null ? null : ReadOptions(body, type, MergeFieldRules.DefaultOptions(type), create: true);
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        var (field, access, problem) = state.AddMergeField(accountId, listId, new MergeFieldSettings(
            sent.Tag, name!, type!, sent.Required ?? false, sent.DefaultValue ?? "", sent.Public ?? true, sent.DisplayOrder, options, sent.HelpText ?? ""));
        return Answer(field, access, problem);
    }

    /// <summary>
    /// Partial like Mailchimp's PATCH, except that <c>name</c> is required (the spec's patchListsIdMergeFieldsId says so).
    /// <c>type</c> is not in that schema: a different type gets 400, the same one is ignored (refused in strict mode).
    /// </summary>
    private static async Task<IResult> UpdateMergeField(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "merge_id")] string mergeId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!int.TryParse(mergeId, out var id) || state.GetMergeField(accountId, listId, id) is null) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var (field, access, problem) = state.UpdateMergeField(accountId, listId, id, current =>
        {
            if (body.Json["type"] is { } type && (type.GetValueKind() != JsonValueKind.String || type.GetValue<string>() != current.Type))
                body.Errors.Add(new FieldError("type", TypeFixed));
            var name = body.String("name", required: true);
            var sent = ReadCommon(body);
            var options = ReadOptions(body, current.Type, current.Options, create: false);
            body.RejectUnknown(state.StrictRequestBodies);
            if (body.Errors.Count > 0) return null;
            return current with
            {
                Name = name!, Tag = sent.Tag ?? current.Tag, Required = sent.Required ?? current.Required, Public = sent.Public ?? current.Public,
                DefaultValue = sent.DefaultValue ?? current.DefaultValue, DisplayOrder = sent.DisplayOrder ?? current.DisplayOrder,
                HelpText = sent.HelpText ?? current.HelpText, Options = options,
            };
        });
        return body.Errors.Count > 0 ? SandboxJson.InvalidResource(body.Errors) : Answer(field, access, problem);
    }

    private static IResult DeleteMergeField(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "merge_id")] string mergeId) =>
        int.TryParse(mergeId, out var id) && state.DeleteMergeField(SandboxCaller.AccountId(http), listId, id) ? TypedResults.NoContent() : SandboxJson.NotFound();

    private static IResult Answer(MergeField? field, MergeFieldAccess access, string? problem) => access switch
    {
        MergeFieldAccess.Ok => SandboxJson.Ok(field),
        MergeFieldAccess.Refused => SandboxJson.Problem(400, "Invalid Resource", problem!),
        _ => SandboxJson.NotFound(),
    };

    private sealed record CommonInput(string? Tag, bool? Required, bool? Public, string? DefaultValue, int? DisplayOrder, string? HelpText);

    /// <summary>The properties POST and PATCH share; null where not sent.</summary>
    private static CommonInput ReadCommon(SandboxBody body) => new(
        ReadTag(body), body.Bool("required"), body.Bool("public"), body.String("default_value"), body.Int("display_order"), body.String("help_text"));

    /// <summary>A sent tag, upper-cased; "" counts as not sent. Letters, digits and _, at most 10 (sandbox rule).</summary>
    private static string? ReadTag(SandboxBody body)
    {
        var tag = body.String("tag")?.Trim().ToUpperInvariant();
        if (string.IsNullOrEmpty(tag)) return null;
        if (MergeFieldRules.TagProblem(tag) is { } problem) body.Errors.Add(new FieldError("tag", problem));
        return tag;
    }

    /// <summary>
    /// <c>options</c> over <paramref name="current"/>: each option only for the types the spec gives it (size: text, on
    /// POST only; choices: radio and dropdown; date_format: date and birthday; phone_format: phone; default_country:
    /// address); options for another type are ignored. A radio or dropdown field must end up with a choice.
    /// </summary>
    private static MergeFieldOptions ReadOptions(SandboxBody body, string type, MergeFieldOptions current, bool create)
    {
        var options = current;
        if (body.Object("options") is { } json)
        {
            var o = body.Nested(json, "options");
            var size = create ? o.Int("size") : null;
            var choices = o.StringArray("choices");
            var dateFormat = o.String("date_format")?.ToUpperInvariant();
            var phoneFormat = o.String("phone_format");
            var country = o.Int("default_country");
            if (type == "text" && size is not null) options = options with { Size = size };
            if (type is "radio" or "dropdown" && choices is not null) options = options with { Choices = choices };
            if (type == "phone" && phoneFormat is not null)
            {
                if (phoneFormat.Equals("US", StringComparison.OrdinalIgnoreCase)) options = options with { PhoneFormat = "US" };
                else if (phoneFormat.ToLowerInvariant() is "none" or "international") options = options with { PhoneFormat = "none" };
                else body.Errors.Add(new FieldError("options.phone_format", "Value must be one of: US, International."));
            }
            if (type is "date" or "birthday" && dateFormat is not null)
            {
                var allowed = type == "date" ? MergeFieldRules.DateFormats : MergeFieldRules.BirthdayFormats;
                if (allowed.Contains(dateFormat)) options = options with { DateFormat = dateFormat };
                else body.Errors.Add(new FieldError("options.date_format", $"Value must be one of: {string.Join(", ", allowed)}."));
            }
            if (type == "address" && country is not null) options = options with { DefaultCountry = country };
        }
        if (type is "radio" or "dropdown" && options.Choices is not { Count: > 0 }) body.Errors.Add(new FieldError("options.choices", ChoicesNeeded));
        return options;
    }
}
