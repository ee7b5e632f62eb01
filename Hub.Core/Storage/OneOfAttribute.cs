namespace Hub.Core.Storage;

/// <summary>
/// The fixed values a string property, record parameter or query parameter takes; the OpenAPI document lists them as its
/// <c>enum</c>. Documentation only: the code that reads the value still checks it and answers its own problem.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Parameter)]
public class OneOfAttribute(params string[] values) : Attribute
{
    public virtual IReadOnlyList<string> Values { get; } = values;
}

/// <summary>The values are <typeparamref name="TEnum"/>'s wire names (<see cref="SnakeCase{TEnum}"/>).</summary>
public sealed class OneOfAttribute<TEnum>() : OneOfAttribute where TEnum : struct, Enum
{
    public override IReadOnlyList<string> Values => SnakeCase<TEnum>.All;
}
