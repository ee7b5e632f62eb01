using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Deploy;

/// <summary>
/// deploy/prometheus and deploy/grafana: the alert rules pass promtool (checked, and unit-tested against series named as
/// Hub's instruments are exported), and every metric and label the dashboard and the rules use is one Hub emits.
/// </summary>
[TestFixture]
public sealed class ObservabilityTests
{
    private static string Rules => DeployFiles.Under("prometheus", "hub-alerts.yaml");

    private static string Dashboard => DeployFiles.Under("grafana", "dashboards", "hub.json");

    [Test]
    public async Task Alert_rules_and_Prometheus_config_pass_promtool()
    {
        var promtool = DeployFiles.Tool("promtool");
        var folder = DeployFiles.Under("prometheus");
        await ExternalTool.RunCheckedAsync(promtool, ["check", "rules", "hub-alerts.yaml"], folder, TimeSpan.FromMinutes(1));
        await ExternalTool.RunCheckedAsync(promtool, ["check", "config", "prometheus.yml"], folder, TimeSpan.FromMinutes(1));
        // Each alert fires on series as the collector names Hub's instruments (the next test checks those names).
        await ExternalTool.RunCheckedAsync(promtool, ["test", "rules", "hub-alerts.test.yaml"], folder, TimeSpan.FromMinutes(1));
    }

    [Test]
    public async Task Every_metric_the_dashboard_and_the_rules_use_is_one_Hub_emits()
    {
        var instruments = PrometheusNames.HubInstruments();
        Assert.That(instruments.Select(instrument => instrument.Name), Is.SupersetOf(new[]
        {
            "hub.jobs.finished", "hub.mailchimp.concurrency.in_use", "hub.webhooks.deliveries", "hub.webhooks.pending", "hub.connections.revoked",
        }), "reflection finds the instruments of HubTelemetry and of the classes that create their own");
        var emitted = PrometheusNames.Series([.. instruments, .. PrometheusNames.Standard]);
        var labels = HubTags().Concat(PrometheusNames.StandardLabels).Select(PrometheusNames.LabelName).ToHashSet();

        var queries = await QueriesAsync();
        Assert.That(queries.Select(query => query.Where).Distinct(), Has.Some.StartWith("dashboard").And.Some.StartWith("rule").And.Some.StartWith("rule test"));
        Assert.Multiple(() =>
        {
            foreach (var (where, expression) in queries)
            {
                var metrics = PrometheusNames.MetricsIn(expression);
                Assert.That(metrics, Is.Not.Empty, $"{where}: {expression}");
                Assert.That(metrics, Is.SubsetOf(emitted), $"{where}: {expression}");
                Assert.That(PrometheusNames.LabelsIn(expression), Is.SubsetOf(labels), $"{where}: {expression}");
            }
        });
    }

    [Test]
    public void Names_translate_as_the_collector_exports_them()
    {
        static string Name(string name, string unit, PrometheusNames.InstrumentType type) => PrometheusNames.MetricName(new(name, unit, type));

        Assert.Multiple(() =>
        {
            Assert.That(Name("http.server.request.duration", "s", PrometheusNames.InstrumentType.Histogram), Is.EqualTo("http_server_request_duration_seconds"));
            Assert.That(Name("hub.jobs.started", "{job}", PrometheusNames.InstrumentType.Counter), Is.EqualTo("hub_jobs_started_total"));
            Assert.That(Name("hub.mailchimp.concurrency.in_use", "{slot}", PrometheusNames.InstrumentType.UpDownCounter), Is.EqualTo("hub_mailchimp_concurrency_in_use"));
            Assert.That(Name("system.cpu.utilization", "1", PrometheusNames.InstrumentType.Gauge), Is.EqualTo("system_cpu_utilization_ratio"));
            Assert.That(Name("network.io", "By/s", PrometheusNames.InstrumentType.Counter), Is.EqualTo("network_io_bytes_per_second_total"));
            Assert.That(Name("requests.total", "", PrometheusNames.InstrumentType.Counter), Is.EqualTo("requests_total"));
            Assert.That(PrometheusNames.LabelName("http.response.status_code"), Is.EqualTo("http_response_status_code"));
            Assert.That(PrometheusNames.MetricsIn("""histogram_quantile(0.95, sum by (le, a_b) (rate(x_bucket{c=~"d|e"}[$__rate_interval]))) / on (f) y > 0.1 and z"""),
                Is.EqualTo(new[] { "x_bucket", "y", "z" }));
            Assert.That(PrometheusNames.LabelsIn("""sum by (le, a_b) (rate(x_bucket{c=~"d|e", g!="h"}[5m]))"""), Is.EquivalentTo(new[] { "le", "a_b", "c", "g" }));
        });
    }

    /// <summary>Every query: the dashboard's targets, the rules' expressions and the series of the rules' unit tests.</summary>
    private static async Task<List<(string Where, string Expression)>> QueriesAsync()
    {
        var queries = new List<(string, string)>();
        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(Dashboard));
        foreach (var panel in dashboard.RootElement.GetProperty("panels").EnumerateArray().Where(panel => panel.TryGetProperty("targets", out _)))
        {
            queries.AddRange(panel.GetProperty("targets").EnumerateArray()
                .Select(target => ($"dashboard panel '{panel.GetProperty("title").GetString()}'", target.GetProperty("expr").GetString()!)));
        }

        var files = await DeployFiles.CheckAsync("yaml", [Rules, DeployFiles.Under("prometheus", "hub-alerts.test.yaml")]);
        queries.AddRange(files[0].GetProperty("groups").EnumerateArray()
            .SelectMany(group => group.GetProperty("rules").EnumerateArray())
            .Select(rule => ($"rule {rule.GetProperty("alert").GetString()}", rule.GetProperty("expr").GetString()!)));
        queries.AddRange(files[1].GetProperty("tests").EnumerateArray()
            .SelectMany(test => test.GetProperty("input_series").EnumerateArray())
            .Select(series => ("rule test series", series.GetProperty("series").GetString()!)));
        return queries;
    }

    /// <summary>The attribute names Hub's instruments carry: the constants of HubTelemetry.Tags and every <c>*Tag</c> constant beside its instruments.</summary>
    private static IEnumerable<string> HubTags() =>
        typeof(HubTelemetry).GetNestedTypes()
            .SelectMany(type => type.GetFields().Where(field => field.IsLiteral && (type == typeof(HubTelemetry.Tags) || field.Name.EndsWith("Tag", StringComparison.Ordinal))))
            .Select(field => (string)field.GetRawConstantValue()!);
}
