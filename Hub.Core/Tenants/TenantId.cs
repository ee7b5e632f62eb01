using System.Diagnostics.CodeAnalysis;
using System.Text.Json.Serialization;
using Hub.Core.Storage;

namespace Hub.Core.Tenants;

/// <summary>A tenant's id: <c>tn_</c> followed by 20 lowercase letters and digits (see <see cref="IStrongId{TId}"/>).</summary>
[JsonConverter(typeof(StrongIdJsonConverter<TenantId>))]
public readonly record struct TenantId : IStrongId<TenantId>
{
    private readonly string _value;

    private TenantId(string value) => _value = value;

    static string IStrongId<TenantId>.Prefix => "tn_";

    static string IStrongId<TenantId>.Noun => "tenant";

    static TenantId IStrongId<TenantId>.Wrap(string value) => new(value);

    public static TenantId New() => StrongId<TenantId>.New();

    public static bool TryParse([NotNullWhen(true)] string? value, out TenantId id) => StrongId<TenantId>.TryParse(value, out id);

    public static TenantId Parse(string value) => StrongId<TenantId>.Parse(value);

    public override string ToString() => _value ?? "";
}
