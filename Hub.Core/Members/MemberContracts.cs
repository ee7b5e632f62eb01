using System.Text.Json.Nodes;
using Hub.Core.Mailchimp;
using Hub.Core.Storage;

namespace Hub.Core.Members;

/// <summary>A member as the facade shows it.</summary>
/// <param name="Email">The member's address.</param>
/// <param name="Status">The contact's status in Mailchimp.</param>
/// <param name="MergeFields">Merge tag to value (<c>FNAME</c>, <c>LNAME</c>, the list's declared fields, ...).</param>
/// <param name="Tags">The contact's tags.</param>
/// <param name="Language">The contact's language, e.g. <c>en</c>; empty when unset.</param>
/// <param name="Vip">Whether the contact is a VIP.</param>
/// <param name="LastChanged">When Mailchimp last changed the contact.</param>
public sealed record MemberView(
    string Email,
    [OneOf(MailchimpMemberStatus.Subscribed, MailchimpMemberStatus.Unsubscribed, MailchimpMemberStatus.Cleaned, MailchimpMemberStatus.Pending, MailchimpMemberStatus.Transactional, MailchimpMemberStatus.Archived)] string Status, IReadOnlyDictionary<string, JsonNode?> MergeFields, IReadOnlyList<string> Tags,
    string? Language, bool Vip, DateTimeOffset? LastChanged)
{
    public static MemberView From(MailchimpMember member, IReadOnlyList<string> addedTags) => new(
        member.EmailAddress, member.Status, member.MergeFields ?? [],
        (member.Tags?.Select(tag => tag.Name) ?? []).Concat(addedTags).Distinct(StringComparer.Ordinal).ToList(),
        member.Language, member.Vip, member.LastChanged);
}

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
