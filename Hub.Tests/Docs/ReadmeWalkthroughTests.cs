using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Docs;

/// <summary>
/// The README's walkthrough, run as written: its <c>```bash walkthrough</c> blocks, in order, in one bash process against a
/// Development Hub (the sandbox inside it, as <c>dotnet run --project Hub.Api</c> serves it) started here, with <c>HUB</c>
/// and <c>ADMIN_KEY</c> set, as the walkthrough reads them. The blocks are the test's input, so the README cannot drift
/// from what Hub does. Needs bash, curl and jq (Hub.Tests/run-tests.sh installs curl and jq where missing).
/// </summary>
[TestFixture]
public sealed class ReadmeWalkthroughTests
{
    private const string Fence = "```bash walkthrough";
    private const string StepMarker = "@@walkthrough-step-done";

    [Test]
    public async Task The_READMEs_walkthrough_runs_as_written_and_its_sync_job_succeeds()
    {
        var bash = Tool("bash");
        Tool("curl");
        Tool("jq");
        var steps = WalkthroughBlocks(await File.ReadAllTextAsync(Path.Combine(Repository.Root, "README.md")));
        Assert.That(steps, Has.Count.GreaterThanOrEqualTo(7), $"README.md should hold the walkthrough as {Fence} blocks.");

        var port = HubHostSettings.FreePort();
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            Environment = "Development",
            Port = port,
            Configuration = { ["Hub:PublicBaseUrl"] = $"http://127.0.0.1:{port}" },
        });

        // One shell, so each block sees the variables the ones before it set; a failing command stops it.
        var script = string.Concat(steps.Select(step => $"{step}\necho {StepMarker}\n"));
        var (exitCode, output, error) = await ExternalTool.RunAsync(bash, ["-euo", "pipefail", "-c", script], Repository.Root, TimeSpan.FromMinutes(2),
            new Dictionary<string, string> { ["HUB"] = hub.BaseUrl.ToString().TrimEnd('/'), ["ADMIN_KEY"] = hub.Settings.AdminKey });

        var outputs = output.Split(StepMarker + "\n");
        var done = outputs.Length - 1;
        Assert.That(exitCode, Is.Zero, done < steps.Count
            ? $"Walkthrough block {done + 1} of {steps.Count} failed:\n{steps[done]}\n--- it printed:\n{outputs[^1]}\n--- stderr:\n{error}"
            : $"The walkthrough exited {exitCode}:\n{output}\n{error}");
        Assert.That(done, Is.EqualTo(steps.Count), output);

        // The last block reads the job once it ended.
        var job = JsonDocument.Parse(outputs[^2]).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
            Assert.That(job.GetProperty("counts").GetProperty("total").GetInt32(), Is.EqualTo(2), job.ToString());
            Assert.That(job.GetProperty("counts").GetProperty("failed").GetInt32(), Is.Zero, job.ToString());
        });
    }

    /// <summary>The text of each <c>```bash walkthrough</c> fenced block, in order.</summary>
    private static List<string> WalkthroughBlocks(string markdown)
    {
        var blocks = new List<string>();
        List<string>? block = null;
        foreach (var line in markdown.Split('\n').Select(line => line.TrimEnd('\r')))
        {
            if (block is null && line == Fence)
            {
                block = [];
            }
            else if (block is not null && line == "```")
            {
                blocks.Add(string.Join('\n', block));
                block = null;
            }
            else
            {
                block?.Add(line);
            }
        }

        return blocks;
    }

    private static string Tool(string name) =>
        ExternalTool.Find(name, "The README walkthrough check runs the walkthrough with bash, curl and jq; Hub.Tests/run-tests.sh installs them where missing.");
}
