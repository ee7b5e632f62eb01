using Hub.Core.Storage;

namespace Hub.Core.Tenants;

/// <summary>Tenant ids, <c>tn_</c> and 20 lowercase letters and digits; <c>TenantId</c> is <c>Id&lt;TenantKind&gt;</c>.</summary>
public abstract class TenantKind : IIdKind
{
    public static string Prefix => "tn_";

    public static string Noun => "tenant";
}
