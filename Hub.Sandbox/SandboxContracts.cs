using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Hub.Sandbox;

// Response shapes of the marketing API (names follow the spec once snake_cased by SandboxJson).

public sealed record ListContact(string Company, string Address1, string? Address2, string City, string? State, string? Zip, string Country, string? Phone);

public sealed record CampaignDefaults(string FromName, string FromEmail, string Subject, string Language);

public sealed record ListSettings(
    string Name, string PermissionReminder, bool EmailTypeOption, ListContact Contact, CampaignDefaults CampaignDefaults,
    bool DoubleOptin, bool MarketingPermissions, bool UseArchiveBar, string NotifyOnSubscribe, string NotifyOnUnsubscribe);

public sealed record MergeField(
    int MergeId, string Tag, string Name, string Type, bool Required, string DefaultValue, bool Public,
    int DisplayOrder, MergeFieldOptions Options, string HelpText, string ListId);

public sealed record MergeFieldOptions(int? Size = null, IReadOnlyList<string>? Choices = null, string? DateFormat = null, string? PhoneFormat = null, int? DefaultCountry = null);

public sealed record ListStats(
    int MemberCount, int TotalContacts, int UnsubscribeCount, int CleanedCount, int MemberCountSinceSend,
    int UnsubscribeCountSinceSend, int CleanedCountSinceSend, int CampaignCount, int MergeFieldCount,
    double AvgSubRate, double AvgUnsubRate, double TargetSubRate, double OpenRate, double ClickRate);

public sealed record ListResponse(
    string Id, int WebId, string Name, ListContact Contact, string PermissionReminder, bool UseArchiveBar,
    CampaignDefaults CampaignDefaults, string NotifyOnSubscribe, string NotifyOnUnsubscribe, DateTimeOffset DateCreated,
    int ListRating, bool EmailTypeOption, string SubscribeUrlShort, string SubscribeUrlLong, string BeamerAddress,
    string Visibility, bool DoubleOptin, bool HasWelcome, bool MarketingPermissions, IReadOnlyList<string> Modules, ListStats Stats);

public sealed record ListsResponse(IReadOnlyList<ListResponse> Lists, int TotalItems, ListConstraints Constraints);

public sealed record ListConstraints(bool MayCreate, int MaxInstances, int CurrentTotalInstances);

public sealed record MemberTag(int Id, string Name);

public sealed record MemberTagDetail(int Id, string Name, DateTimeOffset DateAdded);

public sealed record MemberTagsResponse(IReadOnlyList<MemberTagDetail> Tags, int TotalItems);

public sealed record MemberStats(double AvgOpenRate, double AvgClickRate);

public sealed record MemberLocation(double Latitude, double Longitude, int Gmtoff, int Dstoff, string CountryCode, string Timezone, string Region);

public sealed record MemberResponse(
    string Id, string EmailAddress, string UniqueEmailId, string ContactId, string FullName, int WebId, string EmailType,
    string Status, bool ConsentsToOneToOneMessaging, IReadOnlyDictionary<string, JsonNode?> MergeFields,
    IReadOnlyDictionary<string, bool> Interests, MemberStats Stats, string IpSignup, DateTimeOffset TimestampSignup,
    string IpOpt, DateTimeOffset TimestampOpt, int MemberRating, DateTimeOffset LastChanged, string Language, bool Vip,
    string EmailClient, MemberLocation Location, string Source, int TagsCount, IReadOnlyList<MemberTag> Tags, string ListId);

public sealed record MembersResponse(IReadOnlyList<MemberResponse> Members, string ListId, int TotalItems);

public sealed record BatchError(string EmailAddress, string Error, string ErrorCode, string? Field = null, string? FieldMessage = null);

public sealed record BatchResponse(
    IReadOnlyList<MemberResponse> NewMembers, IReadOnlyList<MemberResponse> UpdatedMembers, IReadOnlyList<BatchError> Errors,
    int TotalCreated, int TotalUpdated, int ErrorCount);

public sealed record MergeFieldsResponse(IReadOnlyList<MergeField> MergeFields, string ListId, int TotalItems);

public sealed record AccountContact(string Company, string Addr1, string Addr2, string City, string State, string Zip, string Country);

public sealed record AccountResponse(
    string AccountId, string LoginId, string AccountName, string Email, string FirstName, string LastName, string Username,
    string AvatarUrl, string Role, DateTimeOffset MemberSince, string PricingPlanType, string AccountTimezone,
    string AccountIndustry, AccountContact Contact, bool ProEnabled, DateTimeOffset LastLogin, int TotalSubscribers);

/// <summary>A list webhook's events (spec 3.0.55); <c>campaign</c> is stored but the sandbox has no campaigns to fire it.</summary>
public sealed record WebhookEvents(bool Subscribe, bool Unsubscribe, bool Profile, bool Cleaned, bool Upemail, bool Campaign);

/// <summary>Whose actions fire a list webhook: the person (<c>user</c>), an admin in the web app, or the API.</summary>
public sealed record WebhookSources(bool User, bool Admin, bool Api);

/// <summary>One entry of Mailchimp's <c>_links</c>.</summary>
public sealed record ResourceLink(string Rel, string Href, string Method);

/// <summary>
/// A list webhook as the marketing API shows it (spec 3.0.55), plus <c>signing_secret</c> and <c>signing_enabled</c>
/// (FACTS.md §9, newer than the spec): the secret is only in the create answer, "" everywhere else.
/// </summary>
public sealed record WebhookResponse(
    string Id, string Url, WebhookEvents Events, WebhookSources Sources, string ListId, string SigningSecret, bool SigningEnabled,
    [property: JsonPropertyName("_links")] IReadOnlyList<ResourceLink> Links);

public sealed record WebhooksResponse(
    IReadOnlyList<WebhookResponse> Webhooks, string ListId, int TotalItems,
    [property: JsonPropertyName("_links")] IReadOnlyList<ResourceLink> Links);

// Control API contracts (also what SandboxHost deserializes).

public sealed record SandboxAccount(string Id, string Name, string Dc, string LoginEmail, string LoginId, int AudienceLimit, int MaxConcurrentRequests, string? ApiKey = null);

public sealed record SandboxApp(string ClientId, string ClientSecret, string RedirectUri);

public sealed record SandboxMember(string EmailAddress, string SubscriberHash, string Status, IReadOnlyDictionary<string, JsonNode?> MergeFields, IReadOnlyList<string> Tags);

public sealed record SandboxListSummary(string Id, string AccountId, string Name, int MemberCount, int TotalContacts);

public sealed record SandboxLatency(int PerCallMs, int PerMemberMs);

public sealed record SandboxFault(string Id, string Route, string Kind, double Share, int? Times);

public sealed record SandboxCounters(
    IReadOnlyDictionary<string, long> Calls,
    IReadOnlyDictionary<string, long> Statuses,
    IReadOnlyDictionary<string, long> RouteStatuses,
    IReadOnlyDictionary<string, int> MaxConcurrent,
    long MembersCreated, long MembersUpdated, long MembersArchived, long MembersDeleted, long MembersWritten,
    long FaultsInjected, long Throttled);

/// <summary>
/// A list webhook as the control API shows it: its settings and delivery counters. <c>Sent</c> counts deliveries a 2xx
/// answered, <c>Failed</c> those given up (attempts used up, or dropped by a 410), <c>Pending</c> those queued, in flight
/// or waiting for a retry, <c>Attempts</c> every POST made. <c>Disabled</c>: a delivery was answered 410.
/// </summary>
public sealed record SandboxWebhook(
    string Id, string ListId, string AccountId, string Url, WebhookEvents Events, WebhookSources Sources, bool Disabled,
    long Sent, long Failed, int Pending, long Attempts, DateTimeOffset CreatedAt);

/// <summary>
/// One delivery attempt: <c>StatusCode</c> is the receiver's answer, null when there was none (<c>Error</c> says why);
/// <c>Attempt</c> counts from 1; <c>Body</c> is the form-encoded body and <c>Signature</c> the X-Mailchimp-Signature header sent.
/// </summary>
public sealed record SandboxWebhookDelivery(
    long Sequence, DateTimeOffset At, string WebhookId, string ListId, string Url, string Type, string Source, int Attempt,
    int? StatusCode, string? Error, double DurationMs, string Body, string Signature);
