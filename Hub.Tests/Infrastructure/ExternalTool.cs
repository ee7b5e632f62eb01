using System.Diagnostics;

namespace Hub.Tests.Infrastructure;

/// <summary>Programs a test runs (node, npm, kubectl, promtool): found on PATH, run to their end.</summary>
public static class ExternalTool
{
    /// <summary>The tool's path on PATH; missing, it ignores the test locally and fails it with CI=true (<paramref name="why"/> says what needs it and what installs it).</summary>
    public static string Find(string name, string why)
    {
        var path = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(folder => Path.Combine(folder, name))
            .FirstOrDefault(File.Exists);
        return path ?? throw Prerequisite.Missing($"{name} is not on PATH. {why}");
    }

    /// <summary>Runs a process to its end and returns its exit code and output; fails the test when it outlives <paramref name="timeout"/>.</summary>
    public static async Task<(int ExitCode, string Output, string Error)> RunAsync(
        string file, IEnumerable<string> arguments, string folder, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{Describe(file, start.ArgumentList)} did not finish within {timeout}.\n{await stdout}\n{await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs a process to its end; fails the test with its output unless it exits 0. Returns its standard output.</summary>
    public static async Task<string> RunCheckedAsync(
        string file, IEnumerable<string> arguments, string folder, TimeSpan timeout, IReadOnlyDictionary<string, string>? environment = null)
    {
        var list = arguments.ToList();
        var (exitCode, output, error) = await RunAsync(file, list, folder, timeout, environment);
        Assert.That(exitCode, Is.Zero, $"{Describe(file, list)} failed:\n{output}\n{error}");
        return output;
    }

    private static string Describe(string file, IEnumerable<string> arguments) => $"{Path.GetFileName(file)} {string.Join(' ', arguments)}";
}
