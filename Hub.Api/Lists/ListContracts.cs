using Hub.Api.Hosting;
using System.Text.Json;
using Hub.Core.Audiences;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Storage;

namespace Hub.Api.Lists;

/// <summary>
/// Link a host list. <c>mode</c>: <c>audience</c> (the list is the whole audience, default) or <c>tag</c>
/// (a tag inside a shared audience). Give <c>audienceId</c> (a managed audience) or <c>newAudience</c>.
/// <c>fields</c>: the contact fields the list's members carry, provisioned as merge fields on the audience.
/// </summary>
/// <param name="Key">The host's own key of the list: <c>[A-Za-z0-9._:-]{1,100}</c>, not <c>.</c> or <c>..</c>.</param>
/// <param name="Name">The list's name.</param>
/// <param name="Mode">The whole audience (default) or a tag in a shared audience.</param>
/// <param name="AudienceId">A managed audience to link to.</param>
/// <param name="NewAudience">An audience to create instead (mode audience).</param>
/// <param name="Tag">Tag mode: the Mailchimp tag; default the key.</param>
/// <param name="DefaultStatus">The status new contacts get: <c>subscribed</c> (default) or <c>pending</c> (double opt-in).</param>
/// <param name="RemovalPolicy">What happens to a member who leaves the list (only members Hub added): archive (default), unsubscribe, or none.</param>
/// <param name="Fields">The contact fields the list's members carry, provisioned as the audience's merge fields.</param>
public sealed record LinkListRequest(
    string? Key, string? Name, [OneOf<ListMode>] string? Mode, string? AudienceId, CreateAudienceDraft? NewAudience, string? Tag,
    [OneOf<NewMemberStatus>] string? DefaultStatus, [OneOf<RemovalPolicy>] string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields)
{
    public ListLink ToLink() => new(Key, Name, Mode, AudienceId, NewAudience?.ToDraft(), Tag, DefaultStatus, RemovalPolicy, Fields);
}

/// <summary>A new audience for a list; unset fields take the tenant's defaults.</summary>
/// <param name="Name">The audience's name (required).</param>
/// <param name="PermissionReminder">Why its contacts get email; default the tenant's.</param>
/// <param name="Contact">The audience's contact block; default the tenant's.</param>
/// <param name="CampaignDefaults">The audience's campaign defaults; default the tenant's.</param>
/// <param name="DoubleOptin">Whether new contacts must confirm by email; default false.</param>
public sealed record CreateAudienceDraft(string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults, bool? DoubleOptin)
{
    public AudienceDraft ToDraft() => new(Name, PermissionReminder, Contact, CampaignDefaults, DoubleOptin: DoubleOptin);
}

/// <summary>
/// Change a list: name, the audience's permission reminder (mode audience), defaultStatus (subscribed|pending), removalPolicy
/// (archive|unsubscribe|none), fields (replaces the declared fields; a field left out stays in the audience).
/// </summary>
/// <param name="Name">The list's new name.</param>
/// <param name="PermissionReminder">Audience mode: the audience's new permission reminder.</param>
/// <param name="DefaultStatus">The status new contacts get.</param>
/// <param name="RemovalPolicy">What happens to a member who leaves the list.</param>
/// <param name="Fields">The list's declared fields, replacing the declaration.</param>
public sealed record UpdateListRequest(string? Name, string? PermissionReminder, [OneOf<NewMemberStatus>] string? DefaultStatus, [OneOf<RemovalPolicy>] string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields)
{
    public ListChanges ToChanges() => new(Name, PermissionReminder, DefaultStatus, RemovalPolicy, Fields);
}

/// <summary>A linked list; <c>fields</c> are its declared contact fields as the audience holds them, with their merge ids.</summary>
/// <param name="Key">The host's key of the list.</param>
/// <param name="Name">The list's name.</param>
/// <param name="Mode">Whether the list is a whole audience or a tag in one.</param>
/// <param name="AudienceId">The managed audience the list lives in.</param>
/// <param name="Tag">Tag mode: the Mailchimp tag; null in audience mode.</param>
/// <param name="DefaultStatus">The status new contacts get.</param>
/// <param name="RemovalPolicy">What happens to a member who leaves the list.</param>
/// <param name="MemberCount">Members Hub synced to the list.</param>
/// <param name="LastSync">The list's last sync job or inline batch; null before the first.</param>
/// <param name="CreatedAt">When the list was linked.</param>
/// <param name="UpdatedAt">When it last changed.</param>
/// <param name="Fields">The declared contact fields as the audience holds them, with their merge ids.</param>
public sealed record ListResponse(
    string Key, string Name, [OneOf<ListMode>] string Mode, string AudienceId, string? Tag, [OneOf<NewMemberStatus>] string DefaultStatus, [OneOf<RemovalPolicy>] string RemovalPolicy,
    long MemberCount, ListSyncStatus? LastSync, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ListField> Fields)
{
    public static ListResponse From(ListView view) => new(
        view.List.Key.ToString(), view.List.Name, Lower(view.List.Mode), view.List.AudienceId, view.List.Tag,
        Lower(view.List.DefaultStatus), Lower(view.List.RemovalPolicy), view.MemberCount, view.List.LastSync, view.List.CreatedAt, view.List.UpdatedAt,
        view.List.Fields ?? []);

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}

/// <summary>Body of <c>PATCH /api/v1/lists/{key}/members/{email}</c>: the member's new address.</summary>
/// <param name="Email">The new address.</param>/// <summary>Body of <c>PATCH /api/v1/lists/{key}/members/{email}</c>: the member's new address.</summary>
public sealed record ChangeEmailRequest(string? Email);

/// <summary>
/// Up to 200 adds (member objects: email, mergeFields, tags, language, vip, status, externalId) and removes (emails),
/// answered inline with a result per member. <c>removeMode</c>: archive (default), unsubscribe or permanent.
/// </summary>
/// <param name="Add">Members to add or update: objects with <c>email</c>, <c>mergeFields</c>, <c>tags</c>, <c>language</c>, <c>vip</c>, <c>status</c>, <c>externalId</c>.</param>
/// <param name="Remove">Addresses to remove.</param>
/// <param name="RemoveMode">How to remove: archive (default), unsubscribe or permanent.</param>
public sealed record BatchMembersRequest(IReadOnlyList<JsonElement>? Add, IReadOnlyList<string>? Remove, [OneOf<RemovalMode>] string? RemoveMode);

/// <summary>An inline batch's outcome: a result per member, in no particular order.</summary>
/// <param name="Succeeded">Members added, updated or removed.</param>
/// <param name="Failed">Members that failed.</param>
/// <param name="Results">Each member's result.</param>
public sealed record BatchMembersResponse(int Succeeded, int Failed, IReadOnlyList<MemberOutcomeResponse> Results);

/// <summary>One member's result in an inline batch.</summary>
/// <param name="Email">The member's address.</param>
/// <param name="Result">What happened to it.</param>
/// <param name="Error">Why it failed, when it did.</param>
public sealed record MemberOutcomeResponse(string Email, [OneOf(MemberOutcome.Added, MemberOutcome.Updated, MemberOutcome.Removed, MemberOutcome.Failed, MemberOutcome.Erased)] string Result, MemberErrorResponse? Error);

/// <summary>A member's failure as a problem; <c>errors</c> names the member's fields at fault (e.g. <c>mergeFields.BIRTHDAY</c>).</summary>
/// <param name="Type">The problem type, <c>urn:hub:problem:</c> and a code.</param>
/// <param name="Title">Short summary of the problem type.</param>
/// <param name="Detail">What went wrong, for people.</param>
/// <param name="Errors">Field to messages, when fields are at fault.</param>/// <summary>A member's failure as a problem; <c>errors</c> names the member's fields at fault (e.g. <c>mergeFields.BIRTHDAY</c>).</summary>
public sealed record MemberErrorResponse(string Type, string Title, string Detail, IReadOnlyDictionary<string, string[]>? Errors)
{
    public static MemberErrorResponse From(MailchimpError error) =>
        new(Problems.TypePrefix + error.Code, error.Title, error.Detail, error.FieldErrors.Count > 0 ? error.Errors() : null);
}
