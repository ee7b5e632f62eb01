using System.Text.Json;
using System.Text.Json.Serialization;
using Hub.Core.Security;
using Hub.Core.Tenants;

namespace Hub.Core.Storage;

/// <summary>Source-generated JSON for everything Hub writes to Redis or its data folder.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Tenant))]
[JsonSerializable(typeof(TenantApiKeyInfo))]
[JsonSerializable(typeof(DevelopmentKeyFile))]
internal sealed partial class HubJsonContext : JsonSerializerContext;
