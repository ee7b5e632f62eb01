using System.Text.Json.Nodes;

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
