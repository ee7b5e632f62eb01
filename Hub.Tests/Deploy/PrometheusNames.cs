using System.Diagnostics.Metrics;
using System.Reflection;
using System.Text.RegularExpressions;
using Hub.Core.Diagnostics;

namespace Hub.Tests.Deploy;

/// <summary>
/// The Prometheus names of the metrics Hub emits, as the OpenTelemetry Collector's prometheus exporter writes them
/// (pkg/translator/prometheus, with its default metric suffixes): the name split into tokens at every character that is
/// not a letter or digit; the unit appended unless it is an annotation like <c>{request}</c> or already a token
/// (<c>s</c> becomes <c>seconds</c>, <c>By</c> <c>bytes</c>, a <c>/s</c> per-unit <c>per_second</c>); <c>total</c> appended to
/// monotonic sums (counters) and <c>ratio</c> to gauges of unit <c>1</c>; tokens joined with <c>_</c>. Histograms are
/// exposed as <c>_bucket</c>, <c>_sum</c> and <c>_count</c> series; attributes become labels the same way.
/// </summary>
public static partial class PrometheusNames
{
    /// <summary>Documented instruments of ASP.NET Core (Microsoft.AspNetCore.Hosting) and HttpClient (System.Net.Http) that Hub exports.</summary>
    public static readonly InstrumentName[] Standard =
    [
        new("http.server.request.duration", "s", InstrumentType.Histogram),
        new("http.server.active_requests", "{request}", InstrumentType.UpDownCounter),
        new("http.client.request.duration", "s", InstrumentType.Histogram),
        new("http.client.active_requests", "{request}", InstrumentType.UpDownCounter),
        new("http.client.open_connections", "{connection}", InstrumentType.UpDownCounter),
    ];

    /// <summary>Documented attributes of those instruments, plus the labels Prometheus and the collector add.</summary>
    public static readonly string[] StandardLabels =
    [
        "http.route", "http.request.method", "http.response.status_code", "error.type", "url.scheme", "server.address", "server.port",
        "network.protocol.version", "le", "job", "instance", "otel.scope.name",
    ];

    private static readonly Dictionary<string, string> Units = new(StringComparer.Ordinal)
    {
        ["d"] = "days", ["h"] = "hours", ["min"] = "minutes", ["s"] = "seconds", ["ms"] = "milliseconds", ["us"] = "microseconds", ["ns"] = "nanoseconds",
        ["By"] = "bytes", ["KiBy"] = "kibibytes", ["MiBy"] = "mebibytes", ["GiBy"] = "gibibytes", ["1"] = "", ["%"] = "percent",
    };

    private static readonly Dictionary<string, string> PerUnits = new(StringComparer.Ordinal)
    {
        ["s"] = "second", ["m"] = "minute", ["h"] = "hour", ["d"] = "day", ["w"] = "week", ["mo"] = "month", ["y"] = "year",
    };

    public enum InstrumentType
    {
        Counter,
        UpDownCounter,
        Gauge,
        Histogram,
    }

    public sealed record InstrumentName(string Name, string? Unit, InstrumentType Type);

    /// <summary>
    /// Every instrument on Hub's meter: each static <see cref="Instrument"/> field of Hub.Core and Hub.Api, read (so its
    /// type's initializer creates it) by reflection.
    /// </summary>
    public static IReadOnlyList<InstrumentName> HubInstruments() =>
    [
        .. new[] { typeof(HubTelemetry).Assembly, typeof(Program).Assembly }
            .SelectMany(assembly => assembly.GetTypes())
            .Where(type => !type.ContainsGenericParameters)
            .SelectMany(type => type.GetFields(BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Where(field => typeof(Instrument).IsAssignableFrom(field.FieldType))
            .Select(field => (Instrument)field.GetValue(null)!)
            .Where(instrument => instrument.Meter.Name == HubTelemetry.MeterName)
            .Select(instrument => new InstrumentName(instrument.Name, instrument.Unit, TypeOf(instrument)))
            .Distinct(),
    ];

    /// <summary>Every series name a Prometheus query may use for these instruments.</summary>
    public static ISet<string> Series(IEnumerable<InstrumentName> instruments) =>
        instruments.SelectMany(instrument => instrument.Type == InstrumentType.Histogram
                ? new[] { "_bucket", "_sum", "_count" }.Select(suffix => MetricName(instrument) + suffix)
                : [MetricName(instrument)])
            .ToHashSet(StringComparer.Ordinal);

    public static string MetricName(InstrumentName instrument)
    {
        var tokens = Tokens(instrument.Name);
        var unit = (instrument.Unit ?? "").Split('/', 2);
        var main = unit[0].Trim();
        if (main.Length > 0 && !main.Contains('{') && !main.Contains('}')
            && string.Join('_', Tokens(Units.GetValueOrDefault(main, main))) is { Length: > 0 } mainName && !tokens.Contains(mainName))
        {
            tokens.Add(mainName);
        }

        if (unit.Length > 1 && unit[1].Trim() is { Length: > 0 } per && !per.Contains('{') && !per.Contains('}')
            && string.Join('_', Tokens(PerUnits.GetValueOrDefault(per, per))) is { Length: > 0 } perName && !tokens.Contains(perName))
        {
            tokens.AddRange(["per", perName]);
        }

        if (instrument.Type == InstrumentType.Counter)
        {
            tokens.RemoveAll(token => token == "total");
            tokens.Add("total");
        }

        if (instrument.Unit == "1" && instrument.Type == InstrumentType.Gauge)
        {
            tokens.RemoveAll(token => token == "ratio");
            tokens.Add("ratio");
        }

        var name = string.Join('_', tokens);
        return name.Length > 0 && char.IsDigit(name[0]) ? "_" + name : name;
    }

    /// <summary>An attribute's label name: every character that is not a letter, digit or underscore becomes an underscore.</summary>
    public static string LabelName(string attribute) => NotLabelCharacter().Replace(attribute, "_");

    /// <summary>The metric names a PromQL expression selects: identifiers outside strings, label matchers, ranges and grouping clauses that are neither functions nor keywords.</summary>
    public static IReadOnlyList<string> MetricsIn(string expression)
    {
        var bare = Grouping().Replace(Braces().Replace(Brackets().Replace(Strings().Replace(expression, "\"\""), "[]"), "{}"), " ");
        return [.. Identifier().Matches(bare)
            .Where(match => !Keywords.Contains(match.Value) && !IsFunctionCall(bare, match))
            .Select(match => match.Value)
            .Distinct()];
    }

    /// <summary>The label names a PromQL expression uses: in matchers (<c>{name="..."}</c>) and grouping clauses (<c>by (a, b)</c>).</summary>
    public static IReadOnlyList<string> LabelsIn(string expression)
    {
        var withoutStrings = Strings().Replace(expression, "\"\"");
        var matched = Braces().Matches(withoutStrings).SelectMany(braces => MatcherName().Matches(braces.Value).Select(match => match.Groups[1].Value));
        var grouped = Grouping().Matches(withoutStrings).SelectMany(clause => Identifier().Matches(clause.Groups[1].Value).Select(match => match.Value));
        return [.. matched.Concat(grouped).Distinct()];
    }

    private static readonly HashSet<string> Keywords = new(StringComparer.Ordinal)
    {
        "by", "without", "on", "ignoring", "group_left", "group_right", "bool", "offset", "and", "or", "unless", "inf", "nan",
    };

    private static bool IsFunctionCall(string expression, Match match)
    {
        var next = match.Index + match.Length;
        while (next < expression.Length && expression[next] == ' ')
        {
            next++;
        }

        return next < expression.Length && expression[next] == '(';
    }

    private static List<string> Tokens(string name) => [.. NotAlphanumeric().Split(name).Where(token => token.Length > 0)];

    private static InstrumentType TypeOf(Instrument instrument)
    {
        var definition = instrument.GetType().GetGenericTypeDefinition();
        return definition == typeof(Counter<>) || definition == typeof(ObservableCounter<>) ? InstrumentType.Counter
            : definition == typeof(UpDownCounter<>) || definition == typeof(ObservableUpDownCounter<>) ? InstrumentType.UpDownCounter
            : definition == typeof(Histogram<>) ? InstrumentType.Histogram
            : InstrumentType.Gauge;
    }

    [GeneratedRegex(@"[^\p{L}\p{Nd}]+")]
    private static partial Regex NotAlphanumeric();

    [GeneratedRegex(@"[^\p{L}\p{Nd}_]")]
    private static partial Regex NotLabelCharacter();

    [GeneratedRegex(@"""(?:[^""\\]|\\.)*""|'(?:[^'\\]|\\.)*'|`[^`]*`")]
    private static partial Regex Strings();

    [GeneratedRegex(@"\{[^{}]*\}")]
    private static partial Regex Braces();

    [GeneratedRegex(@"\[[^\[\]]*\]")]
    private static partial Regex Brackets();

    [GeneratedRegex(@"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^()]*)\)")]
    private static partial Regex Grouping();

    [GeneratedRegex(@"([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")]
    private static partial Regex MatcherName();

    [GeneratedRegex(@"(?<![\w$.])[A-Za-z_:][A-Za-z0-9_:]*")]
    private static partial Regex Identifier();
}
