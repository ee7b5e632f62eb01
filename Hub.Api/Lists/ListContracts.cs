using Hub.Api.Hosting;
using System.Text.Json;
using Hub.Core.Audiences;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;

namespace Hub.Api.Lists;

/// <summary>
/// Link a host list. <c>mode</c>: <c>audience</c> (the list is the whole audience, default) or <c>tag</c>
/// (a tag inside a shared audience). Give <c>audienceId</c> (a managed audience) or <c>newAudience</c>.
/// <c>fields</c>: the contact fields the list's members carry, provisioned as merge fields on the audience.
/// </summary>
public sealed record LinkListRequest(
    string? Key, string? Name, string? Mode, string? AudienceId, CreateAudienceDraft? NewAudience, string? Tag,
    string? DefaultStatus, string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields)
{
    public ListLink ToLink() => new(Key, Name, Mode, AudienceId, NewAudience?.ToDraft(), Tag, DefaultStatus, RemovalPolicy, Fields);
}

/// <summary>A new audience for a list; unset fields take the tenant's defaults.</summary>
public sealed record CreateAudienceDraft(string? Name, string? PermissionReminder, AudienceContact? Contact, CampaignDefaults? CampaignDefaults, bool? DoubleOptin)
{
    public AudienceDraft ToDraft() => new(Name, PermissionReminder, Contact, CampaignDefaults, DoubleOptin: DoubleOptin);
}

/// <summary>
/// Change a list: name, the audience's permission reminder (mode audience), defaultStatus (subscribed|pending), removalPolicy
/// (archive|unsubscribe|none), fields (replaces the declared fields; a field left out stays in the audience).
/// </summary>
public sealed record UpdateListRequest(string? Name, string? PermissionReminder, string? DefaultStatus, string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields)
{
    public ListChanges ToChanges() => new(Name, PermissionReminder, DefaultStatus, RemovalPolicy, Fields);
}

/// <summary>A linked list; <c>fields</c> are its declared contact fields as the audience holds them, with their merge ids.</summary>
public sealed record ListResponse(
    string Key, string Name, string Mode, string AudienceId, string? Tag, string DefaultStatus, string RemovalPolicy,
    long MemberCount, ListSyncStatus? LastSync, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt, IReadOnlyList<ListField> Fields)
{
    public static ListResponse From(ListView view) => new(
        view.List.Key.ToString(), view.List.Name, Lower(view.List.Mode), view.List.AudienceId, view.List.Tag,
        Lower(view.List.DefaultStatus), Lower(view.List.RemovalPolicy), view.MemberCount, view.List.LastSync, view.List.CreatedAt, view.List.UpdatedAt,
        view.List.Fields ?? []);

    private static string Lower<T>(T value) where T : struct, Enum => value.ToString().ToLowerInvariant();
}

/// <summary>Body of <c>PATCH /api/v1/lists/{key}/members/{email}</c>: the member's new address.</summary>
public sealed record ChangeEmailRequest(string? Email);

/// <summary>
/// Up to 200 adds (member objects: email, mergeFields, tags, language, vip, status, externalId) and removes (emails),
/// answered inline with a result per member. <c>removeMode</c>: archive (default), unsubscribe or permanent.
/// </summary>
public sealed record BatchMembersRequest(IReadOnlyList<JsonElement>? Add, IReadOnlyList<string>? Remove, string? RemoveMode);

public sealed record BatchMembersResponse(int Succeeded, int Failed, IReadOnlyList<MemberOutcomeResponse> Results);

public sealed record MemberOutcomeResponse(string Email, string Result, MemberErrorResponse? Error);

/// <summary>A member's failure as a problem; <c>errors</c> names the member's fields at fault (e.g. <c>mergeFields.BIRTHDAY</c>).</summary>
public sealed record MemberErrorResponse(string Type, string Title, string Detail, IReadOnlyDictionary<string, string[]>? Errors)
{
    public static MemberErrorResponse From(MailchimpError error) =>
        new(Problems.TypePrefix + error.Code, error.Title, error.Detail, error.FieldErrors.Count > 0 ? error.Errors() : null);
}
