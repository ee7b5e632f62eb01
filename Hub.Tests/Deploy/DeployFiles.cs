using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Deploy;

/// <summary>
/// The repository's deploy/ folder and the checks run on it: <c>checker/deploy-check.mjs</c> (node, with the Kubernetes
/// schemas of the npm packages pinned in <c>checker/package-lock.json</c>, installed once per run with <c>npm ci</c>) and
/// <c>kubectl kustomize</c>.
/// </summary>
public static class DeployFiles
{
    private const string Needs = "The deploy checks need node, npm, kubectl and promtool; Hub.Tests/run-tests.sh installs them where missing.";
    private static readonly SemaphoreSlim Install = new(1, 1);
    private static bool s_installed;

    public static string Root => Repository.Root;

    public static string Folder => System.IO.Path.Combine(Root, "deploy");

    public static string Under(params string[] parts) => System.IO.Path.Combine([Folder, .. parts]);

    public static string Tool(string name) => ExternalTool.Find(name, Needs);

    /// <summary>Runs deploy-check.mjs in <paramref name="mode"/> (kubernetes, patch or yaml) on the files; fails the test on any error it reports.</summary>
    public static async Task<IReadOnlyList<JsonElement>> CheckAsync(string mode, IEnumerable<string> files)
    {
        var checker = System.IO.Path.Combine(TestContext.CurrentContext.TestDirectory, "Deploy", "checker");
        var node = Tool("node");
        await InstallCheckerAsync(checker);
        var (exitCode, output, error) = await ExternalTool.RunAsync(node, ["deploy-check.mjs", mode, .. files], checker, TimeSpan.FromMinutes(2));
        Assert.That(output, Is.Not.Empty, $"deploy-check.mjs {mode} printed nothing (exit {exitCode}):\n{error}");
        var result = JsonDocument.Parse(output).RootElement;
        var errors = result.GetProperty("errors").EnumerateArray().Select(item => item.GetString()).ToList();
        Assert.That(errors, Is.Empty, $"deploy-check.mjs {mode}:\n{string.Join('\n', errors)}");
        Assert.That(exitCode, Is.Zero, error);
        return [.. result.GetProperty("documents").EnumerateArray().Select(document => document.GetProperty("object").Clone())];
    }

    /// <summary><c>kubectl kustomize</c> of a folder under deploy/kubernetes, each rendered object checked as <see cref="CheckAsync"/> does.</summary>
    public static async Task<IReadOnlyList<JsonElement>> RenderAndCheckAsync(string kustomization)
    {
        var rendered = await ExternalTool.RunCheckedAsync(Tool("kubectl"), ["kustomize", Under("kubernetes", kustomization)], Root, TimeSpan.FromMinutes(1));
        var file = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"hub-{kustomization.Replace('/', '-')}-{Guid.NewGuid():N}.yaml");
        await File.WriteAllTextAsync(file, rendered);
        try
        {
            return await CheckAsync("kubernetes", [file]);
        }
        finally
        {
            File.Delete(file);
        }
    }

    private static async Task InstallCheckerAsync(string checker)
    {
        await Install.WaitAsync();
        try
        {
            if (!s_installed)
            {
                await ExternalTool.RunCheckedAsync(Tool("npm"), ["ci", "--no-audit", "--no-fund", "--loglevel=error"], checker, TimeSpan.FromMinutes(5));
                s_installed = true;
            }
        }
        finally
        {
            Install.Release();
        }
    }
}
