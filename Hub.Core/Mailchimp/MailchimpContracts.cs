using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hub.Core.Mailchimp;

// Mailchimp Marketing API v3 shapes Hub uses; property names become the spec's snake_case through
// MailchimpJsonContext. Only the fields Hub reads or writes are modelled.

/// <summary>Answer of <c>GET /ping</c>.</summary>
public sealed record MailchimpPing(string HealthStatus);

/// <summary>The account behind a credential (<c>GET /</c>), used to label a connection.</summary>
public sealed record MailchimpAccount(string AccountId, string AccountName, string Email, string LoginId);

/// <summary>An audience's physical contact (required by anti-spam law).</summary>
public sealed record MailchimpListContact(
    string Company, string Address1, string City, string Country,
    string? Address2 = null, string? State = null, string? Zip = null, string? Phone = null);

/// <summary>Default sender and subject of an audience's campaigns.</summary>
public sealed record MailchimpCampaignDefaults(string FromName, string FromEmail, string Subject, string Language);

/// <summary>Body of <c>POST /lists</c>: the five required fields plus the optional settings Hub sets.</summary>
public sealed record MailchimpListCreate(
    string Name, string PermissionReminder, bool EmailTypeOption, MailchimpListContact Contact, MailchimpCampaignDefaults CampaignDefaults,
    bool? DoubleOptin = null, bool? MarketingPermissions = null);

/// <summary>Body of <c>PATCH /lists/{list_id}</c>: only the fields set are sent.</summary>
public sealed record MailchimpListUpdate(
    string? Name = null, string? PermissionReminder = null, bool? EmailTypeOption = null, MailchimpListContact? Contact = null,
    MailchimpCampaignDefaults? CampaignDefaults = null, bool? DoubleOptin = null, bool? MarketingPermissions = null);

/// <summary>Audience counters Hub shows.</summary>
public sealed record MailchimpListStats(int MemberCount, int UnsubscribeCount, int CleanedCount, int TotalContacts);

/// <summary>An audience (list).</summary>
public sealed record MailchimpList(
    string Id, long WebId, string Name, MailchimpListContact Contact, string PermissionReminder, MailchimpCampaignDefaults CampaignDefaults,
    bool EmailTypeOption, bool DoubleOptin, bool MarketingPermissions, DateTimeOffset DateCreated, MailchimpListStats? Stats);

/// <summary>One page of <c>GET /lists</c>.</summary>
public sealed record MailchimpListPage(IReadOnlyList<MailchimpList> Lists, int TotalItems);

/// <summary>Contact statuses Mailchimp accepts on writes (<c>archived</c> only appears in responses and filters).</summary>
public static class MailchimpMemberStatus
{
    public const string Subscribed = "subscribed";
    public const string Unsubscribed = "unsubscribed";
    public const string Cleaned = "cleaned";
    public const string Pending = "pending";
    public const string Transactional = "transactional";
    public const string Archived = "archived";
}

/// <summary>A tag on a contact.</summary>
public sealed record MailchimpMemberTag(long Id, string Name);

/// <summary>A contact in one audience.</summary>
public sealed record MailchimpMember(
    string Id, string EmailAddress, string Status, string ListId,
    Dictionary<string, JsonNode?>? MergeFields = null, string? Language = null, bool Vip = false,
    DateTimeOffset? LastChanged = null, IReadOnlyList<MailchimpMemberTag>? Tags = null, string? ContactId = null);

/// <summary>One page of <c>GET /lists/{list_id}/members</c>.</summary>
public sealed record MailchimpMemberPage(IReadOnlyList<MailchimpMember> Members, int TotalItems);

/// <summary>
/// Body of the upsert <c>PUT /lists/{list_id}/members/{hash}</c>. <see cref="StatusIfNew"/> applies to
/// new contacts only; <see cref="Status"/>, when set, overwrites an existing contact's status.
/// </summary>
public sealed record MailchimpMemberUpsert(
    string EmailAddress, string StatusIfNew, string? Status = null, Dictionary<string, JsonNode?>? MergeFields = null,
    string? Language = null, bool? Vip = null);

/// <summary>
/// Body of the create-only <c>POST /lists/{list_id}/members</c>: answers 400 "Member Exists" when the
/// contact is already on the audience, so a success means this call created it.
/// </summary>
public sealed record MailchimpMemberCreate(
    string EmailAddress, string Status, Dictionary<string, JsonNode?>? MergeFields = null, string? Language = null, bool? Vip = null);

/// <summary>One tag change: <c>active</c> adds (creating the tag if new), <c>inactive</c> removes.</summary>
public sealed record MailchimpTagUpdate(string Name, string Status)
{
    public static MailchimpTagUpdate Active(string name) => new(name, "active");

    public static MailchimpTagUpdate Inactive(string name) => new(name, "inactive");
}

/// <summary>Body of <c>POST /lists/{list_id}/members/{hash}/tags</c>.</summary>
public sealed record MailchimpTagsRequest(IReadOnlyList<MailchimpTagUpdate> Tags, bool IsSyncing);

/// <summary>
/// One contact in a batch subscribe. Spec 3.0.55 <c>postListsId</c> documents <c>email_address</c>, <c>status</c>,
/// <c>merge_fields</c>, <c>language</c>, <c>vip</c> (and more Hub does not send); <c>tags</c> is documented by Mailchimp's
/// changelog of 2022-01-24 (FACTS.md §5). There is no <c>status_if_new</c> here: that belongs to the member PUT.
/// </summary>
public sealed record MailchimpBatchMember(
    string EmailAddress, string Status, IReadOnlyDictionary<string, System.Text.Json.JsonElement>? MergeFields = null,
    string? Language = null, bool? Vip = null, IReadOnlyList<string>? Tags = null);

/// <summary>
/// Body of batch subscribe <c>POST /lists/{list_id}</c>: at most <see cref="MaxMembers"/> contacts.
/// <see cref="UpdateExisting"/> "will change existing members' subscription status" (spec), so Hub sends it true only for
/// contacts it has just read as subscribed, with <c>subscribed</c> (see <c>Members.MemberBatchWriter</c>);
/// <see cref="SyncTags"/> (changelog 2022-01-24) replaces existing contacts' tags and needs <see cref="UpdateExisting"/>.
/// </summary>
public sealed record MailchimpBatchSubscribe(IReadOnlyList<MailchimpBatchMember> Members, bool UpdateExisting, bool SyncTags = false)
{
    public const int MaxMembers = 500;
}

/// <summary>A contact a batch subscribe refused; <see cref="ErrorCode"/> is ERROR_CONTACT_EXISTS or ERROR_GENERIC.</summary>
public sealed record MailchimpBatchError(string EmailAddress, string Error, string ErrorCode, string? Field = null, string? FieldMessage = null);

/// <summary>A contact in a batch-subscribe answer or a status page: Hub reads only who it is, so the rest of each member object is skipped, not built.</summary>
public sealed record MailchimpBatchMemberRef(string EmailAddress, string Status);

/// <summary>One page of <c>GET /lists/{list_id}/members</c> asked for each contact's address and status only (a partial response).</summary>
public sealed record MailchimpMemberStatusPage(IReadOnlyList<MailchimpBatchMemberRef> Members, int TotalItems);

/// <summary>The synchronous answer of a batch subscribe.</summary>
public sealed record MailchimpBatchResult(
    IReadOnlyList<MailchimpBatchMemberRef> NewMembers, IReadOnlyList<MailchimpBatchMemberRef> UpdatedMembers, IReadOnlyList<MailchimpBatchError> Errors,
    int TotalCreated, int TotalUpdated, int ErrorCount);

/// <summary>A merge field (per-audience contact field, keyed by <see cref="Tag"/> in a member's merge_fields).</summary>
public sealed record MailchimpMergeField(
    long MergeId, string Tag, string Name, string Type, bool Required, string? DefaultValue, bool Public, int DisplayOrder, string ListId,
    MailchimpMergeFieldOptions? Options = null);

/// <summary>
/// A merge field's <c>options</c> (spec 3.0.55 <c>postListsIdMergeFields</c> / <c>patchListsIdMergeFieldsId</c>): <c>choices</c>
/// (radio, dropdown), <c>date_format</c> (date, birthday), <c>phone_format</c> (phone: US or International). <c>size</c> and
/// <c>default_country</c> exist too; Hub sends neither.
/// </summary>
public sealed record MailchimpMergeFieldOptions(IReadOnlyList<string>? Choices = null, string? DateFormat = null, string? PhoneFormat = null);

/// <summary>One page of <c>GET /lists/{list_id}/merge-fields</c>.</summary>
public sealed record MailchimpMergeFieldPage(IReadOnlyList<MailchimpMergeField> MergeFields, int TotalItems);

/// <summary>Body of <c>POST /lists/{list_id}/merge-fields</c>; <see cref="Type"/> is text, number, address, phone, date, url, imageurl, radio, dropdown, birthday or zip.</summary>
public sealed record MailchimpMergeFieldCreate(
    string Name, string Type, string? Tag = null, bool? Required = null, string? DefaultValue = null, bool? Public = null, MailchimpMergeFieldOptions? Options = null);

/// <summary>Body of <c>PATCH /lists/{list_id}/merge-fields/{merge_id}</c> (spec 3.0.55 <c>patchListsIdMergeFieldsId</c>: <c>name</c> required).</summary>
public sealed record MailchimpMergeFieldUpdate(string Name, bool? Required = null, MailchimpMergeFieldOptions? Options = null);

/// <summary>
/// Body of <c>POST /lists/{list_id}/webhooks</c> (spec 3.0.55 <c>postListsIdWebhooks</c>: <c>url</c>, and <c>events</c> and
/// <c>sources</c> of booleans).
/// </summary>
public sealed record MailchimpListWebhookCreate(string Url, MailchimpWebhookEvents Events, MailchimpWebhookSources Sources);

/// <summary>Which changes a list webhook is sent for (spec <c>events</c>).</summary>
public sealed record MailchimpWebhookEvents(bool Subscribe, bool Unsubscribe, bool Profile, bool Cleaned, bool Upemail, bool Campaign);

/// <summary>Whose changes a list webhook is sent for (spec <c>sources</c>): the person, an account user, or the API.</summary>
public sealed record MailchimpWebhookSources(bool User, bool Admin, bool Api);

/// <summary>
/// A list webhook as Mailchimp answers it (spec <c>getListsIdWebhooksId</c>). <see cref="SigningSecret"/> and
/// <see cref="SigningEnabled"/> are newer than spec 3.0.55: Mailchimp's webhook guide documents them in the create
/// answer only (the secret is never shown again; FACTS.md §9).
/// </summary>
public sealed record MailchimpListWebhook(
    string Id, string Url, MailchimpWebhookEvents? Events, MailchimpWebhookSources? Sources, string? ListId,
    string? SigningSecret = null, bool? SigningEnabled = null);

/// <summary>Body of <c>PATCH /lists/{list_id}/members/{subscriber_hash}</c> that changes only the contact's address (spec <c>patchListsIdMembersId</c>).</summary>
public sealed record MailchimpMemberEmailChange(string EmailAddress);

/// <summary>Mailchimp's application/problem+json body.</summary>
internal sealed record MailchimpProblem(string? Type, string? Title, int? Status, string? Detail, string? Instance, IReadOnlyList<MailchimpProblemError>? Errors);

internal sealed record MailchimpProblemError(string? Field, string? Message);

/// <summary>Source-generated JSON for every Mailchimp DTO: snake_case, nulls omitted.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    NumberHandling = JsonNumberHandling.AllowReadingFromString)]
[JsonSerializable(typeof(MailchimpPing))]
[JsonSerializable(typeof(MailchimpAccount))]
[JsonSerializable(typeof(MailchimpListCreate))]
[JsonSerializable(typeof(MailchimpListUpdate))]
[JsonSerializable(typeof(MailchimpList))]
[JsonSerializable(typeof(MailchimpListPage))]
[JsonSerializable(typeof(MailchimpMember))]
[JsonSerializable(typeof(MailchimpMemberPage))]
[JsonSerializable(typeof(MailchimpMemberStatusPage))]
[JsonSerializable(typeof(MailchimpMemberUpsert))]
[JsonSerializable(typeof(MailchimpMemberCreate))]
[JsonSerializable(typeof(MailchimpTagsRequest))]
[JsonSerializable(typeof(MailchimpBatchSubscribe))]
[JsonSerializable(typeof(MailchimpBatchResult))]
[JsonSerializable(typeof(MailchimpMergeField))]
[JsonSerializable(typeof(MailchimpMergeFieldPage))]
[JsonSerializable(typeof(MailchimpMergeFieldCreate))]
[JsonSerializable(typeof(MailchimpMergeFieldUpdate))]
[JsonSerializable(typeof(MailchimpMemberEmailChange))]
[JsonSerializable(typeof(MailchimpListWebhookCreate))]
[JsonSerializable(typeof(MailchimpListWebhook))]
[JsonSerializable(typeof(MailchimpProblem))]
internal sealed partial class MailchimpJsonContext : JsonSerializerContext;
