using System.Text.Json.Nodes;
using Hub.Core.Mailchimp;

namespace Hub.Core.Members;

/// <summary>A member as the facade shows it.</summary>
public sealed record MemberView(
    string Email, string Status, IReadOnlyDictionary<string, JsonNode?> MergeFields, IReadOnlyList<string> Tags,
    string? Language, bool Vip, DateTimeOffset? LastChanged)
{
    public static MemberView From(MailchimpMember member, IReadOnlyList<string> addedTags) => new(
        member.EmailAddress, member.Status, member.MergeFields ?? [],
        (member.Tags?.Select(tag => tag.Name) ?? []).Concat(addedTags).Distinct(StringComparer.Ordinal).ToList(),
        member.Language, member.Vip, member.LastChanged);
}

/// <summary>One page of a list's members; <see cref="NextCursor"/> is null on the last page.</summary>
public sealed record MemberPage(IReadOnlyList<MemberView> Items, string? NextCursor);

/// <summary>The outcome for one member of an inline batch.</summary>
public sealed record MemberOutcome(string Email, string Result, MailchimpError? Error)
{
    public const string Added = "added";
    public const string Updated = "updated";
    public const string Removed = "removed";
    public const string Failed = "failed";

    /// <summary>Not written: the address was erased at the person's request (see <see cref="ErasedPeople"/>).</summary>
    public const string Erased = ErasedPeople.Code;
}
