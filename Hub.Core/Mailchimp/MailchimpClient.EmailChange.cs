namespace Hub.Core.Mailchimp;

// Changing a contact's address (Hub.Core/Members/MemberRenamer).
public sealed partial class MailchimpClient
{
    /// <summary>
    /// <c>PATCH /lists/{list_id}/members/{old hash}</c> with the new <c>email_address</c> (spec 3.0.55
    /// <c>patchListsIdMembersId</c>; FACTS.md §4): the same contact, its status and history, under the new address. A PATCH
    /// never creates a contact: 404 when the old address is not in the audience. Not retried: after a lost answer the old
    /// address is gone, and the caller checks which address exists instead.
    /// </summary>
    public Task<MailchimpResult<MailchimpMember>> ChangeMemberEmailAsync(
        MailchimpCredential credential, string listId, SubscriberHash oldHash, string newEmail, CancellationToken cancellationToken) =>
        CallAsync(credential, "change_member_email", HttpMethod.Patch, MemberPath(listId, oldHash),
            Body(new MailchimpMemberEmailChange(newEmail), Json.MailchimpMemberEmailChange), Json.MailchimpMember, cancellationToken);
}
