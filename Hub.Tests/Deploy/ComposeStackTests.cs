using System.Text.Json;

namespace Hub.Tests.Deploy;

/// <summary>
/// deploy/compose.yaml and the files it mounts parse and fit together: Hub sends OTLP to the collector, Prometheus scrapes
/// the collector's exporter and loads the alert rules, Grafana gets the Prometheus data source and the dashboard.
/// (No Compose or Collector binary is installed here: their own validation runs when the stack starts.)
/// </summary>
[TestFixture]
public sealed class ComposeStackTests
{
    [Test]
    public async Task The_stack_wires_Hub_the_collector_Prometheus_and_Grafana_together()
    {
        var compose = DeployFiles.Under("compose.yaml");
        Assert.That(await File.ReadAllTextAsync(compose), Does.Contain("Needs Docker Compose v2"));
        var files = await DeployFiles.CheckAsync("yaml",
        [
            compose, DeployFiles.Under("otel-collector.yaml"), DeployFiles.Under("prometheus", "prometheus.yml"),
            DeployFiles.Under("grafana", "provisioning", "datasources", "prometheus.yaml"), DeployFiles.Under("grafana", "provisioning", "dashboards", "hub.yaml"),
        ]);
        var (services, collector, prometheus, datasources, dashboards) = (files[0].GetProperty("services"), files[1], files[2], files[3], files[4]);

        Assert.That(services.EnumerateObject().Select(service => service.Name),
            Is.SupersetOf(new[] { "redis", "hub-1", "hub-2", "proxy", "otel-collector", "prometheus", "grafana" }));
        var mounts = services.EnumerateObject()
            .SelectMany(service => service.Value.TryGetProperty("volumes", out var volumes) ? volumes.EnumerateArray().Select(volume => volume.GetString()!.Split(':')) : [])
            .Where(mount => mount[0].StartsWith("./", StringComparison.Ordinal))
            .ToDictionary(mount => mount[0], mount => mount[1]);
        Assert.Multiple(() =>
        {
            foreach (var source in mounts.Keys)
            {
                Assert.That(File.Exists(DeployFiles.Under(source)) || Directory.Exists(DeployFiles.Under(source)), Is.True, $"{source} is mounted but missing");
            }

            // Hub -> collector (OTLP gRPC).
            foreach (var hub in new[] { "hub-1", "hub-2" })
            {
                Assert.That(services.GetProperty(hub).GetProperty("environment").GetProperty("OTEL_EXPORTER_OTLP_ENDPOINT").GetString(), Is.EqualTo("http://otel-collector:4317"));
            }

            Assert.That(mounts["./otel-collector.yaml"], Is.EqualTo(Argument(services.GetProperty("otel-collector"), "--config=")));
            Assert.That(collector.GetProperty("receivers").GetProperty("otlp").GetProperty("protocols").GetProperty("grpc").GetProperty("endpoint").GetString(), Does.EndWith(":4317"));
            Assert.That(Strings(collector.GetProperty("service").GetProperty("pipelines").GetProperty("metrics").GetProperty("exporters")), Does.Contain("prometheus"));

            // Prometheus scrapes the collector's exporter and loads the rules from beside its config.
            var exporterPort = collector.GetProperty("exporters").GetProperty("prometheus").GetProperty("endpoint").GetString()!.Split(':')[1];
            var targets = prometheus.GetProperty("scrape_configs").EnumerateArray()
                .SelectMany(scrape => scrape.GetProperty("static_configs").EnumerateArray().SelectMany(config => Strings(config.GetProperty("targets"))));
            Assert.That(targets, Does.Contain($"otel-collector:{exporterPort}"));
            var configFolder = Path.GetDirectoryName(mounts["./prometheus/prometheus.yml"])!;
            foreach (var rules in Strings(prometheus.GetProperty("rule_files")))
            {
                Assert.That(mounts, Does.ContainKey($"./prometheus/{rules}").WithValue($"{configFolder}/{rules}"), $"rule file {rules}");
            }

            // Grafana: the data source the dashboard names, and the dashboard folder the provider reads.
            var datasource = datasources.GetProperty("datasources").EnumerateArray().Single();
            Assert.That(datasource.GetProperty("url").GetString(), Is.EqualTo("http://prometheus:9090"));
            Assert.That(mounts["./grafana/provisioning"], Is.EqualTo("/etc/grafana/provisioning"));
            Assert.That(dashboards.GetProperty("providers").EnumerateArray().Single().GetProperty("options").GetProperty("path").GetString(), Is.EqualTo(mounts["./grafana/dashboards"]));
        });

        using var dashboard = JsonDocument.Parse(await File.ReadAllTextAsync(DeployFiles.Under("grafana", "dashboards", "hub.json")));
        var used = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .Where(panel => panel.TryGetProperty("datasource", out _))
            .Select(panel => panel.GetProperty("datasource").GetProperty("uid").GetString())
            .Distinct();
        Assert.That(used, Is.EqualTo(new[] { datasources.GetProperty("datasources")[0].GetProperty("uid").GetString() }));
    }

    private static IEnumerable<string> Strings(JsonElement array) => array.EnumerateArray().Select(item => item.GetString()!);

    private static string Argument(JsonElement service, string prefix) =>
        Strings(service.GetProperty("command")).Single(argument => argument.StartsWith(prefix, StringComparison.Ordinal))[prefix.Length..];
}
