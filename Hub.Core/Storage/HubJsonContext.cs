using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Members;
using Hub.Core.Security;
using Hub.Core.Tenants;

namespace Hub.Core.Storage;

/// <summary>Source-generated JSON for everything Hub writes to Redis or its data folder.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
[JsonSerializable(typeof(List<string>))]
[JsonSerializable(typeof(Hub.Core.Audiences.AudienceContact))]
[JsonSerializable(typeof(Hub.Core.Audiences.CampaignDefaults))]
[JsonSerializable(typeof(TenantApiKeyInfo))]
[JsonSerializable(typeof(Hub.Core.Lists.HostList))]
[JsonSerializable(typeof(IReadOnlyList<JsonElement>))]
[JsonSerializable(typeof(DevelopmentKeyFile))]
[JsonSerializable(typeof(Hub.Core.Jobs.MemberError))]
[JsonSerializable(typeof(Hub.Core.Members.DesiredMember))]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(Hub.Core.OAuth.ConsentSession))]
[JsonSerializable(typeof(Hub.Core.OAuth.ConsentState))]
[JsonSerializable(typeof(Hub.Core.OAuth.ConsentResult))]
[JsonSerializable(typeof(Hub.Core.Webhooks.WebhookAttempt))]
[JsonSerializable(typeof(System.Text.Json.Nodes.JsonObject))]
[JsonSerializable(typeof(string))]
[JsonSerializable(typeof(SortedDictionary<string, string>))]
[JsonSerializable(typeof(Dictionary<string, string>))]
[JsonSerializable(typeof(Hub.Core.Events.AudienceHook))]
internal sealed partial class HubJsonContext : JsonSerializerContext;
