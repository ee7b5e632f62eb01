using System.Text.Json.Nodes;

namespace Hub.Sandbox;

/// <summary>A merge field as created; a null tag is derived from the name.</summary>
internal sealed record MergeFieldSettings(
    string? Tag, string Name, string Type, bool Required = false, string DefaultValue = "", bool Public = true,
    int? DisplayOrder = null, MergeFieldOptions? Options = null, string HelpText = "");

internal enum MergeFieldAccess { Ok, NotFound, Refused }

public sealed partial class SandboxState
{
    internal IReadOnlyList<MergeField>? GetMergeFields(string accountId, string listId)
    {
        lock (_gate) return Find(accountId, listId)?.MergeFields.ToList();
    }

    internal MergeField? GetMergeField(string accountId, string listId, int mergeId)
    {
        lock (_gate) return Find(accountId, listId)?.MergeFields.Find(f => f.MergeId == mergeId);
    }

    /// <summary>
    /// Adds a field. A sent tag that another field (or EMAIL, which every audience has) already uses is refused with
    /// Mailchimp's duplicate-tag detail; a tag derived from the name falls back to MMERGE{id} instead.
    /// </summary>
    internal (MergeField? Field, MergeFieldAccess Access, string? Problem) AddMergeField(string accountId, string listId, MergeFieldSettings settings)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return (null, MergeFieldAccess.NotFound, null);
            if (settings.Tag is { } sent)
            {
                if (TagTaken(audience, sent, exceptMergeId: null)) return (null, MergeFieldAccess.Refused, MergeFieldRules.DuplicateTag(sent));
                return (AddMergeFieldLocked(audience, settings), MergeFieldAccess.Ok, null);
            }
            var tag = new string(settings.Name.ToUpperInvariant().Where(char.IsAsciiLetterOrDigit).Take(10).ToArray());
            if (tag.Length == 0 || TagTaken(audience, tag, exceptMergeId: null)) tag = $"MMERGE{audience.NextMergeId}";
            return (AddMergeFieldLocked(audience, settings with { Tag = tag }), MergeFieldAccess.Ok, null);
        }
    }

    private static MergeField AddMergeFieldLocked(Audience audience, MergeFieldSettings s)
    {
        var id = audience.NextMergeId++;
        var field = new MergeField(id, s.Tag!, s.Name, s.Type, s.Required, s.DefaultValue, s.Public, s.DisplayOrder ?? id,
            s.Options ?? MergeFieldRules.DefaultOptions(s.Type), s.HelpText, audience.Id);
        audience.MergeFields.Add(field);
        return field;
    }

    /// <summary>
    /// Changes a field through <paramref name="change"/> (which returns the new field, or null to refuse the change); a new
    /// tag must be free, and the members' values move to it.
    /// </summary>
    internal (MergeField? Field, MergeFieldAccess Access, string? Problem) UpdateMergeField(
        string accountId, string listId, int mergeId, Func<MergeField, MergeField?> change)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience) return (null, MergeFieldAccess.NotFound, null);
            var index = audience.MergeFields.FindIndex(f => f.MergeId == mergeId);
            if (index < 0) return (null, MergeFieldAccess.NotFound, null);
            var current = audience.MergeFields[index];
            if (change(current) is not { } next) return (null, MergeFieldAccess.Refused, null);
            if (next.Tag != current.Tag)
            {
                if (TagTaken(audience, next.Tag, mergeId)) return (null, MergeFieldAccess.Refused, MergeFieldRules.DuplicateTag(next.Tag));
                foreach (var member in audience.Members.Values)
                    if (member.MergeFields.Remove(current.Tag, out var value)) member.MergeFields[next.Tag] = value;
            }
            audience.MergeFields[index] = next;
            return (next, MergeFieldAccess.Ok, null);
        }
    }

    /// <summary>Deletes a field and every member's value for it; false when the list or field is unknown.</summary>
    internal bool DeleteMergeField(string accountId, string listId, int mergeId)
    {
        lock (_gate)
        {
            if (Find(accountId, listId) is not { } audience || audience.MergeFields.Find(f => f.MergeId == mergeId) is not { } field) return false;
            audience.MergeFields.Remove(field);
            foreach (var member in audience.Members.Values) member.MergeFields.Remove(field.Tag);
            return true;
        }
    }

    private static bool TagTaken(Audience audience, string tag, int? exceptMergeId) =>
        tag == "EMAIL" || audience.MergeFields.Any(f => f.Tag == tag && f.MergeId != exceptMergeId);

    /// <summary>
    /// The member's merge values after this write: the sent values (tags upper-cased) over the ones it has. Unless
    /// <paramref name="skipMergeValidation"/>, each sent value must suit its field's type (<see cref="MergeFieldRules.Check"/>),
    /// a tag the audience has no field for is refused ([MF] "you can't set a value on a contact for a field the audience
    /// doesn't define"), and required fields must have a value; all problems come back together, as Mailchimp's
    /// "Your merge fields were invalid." with one error per tag. With it, values are stored unchecked, but a tag without
    /// a field is still dropped, since there is nowhere to keep it.
    /// </summary>
    private static (Dictionary<string, JsonNode?> Values, MemberFailure? Failure) MergedFields(Audience audience, Member? existing, MemberInput input, bool skipMergeValidation)
    {
        var merged = existing is null ? new Dictionary<string, JsonNode?>(StringComparer.Ordinal) : new Dictionary<string, JsonNode?>(existing.MergeFields);
        var errors = new List<FieldError>();
        foreach (var (sentTag, value) in input.MergeFields ?? new Dictionary<string, JsonNode?>())
        {
            var tag = sentTag.ToUpperInvariant();
            if (audience.MergeFields.Find(f => f.Tag == tag) is not { } field)
            {
                if (!skipMergeValidation) errors.Add(new FieldError(tag, $"The audience has no merge field with the tag \"{tag}\"."));
                continue;
            }
            if (skipMergeValidation || value is null)
            {
                merged[tag] = value?.DeepClone();
                continue;
            }
            var (stored, problem) = MergeFieldRules.Check(field, value);
            if (problem is not null) errors.Add(new FieldError(tag, problem));
            else merged[tag] = stored?.DeepClone();
        }
        if (!skipMergeValidation)
            errors.AddRange(audience.MergeFields
                .Where(f => f.Required && errors.All(e => e.Field != f.Tag)
                    && (!merged.TryGetValue(f.Tag, out var v) || v is null || (v is JsonValue jv && jv.TryGetValue<string>(out var s) && string.IsNullOrWhiteSpace(s))))
                .Select(f => new FieldError(f.Tag, "Please enter a value")));
        return errors.Count == 0
            ? (merged, null)
            : (merged, new MemberFailure(400, "Invalid Resource", MergeFieldRules.Invalid, "ERROR_GENERIC", errors[0].Field, errors));
    }
}
