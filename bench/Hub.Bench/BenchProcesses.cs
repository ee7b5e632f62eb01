using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;

namespace Hub.Bench;

/// <summary>A child process (Hub or the sandbox) started from its Release build, killed on dispose.</summary>
public sealed class BenchProcess : IAsyncDisposable
{
    private readonly Process _process;

    private BenchProcess(Process process, Uri baseUrl)
    {
        _process = process;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }
    public int Id => _process.Id;
    public bool HasExited => _process.HasExited;

    /// <summary>Peak resident memory (VmHWM) in MiB, read from /proc while the process lives.</summary>
    public double PeakMemoryMiB()
    {
        foreach (var line in File.ReadLines($"/proc/{_process.Id}/status"))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kib = double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture);
                return kib / 1024;
            }
        }

        return double.NaN;
    }

    public static Task<BenchProcess> StartSandboxAsync() =>
        StartAsync("Hub.Sandbox", port => ["--port", port.ToString(CultureInfo.InvariantCulture)], _ => ExtraEnvironment("HUB_BENCH_SANDBOX_ENV"), "/_control/counters");

    /// <summary>
    /// Starts Hub on a free loopback port. Its <c>Hub:PublicBaseUrl</c> is that URL unless <paramref name="environment"/>
    /// sets one, so the list webhooks Hub registers at the sandbox (and the URLs it hands out) point at this process.
    /// </summary>
    public static Task<BenchProcess> StartHubAsync(IDictionary<string, string> environment) =>
        StartAsync("Hub.Api", port => ["--urls", $"http://127.0.0.1:{port}"],
            port =>
            {
                var all = new Dictionary<string, string>(environment)
                {
                    ["Hub__PublicBaseUrl"] = environment.TryGetValue("Hub__PublicBaseUrl", out var url) ? url : $"http://127.0.0.1:{port}",
                };
                foreach (var (name, value) in ExtraEnvironment("HUB_BENCH_HUB_ENV"))
                {
                    all[name] = value;
                }

                return all;
            },
            "/health/ready");

    /// <summary>
    /// <c>HUB_BENCH_HUB_ENV="NAME=value;NAME2=value2"</c>: variables for Hub's process only (not the sandbox's or the
    /// harness's), for trying a runtime setting on Hub alone; <c>HUB_BENCH_SANDBOX_ENV</c> the same for the sandbox's and
    /// <c>HUB_BENCH_FLOOR_ENV</c> for the facade benchmark's floor. The last of a name wins.
    /// </summary>
    private static Dictionary<string, string> ExtraEnvironment(string variable)
    {
        var all = new Dictionary<string, string>();
        foreach (var parts in (Environment.GetEnvironmentVariable(variable) ?? "")
                     .Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                     .Select(pair => pair.Split('=', 2)))
        {
            all[parts[0].Trim()] = parts.Length > 1 ? parts[1].Trim() : "";
        }

        return all;
    }

    /// <summary>
    /// The facade benchmark's floor (<see cref="FloorServer"/>): this harness's own build started again as
    /// <c>floor-server</c>, with Hub's runtime settings and <paramref name="environment"/>.
    /// </summary>
    public static Task<BenchProcess> StartFloorAsync(IDictionary<string, string> environment) =>
        StartAsync("Hub.Bench", port => ["floor-server", "--port", port.ToString(CultureInfo.InvariantCulture)],
            _ => FloorServer.HubRuntimeSettings.Concat(environment).Concat(ExtraEnvironment("HUB_BENCH_FLOOR_ENV"))
                .GroupBy(setting => setting.Key).ToDictionary(group => group.Key, group => group.Last().Value),
            "/health", typeof(FloorServer).Assembly.Location);

    private static async Task<BenchProcess> StartAsync(
        string project, Func<int, string[]> arguments, Func<int, IDictionary<string, string>> environment, string readyPath, string? dll = null)
    {
        var port = FreePort();
        dll ??= Path.Combine(RepositoryRoot(), project, "bin", "Release", "net10.0", project + ".dll");
        if (!File.Exists(dll))
        {
            throw new FileNotFoundException($"{dll} is missing; run bench/run.sh, which builds it in Release first.");
        }

        // Started from its own folder, as the container image does (WORKDIR /app): the content root, where
        // appsettings.json is read from, is the working directory.
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = Path.GetDirectoryName(dll)! };
        start.ArgumentList.Add(dll);
        foreach (var argument in arguments(port))
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["ASPNETCORE_ENVIRONMENT"] = "Production";
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in environment(port))
        {
            start.Environment[key] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {project}.");
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) Console.Error.WriteLine($"[{project}] {e.Data}"); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        var baseUrl = new Uri($"http://127.0.0.1:{port}");
        using var probe = new HttpClient { BaseAddress = baseUrl, Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"{project} exited with code {process.ExitCode} during start-up.");
            }

            try
            {
                if ((await probe.GetAsync(readyPath)).StatusCode == HttpStatusCode.OK)
                {
                    return new BenchProcess(process, baseUrl);
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        process.Kill(entireProcessTree: true);
        throw new TimeoutException($"{project} did not become ready on {baseUrl}{readyPath}.");
    }

    /// <summary>Ends the process at once, as a crashed replica would (no graceful shutdown).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    public static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Hub.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Run the benchmarks from inside the repository.");
    }

    /// <summary>A loopback port nothing listens on right now.</summary>
    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
