using System.Net;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Deploy;

/// <summary>
/// deploy/kubernetes: the base's files and the overlays' patches against the Kubernetes schemas, and each overlay as
/// <c>kubectl kustomize</c> renders it: schema-valid, complete, and consistent with how Hub runs.
/// </summary>
[TestFixture]
public sealed class KubernetesManifestTests
{
    private static readonly string[] Overlays = ["dev", "prod"];

    private static readonly string[] Kinds =
        ["ConfigMap", "Deployment", "HorizontalPodAutoscaler", "Ingress", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceAccount"];

    [Test]
    public async Task Every_base_manifest_is_a_valid_Kubernetes_object()
    {
        var files = Directory.GetFiles(DeployFiles.Under("kubernetes", "base"), "*.yaml").Where(file => !IsKustomization(file)).ToList();
        var objects = await DeployFiles.CheckAsync("kubernetes", files);
        Assert.That(objects.Select(Kind), Is.EquivalentTo(Kinds.Except(["ConfigMap"])), "the base's files (its ConfigMap is generated)");
    }

    [Test]
    public async Task Every_overlay_patch_names_only_fields_Kubernetes_knows()
    {
        var patches = Directory.GetFiles(DeployFiles.Under("kubernetes", "overlays"), "*.yaml", SearchOption.AllDirectories).Where(file => !IsKustomization(file)).ToList();
        Assert.That(patches, Is.Not.Empty);
        await DeployFiles.CheckAsync("patch", patches);
        await DeployFiles.CheckAsync("yaml", Directory.GetFiles(DeployFiles.Under("kubernetes"), "kustomization.yaml", SearchOption.AllDirectories));
    }

    [TestCaseSource(nameof(Overlays))]
    public async Task Rendered_overlay_is_valid_and_has_everything_an_operator_expects(string overlay)
    {
        var objects = await DeployFiles.RenderAndCheckAsync($"overlays/{overlay}");
        Assert.That(objects.Select(Kind), Is.EquivalentTo(Kinds));
        var namespaces = objects.Select(item => item.GetProperty("metadata").GetProperty("namespace").GetString()).Distinct().ToList();
        Assert.That(namespaces, Has.Count.EqualTo(1), "one namespace per environment");

        var deployment = Single(objects, "Deployment");
        var pod = deployment.GetProperty("spec").GetProperty("template");
        var podLabels = Labels(pod.GetProperty("metadata").GetProperty("labels"));
        var spec = pod.GetProperty("spec");
        var hub = spec.GetProperty("containers").EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            var image = hub.GetProperty("image").GetString()!;
            Assert.That(image, Does.Match(@":[\w][\w.-]*$|@sha256:[0-9a-f]{64}$"), "the image is pinned by tag or digest");
            Assert.That(image, Does.Not.EndWith(":latest"));
            Assert.That(deployment.GetProperty("spec").TryGetProperty("replicas", out _), Is.False, "the HorizontalPodAutoscaler owns the replica count");

            var serviceAccount = Single(objects, "ServiceAccount");
            Assert.That(spec.GetProperty("serviceAccountName").GetString(), Is.EqualTo(Name(serviceAccount)));
            Assert.That(serviceAccount.GetProperty("automountServiceAccountToken").GetBoolean(), Is.False);
            Assert.That(spec.GetProperty("automountServiceAccountToken").GetBoolean(), Is.False);

            Assert.That(spec.GetProperty("securityContext").GetProperty("runAsNonRoot").GetBoolean(), Is.True);
            var security = hub.GetProperty("securityContext");
            Assert.That(security.GetProperty("readOnlyRootFilesystem").GetBoolean(), Is.True);
            Assert.That(security.GetProperty("allowPrivilegeEscalation").GetBoolean(), Is.False);
            Assert.That(security.GetProperty("capabilities").GetProperty("drop").EnumerateArray().Select(item => item.GetString()), Does.Contain("ALL"));
            Assert.That(hub.GetProperty("volumeMounts").EnumerateArray().Select(mount => mount.GetProperty("mountPath").GetString()),
                Is.SupersetOf(new[] { "/app/data", "/tmp" }), "the writable folders under a read-only root");

            Assert.That(hub.GetProperty("resources").GetProperty("requests").EnumerateObject().Select(item => item.Name), Is.SupersetOf(new[] { "cpu", "memory" }));
            Assert.That(hub.GetProperty("resources").GetProperty("limits").TryGetProperty("memory", out _), Is.True);

            var spread = spec.GetProperty("topologySpreadConstraints").EnumerateArray().ToList();
            Assert.That(spread.Select(item => item.GetProperty("topologyKey").GetString()), Is.SupersetOf(new[] { "topology.kubernetes.io/zone", "kubernetes.io/hostname" }));
            Assert.That(spread.Select(item => Labels(item.GetProperty("labelSelector").GetProperty("matchLabels"))), Has.All.SubsetOf(podLabels));

            var configMap = Single(objects, "ConfigMap");
            var envFrom = hub.GetProperty("envFrom").EnumerateArray().ToList();
            Assert.That(envFrom.Where(source => source.TryGetProperty("configMapRef", out _)).Select(source => source.GetProperty("configMapRef").GetProperty("name").GetString()),
                Is.EqualTo(new[] { Name(configMap) }), "the pods read the generated ConfigMap");
            Assert.That(configMap.GetProperty("data").GetProperty("Hub__PublicBaseUrl").GetString(), Does.StartWith("https://"));

            var hpa = Single(objects, "HorizontalPodAutoscaler").GetProperty("spec");
            Assert.That(hpa.GetProperty("scaleTargetRef").GetProperty("name").GetString(), Is.EqualTo(Name(deployment)));
            Assert.That(hpa.GetProperty("minReplicas").GetInt32(), Is.LessThanOrEqualTo(hpa.GetProperty("maxReplicas").GetInt32()));

            var pdb = Single(objects, "PodDisruptionBudget").GetProperty("spec");
            Assert.That(Labels(pdb.GetProperty("selector").GetProperty("matchLabels")), Is.SubsetOf(podLabels));
            var service = Single(objects, "Service").GetProperty("spec");
            Assert.That(Labels(service.GetProperty("selector")), Is.SubsetOf(podLabels));

            var ingress = Single(objects, "Ingress").GetProperty("spec");
            var hosts = ingress.GetProperty("rules").EnumerateArray().Select(rule => rule.GetProperty("host").GetString()).ToList();
            var tlsHosts = ingress.GetProperty("tls").EnumerateArray().SelectMany(tls => tls.GetProperty("hosts").EnumerateArray().Select(host => host.GetString())).ToList();
            Assert.That(hosts, Is.Not.Empty.And.SubsetOf(tlsHosts), "every host the ingress serves has TLS");
            Assert.That(configMap.GetProperty("data").GetProperty("Hub__PublicBaseUrl").GetString(), Is.EqualTo($"https://{hosts[0]}"), "Hub's public URL is the ingress's host");
            var backends = ingress.GetProperty("rules").EnumerateArray()
                .SelectMany(rule => rule.GetProperty("http").GetProperty("paths").EnumerateArray())
                .Select(path => path.GetProperty("backend").GetProperty("service").GetProperty("name").GetString());
            Assert.That(backends, Has.All.EqualTo(Name(Single(objects, "Service"))));

            var policy = Single(objects, "NetworkPolicy").GetProperty("spec");
            Assert.That(Labels(policy.GetProperty("podSelector").GetProperty("matchLabels")), Is.SubsetOf(podLabels));
            Assert.That(policy.GetProperty("policyTypes").EnumerateArray().Select(item => item.GetString()), Is.EquivalentTo(new[] { "Ingress", "Egress" }));
            Assert.That(Ports(policy.GetProperty("ingress")), Is.EquivalentTo(new[] { 8080 }), "only the container's HTTP port is reachable");
            Assert.That(hub.GetProperty("ports").EnumerateArray().Single().GetProperty("containerPort").GetInt32(), Is.EqualTo(8080));
            Assert.That(Ports(policy.GetProperty("egress")), Is.EquivalentTo(new[] { 53, 53, 6379, 6380, 26379, 4317, 4318, 443 }),
                "DNS, Redis (plain, TLS, Sentinel), OTLP (gRPC, HTTP) and HTTPS, nothing else");
        });
    }

    /// <summary>
    /// The probes use routes a real Hub answers, and a deleted pod gets the time Hub takes to stop: the preStop sleep, then
    /// the host's shutdown timeout (in-flight requests finish, running jobs give their leases back), within the grace period.
    /// </summary>
    [TestCaseSource(nameof(Overlays))]
    public async Task Probes_and_shutdown_fit_a_real_Hub(string overlay)
    {
        var objects = await DeployFiles.RenderAndCheckAsync($"overlays/{overlay}");
        var spec = Single(objects, "Deployment").GetProperty("spec").GetProperty("template").GetProperty("spec");
        var hub = spec.GetProperty("containers").EnumerateArray().Single();

        await using var host = await HubHost.StartAsync();
        using var client = new HttpClient { BaseAddress = host.BaseUrl };
        foreach (var probe in new[] { "startupProbe", "readinessProbe", "livenessProbe" })
        {
            var path = hub.GetProperty(probe).GetProperty("httpGet").GetProperty("path").GetString();
            using var response = await client.GetAsync(path);
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{probe} {path}");
        }

        Assert.That(hub.GetProperty("readinessProbe").GetProperty("httpGet").GetProperty("path").GetString(), Is.EqualTo("/health/ready"),
            "readiness follows Redis; liveness and startup only the process");

        var preStop = hub.GetProperty("lifecycle").GetProperty("preStop").GetProperty("exec").GetProperty("command").EnumerateArray().Select(item => item.GetString()).ToList();
        Assert.That(preStop, Has.Count.EqualTo(2));
        Assert.That(preStop[0], Is.EqualTo("sleep"));
        var drain = TimeSpan.FromSeconds(int.Parse(preStop[1]!, System.Globalization.CultureInfo.InvariantCulture));
        var shutdown = host.Services.GetRequiredService<IOptions<HostOptions>>().Value.ShutdownTimeout;
        var grace = TimeSpan.FromSeconds(spec.GetProperty("terminationGracePeriodSeconds").GetInt32());
        Assert.That(drain + shutdown, Is.LessThan(grace), $"preStop {drain} + Hub's shutdown timeout {shutdown} within terminationGracePeriodSeconds");
    }

    private static bool IsKustomization(string file) => Path.GetFileName(file) == "kustomization.yaml";

    private static string Kind(JsonElement item) => item.GetProperty("kind").GetString()!;

    private static string Name(JsonElement item) => item.GetProperty("metadata").GetProperty("name").GetString()!;

    private static JsonElement Single(IEnumerable<JsonElement> objects, string kind) => objects.Single(item => Kind(item) == kind);

    private static Dictionary<string, string> Labels(JsonElement labels) =>
        labels.EnumerateObject().ToDictionary(label => label.Name, label => label.Value.GetString()!);

    private static List<int> Ports(JsonElement rules) =>
        [.. rules.EnumerateArray().SelectMany(rule => rule.GetProperty("ports").EnumerateArray()).Select(port => port.GetProperty("port").GetInt32())];
}
