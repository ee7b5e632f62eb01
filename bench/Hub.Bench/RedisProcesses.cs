using System.Diagnostics;
using System.Globalization;

namespace Hub.Bench;

/// <summary>
/// A redis-server or redis-sentinel child process on a loopback port, logging to a file in its own folder.
/// It can be shut down gracefully or killed, and started again with the same arguments (same port, same folder).
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    private readonly string _program;
    private readonly string[] _arguments;
    private Process? _process;

    private RedisProcess(string program, int port, string[] arguments)
    {
        _program = program;
        Port = port;
        _arguments = arguments;
    }

    public int Port { get; }
    public string Endpoint => $"127.0.0.1:{Port.ToString(CultureInfo.InvariantCulture)}";

    /// <summary>Starts redis-server on a free port in <paramref name="directory"/>, append-only (fsync every second, no RDB snapshots).</summary>
    public static Task<RedisProcess> StartServerAsync(string directory, params string[] extra)
    {
        Directory.CreateDirectory(directory);
        var port = BenchProcess.FreePort();
        string[] arguments =
        [
            "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", directory,
            "--logfile", Path.Combine(directory, "redis.log"), "--daemonize", "no", "--save", "",
            "--appendonly", "yes", "--appendfsync", "everysec", .. extra,
        ];
        return StartAsync("redis-server", port, arguments);
    }

    /// <summary>Starts redis-sentinel on a free port, monitoring <paramref name="service"/> at <paramref name="primary"/> (quorum 2).</summary>
    public static Task<RedisProcess> StartSentinelAsync(string directory, string service, RedisProcess primary)
    {
        Directory.CreateDirectory(directory);
        var port = BenchProcess.FreePort();
        var config = Path.Combine(directory, "sentinel.conf");
        File.WriteAllLines(config,
        [
            $"port {port.ToString(CultureInfo.InvariantCulture)}",
            "bind 127.0.0.1",
            "daemonize no",
            $"dir \"{directory}\"",
            $"logfile \"{Path.Combine(directory, "sentinel.log")}\"",
            $"sentinel monitor {service} 127.0.0.1 {primary.Port.ToString(CultureInfo.InvariantCulture)} 2",
            $"sentinel down-after-milliseconds {service} 5000",
            $"sentinel failover-timeout {service} 30000",
            $"sentinel parallel-syncs {service} 1",
        ]);
        return StartAsync("redis-sentinel", port, [config]);
    }

    private static async Task<RedisProcess> StartAsync(string program, int port, string[] arguments)
    {
        var redis = new RedisProcess(program, port, arguments);
        await redis.StartAsync();
        return redis;
    }

    /// <summary>Starts the process (again) and waits until it answers PING.</summary>
    public async Task StartAsync()
    {
        var start = new ProcessStartInfo(_program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        _process?.Dispose();
        _process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {_program}.");
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, e) => { if (e.Data is { Length: > 0 }) Console.Error.WriteLine($"[{_program} {Port}] {e.Data}"); };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        if (!await AnswersWithinAsync(TimeSpan.FromSeconds(30)))
        {
            Kill();
            throw new TimeoutException($"{_program} on port {Port} did not answer PING within 30 s.");
        }
    }

    /// <summary>Polls PING until it answers (true) or <paramref name="timeout"/> passes (false).</summary>
    public async Task<bool> AnswersWithinAsync(TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (DateTime.UtcNow < deadline)
        {
            if (_process is { HasExited: true })
            {
                throw new InvalidOperationException($"{_program} on port {Port} exited with code {_process.ExitCode}.");
            }

            if (await CommandAsync("PING") is ["PONG"])
            {
                return true;
            }

            await Task.Delay(20);
        }

        return false;
    }

    /// <summary>SHUTDOWN (graceful: the append-only file is flushed and kept); waits for the process to exit.</summary>
    public async Task ShutdownAsync()
    {
        await CommandAsync("SHUTDOWN");
        using var exited = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _process!.WaitForExitAsync(exited.Token);
    }

    /// <summary>SIGKILL: no flush, no goodbye.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill();
            _process.WaitForExit();
        }
    }

    /// <summary>Runs one command through redis-cli and returns its output lines (an error reply is a line too).</summary>
    public async Task<string[]> CommandAsync(params string[] command)
    {
        var start = new ProcessStartInfo("redis-cli") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])["-h", "127.0.0.1", "-p", Port.ToString(CultureInfo.InvariantCulture), .. command])
        {
            start.ArgumentList.Add(argument);
        }

        using var cli = Process.Start(start) ?? throw new InvalidOperationException("Could not start redis-cli.");
        var output = cli.StandardOutput.ReadToEndAsync();
        var error = cli.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await cli.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            cli.Kill();
            await cli.WaitForExitAsync();
        }

        return ((await output) + (await error)).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process?.Dispose();
        return ValueTask.CompletedTask;
    }
}

/// <summary>
/// The store Hub uses in a fault benchmark: one redis-server, or a primary, a replica and three sentinels
/// (Hub connects through the sentinels). Everything lives in one temporary folder, removed on dispose.
/// </summary>
public sealed class BenchRedis : IAsyncDisposable
{
    private readonly DirectoryInfo _directory;
    private readonly List<RedisProcess> _processes = [];
    private bool _keepDirectory;

    private BenchRedis(DirectoryInfo directory) => _directory = directory;

    /// <summary>The redis-server Hub writes to (the first primary when sentinels are in use).</summary>
    public RedisProcess Primary => _processes[0];

    public string? ServiceName { get; private set; }
    public string ConnectionString { get; private set; } = "";

    public static async Task<BenchRedis> StartStandaloneAsync()
    {
        var redis = new BenchRedis(Directory.CreateTempSubdirectory("hub-bench-redis-"));
        try
        {
            redis._processes.Add(await RedisProcess.StartServerAsync(redis._directory.FullName));
            redis.ConnectionString = redis.Primary.Endpoint;
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>A primary, one replica and three sentinels; returns once every sentinel knows the replica and the other sentinels.</summary>
    public static async Task<BenchRedis> StartWithSentinelsAsync(string service)
    {
        var redis = new BenchRedis(Directory.CreateTempSubdirectory("hub-bench-sentinel-"));
        try
        {
            var root = redis._directory.FullName;
            var primary = await RedisProcess.StartServerAsync(Path.Combine(root, "primary"));
            redis._processes.Add(primary);
            var replica = await RedisProcess.StartServerAsync(Path.Combine(root, "replica"), "--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture));
            redis._processes.Add(replica);
            for (var i = 1; i <= 3; i++)
            {
                redis._processes.Add(await RedisProcess.StartSentinelAsync(Path.Combine(root, $"sentinel{i}"), service, primary));
            }

            redis.ServiceName = service;
            redis.ConnectionString = string.Join(',', redis.Sentinels.Select(sentinel => sentinel.Endpoint)) + $",serviceName={service}";
            await redis.WaitAsync(TimeSpan.FromSeconds(60), "the replica in sync and every sentinel seeing it and the others", async () =>
            {
                if (!(await replica.CommandAsync("INFO", "replication")).Contains("master_link_status:up"))
                {
                    return false;
                }

                foreach (var sentinel in redis.Sentinels)
                {
                    var replicas = await sentinel.CommandAsync("SENTINEL", "REPLICAS", service);
                    var sentinels = await sentinel.CommandAsync("SENTINEL", "SENTINELS", service);
                    if (!Flags(replicas).SequenceEqual(["slave"]) || Flags(sentinels).Count(flags => flags == "sentinel") != 2)
                    {
                        return false;
                    }
                }

                return true;
            });
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    private IEnumerable<RedisProcess> Sentinels => _processes.Skip(2);

    /// <summary>
    /// SENTINEL FAILOVER on the first sentinel; returns once every sentinel names the former replica as the
    /// primary and it answers as one. Until the next failover <see cref="Primary"/> stays the first process.
    /// </summary>
    public async Task FailoverAsync()
    {
        var replica = _processes[1];
        var answer = await Sentinels.First().CommandAsync("SENTINEL", "FAILOVER", ServiceName!);
        if (answer is not ["OK"])
        {
            throw new InvalidOperationException($"SENTINEL FAILOVER answered: {string.Join(' ', answer)}");
        }

        await WaitAsync(TimeSpan.FromSeconds(60), "the failover to finish", async () =>
        {
            foreach (var sentinel in Sentinels)
            {
                if (await sentinel.CommandAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName!) is not [_, var port] || port != replica.Port.ToString(CultureInfo.InvariantCulture))
                {
                    return false;
                }
            }

            return (await replica.CommandAsync("ROLE")) is ["master", ..];
        });
    }

    /// <summary>The values that follow each "flags" key in redis-cli's flattened answer to SENTINEL REPLICAS/SENTINELS.</summary>
    private static IEnumerable<string> Flags(string[] lines) => lines.Zip(lines.Skip(1)).Where(pair => pair.First == "flags").Select(pair => pair.Second);

    private async Task WaitAsync(TimeSpan timeout, string what, Func<Task<bool>> done)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await done())
        {
            if (DateTime.UtcNow > deadline)
            {
                _keepDirectory = true;
                throw new TimeoutException($"Timed out after {timeout.TotalSeconds} s waiting for {what} (logs in {_directory.FullName}).");
            }

            await Task.Delay(100);
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        if (!_keepDirectory)
        {
            _directory.Delete(recursive: true);
        }
    }
}
