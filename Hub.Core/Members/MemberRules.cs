using System.Text.Json.Nodes;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;

namespace Hub.Core.Members;

/// <summary>What a list's settings and a member's body mean for the Mailchimp calls that write the member.</summary>
public static class MemberRules
{
    /// <summary>A refusal for what the member is (compliance state, forgotten, fake address): remembered and not sent again unchanged.</summary>
    public static bool IsRefusal(string code) =>
        code is MailchimpErrorCodes.MemberInComplianceState or MailchimpErrorCodes.ForgottenEmail or MailchimpErrorCodes.InvalidEmail;

    /// <summary>The status a new contact of the list gets (Mailchimp's <c>status_if_new</c>).</summary>
    public static string StatusIfNew(HostList list) =>
        list.DefaultStatus == NewMemberStatus.Pending ? MailchimpMemberStatus.Pending : MailchimpMemberStatus.Subscribed;

    /// <summary>The list's tag (tag mode) and the member's own tags.</summary>
    public static List<string> TagsFor(HostList list, DesiredMember member)
    {
        var own = member.Tags ?? [];
        var tags = new List<string>(own.Count + 1);
        if (list.Tag is { } listTag)
        {
            tags.Add(listTag);
        }

        // Each tag once, in order, compared ordinally (a member has a few; no set to build for every member of a sync).
        foreach (var tag in own)
        {
            if (!tags.Contains(tag))
            {
                tags.Add(tag);
            }
        }

        return tags;
    }

    public static Dictionary<string, JsonNode?>? MergeFields(DesiredMember member) =>
        member.MergeFields?.ToDictionary(field => field.Key, field => JsonNode.Parse(field.Value.GetRawText()), StringComparer.Ordinal);
}
