using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Sockets;
using System.Text;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// A real redis-server a test owns: its own process on a free loopback port and its own temp folder,
/// with an append-only file fsynced every second and no RDB snapshots (<c>--save ''</c>). The test can
/// shut it down gracefully (the append-only file is flushed), kill it (SIGKILL, as a crash would: the
/// operating system keeps what the server had written to its append-only file, which with
/// <c>everysec</c> is every acknowledged write unless the disk stalled; only a machine crash loses the
/// last second), and start it again on the same port with the same data.
/// Dispose kills it and deletes the folder. <see cref="SentinelTopology"/> uses it for Sentinel too.
/// </summary>
public sealed class RedisProcess : IAsyncDisposable
{
    /// <summary>How long a start may take before it is reported as failed (generous: 2 shared cores).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(20);
    private static readonly TimeSpan CommandTimeout = TimeSpan.FromSeconds(5);

    // Every process started and not yet disposed, killed when the test run exits, so none outlives it.
    private static readonly ConcurrentDictionary<RedisProcess, byte> Running = new();

    private readonly string _executable;
    private readonly IReadOnlyList<string> _arguments;
    private readonly ConcurrentQueue<string> _output = new();
    private Process? _process;

    static RedisProcess() => AppDomain.CurrentDomain.ProcessExit += (_, _) =>
    {
        foreach (var redis in Running.Keys)
        {
            redis.KillNow();
        }
    };

    private RedisProcess(string executable, int port, string directory, IReadOnlyList<string> arguments)
    {
        _executable = executable;
        Port = port;
        Directory = directory;
        _arguments = arguments;
    }

    public int Port { get; }

    /// <summary>The process's folder: its append-only files, log and (for Sentinel) configuration file.</summary>
    public string Directory { get; }

    /// <summary><c>127.0.0.1:port</c>, usable as a StackExchange.Redis configuration string.</summary>
    public string Endpoint => $"127.0.0.1:{Port}";

    public bool IsRunning => _process is { HasExited: false };

    private string LogFile => Path.Combine(Directory, "redis.log");

    /// <summary>
    /// Starts a redis-server with <paramref name="extraArguments"/> added to its command line (e.g.
    /// <c>--replicaof 127.0.0.1 6380</c>) and waits until it answers PING with its data loaded.
    /// </summary>
    public static Task<RedisProcess> StartAsync(params string[] extraArguments) =>
        LaunchAsync("redis-server", _ => [], ["--appendonly", "yes", "--appendfsync", "everysec", "--save", "", .. extraArguments]);

    /// <summary>Starts a redis-sentinel with <paramref name="configuration"/> (its <c>sentinel monitor</c> lines) as its configuration file, which Sentinel rewrites as it learns.</summary>
    public static Task<RedisProcess> StartSentinelAsync(string configuration) =>
        LaunchAsync("redis-sentinel", directory =>
        {
            var file = Path.Combine(directory, "sentinel.conf");
            File.WriteAllText(file, configuration);
            return [file];
        }, []);

    private static async Task<RedisProcess> LaunchAsync(string executable, Func<string, string[]> leadingArguments, string[] arguments)
    {
        // A port that was free a moment ago can be taken before the server binds it: then try another.
        for (var attempt = 1; ; attempt++)
        {
            var port = HubHostSettings.FreePort();
            var directory = Path.Combine(Path.GetTempPath(), "hub-redis-" + Guid.NewGuid().ToString("N"));
            System.IO.Directory.CreateDirectory(directory);
            var redis = new RedisProcess(executable, port, directory,
            [
                .. leadingArguments(directory),
                "--bind", "127.0.0.1", "--port", port.ToString(CultureInfo.InvariantCulture), "--dir", directory,
                "--logfile", Path.Combine(directory, "redis.log"), "--daemonize", "no",
                .. arguments,
            ]);
            try
            {
                await redis.RunAsync();
                return redis;
            }
            catch (InvalidOperationException) when (attempt < 3 && !redis.IsRunning)
            {
                await redis.DisposeAsync();
            }
            catch
            {
                await redis.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Asks the server to shut down (SHUTDOWN: the append-only file is flushed) and waits until its process has exited.</summary>
    public async Task ShutdownAsync()
    {
        if (!IsRunning)
        {
            return;
        }

        try
        {
            // On success the server closes the connection without answering.
            if (await SendAsync("SHUTDOWN") is RedisError error)
            {
                throw new InvalidOperationException($"{Endpoint} refused SHUTDOWN: {error.Message}");
            }
        }
        catch (Exception exception) when (exception is IOException or SocketException)
        {
            // The connection closed as the server went down.
        }

        await WaitForExitAsync();
    }

    /// <summary>Kills the process (SIGKILL), as a crash or an OOM kill would. Connections drop mid-command.</summary>
    public async Task KillAsync()
    {
        KillNow();
        if (_process is not null)
        {
            await WaitForExitAsync();
        }
    }

    /// <summary>
    /// Starts the server again on the same port with the same folder, after <see cref="ShutdownAsync"/> or
    /// <see cref="KillAsync"/> (a running server is shut down first), and waits until it answers PING and
    /// has finished loading its append-only file.
    /// </summary>
    public async Task RestartAsync()
    {
        await ShutdownAsync();
        await RunAsync();
    }

    /// <summary>
    /// Sends one command and reads its reply: a string (simple or bulk), a long, an object array, null
    /// (a null bulk or array) or a <see cref="RedisError"/>. Throws when the server cannot be reached.
    /// </summary>
    public Task<object?> SendAsync(params string[] command) => SendAsync(Port, command);

    /// <summary>Sends one command to a server on a loopback port; see <see cref="SendAsync(string[])"/>.</summary>
    public static async Task<object?> SendAsync(int port, params string[] command)
    {
        using var timeout = new CancellationTokenSource(CommandTimeout);
        using var client = new TcpClient();
        await client.ConnectAsync(System.Net.IPAddress.Loopback, port, timeout.Token);
        var stream = client.GetStream();
        var request = new StringBuilder().Append('*').Append(command.Length).Append("\r\n");
        foreach (var part in command)
        {
            request.Append('$').Append(Encoding.UTF8.GetByteCount(part)).Append("\r\n").Append(part).Append("\r\n");
        }

        await stream.WriteAsync(Encoding.UTF8.GetBytes(request.ToString()), timeout.Token);
        return await ReadReplyAsync(new RespReader(stream), timeout.Token);
    }

    /// <summary>The last lines of the server's log, for failure messages.</summary>
    public string LogTail(int lines = 30)
    {
        var log = File.Exists(LogFile) ? File.ReadLines(LogFile).TakeLast(lines) : [];
        return string.Join(Environment.NewLine, [.. _output.TakeLast(lines), .. log]);
    }

    public async ValueTask DisposeAsync()
    {
        Running.TryRemove(this, out _);
        await KillAsync();
        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }

    public override string ToString() => $"{_executable} {Endpoint}";

    private async Task RunAsync()
    {
        var start = new ProcessStartInfo(_executable)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Directory,
        };
        foreach (var argument in _arguments)
        {
            start.ArgumentList.Add(argument);
        }

        var process = new Process { StartInfo = start };
        process.OutputDataReceived += (_, line) => Remember(line.Data);
        process.ErrorDataReceived += (_, line) => Remember(line.Data);
        try
        {
            process.Start();
        }
        catch (Win32Exception exception)
        {
            process.Dispose();
            var message = $"{_executable} could not be started ({exception.Message}). Run the README's test command (Hub.Tests/run-tests.sh), which installs redis-server and redis-sentinel.";
            throw Prerequisite.Missing(message);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _process?.Dispose();
        _process = process;
        Running.TryAdd(this, 0);
        await WaitUntilReadyAsync();
    }

    private void Remember(string? line)
    {
        if (line is not null)
        {
            _output.Enqueue(line);
            while (_output.Count > 200 && _output.TryDequeue(out _))
            {
            }
        }
    }

    /// <summary>Waits until PING answers PONG: not while the port is closed, nor while the server answers LOADING.</summary>
    private async Task WaitUntilReadyAsync()
    {
        var deadline = DateTime.UtcNow + StartTimeout;
        object? last = null;
        while (DateTime.UtcNow < deadline && IsRunning)
        {
            try
            {
                last = await SendAsync("PING");
                if (last is "PONG")
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is IOException or SocketException or OperationCanceledException)
            {
                last = exception.Message;
            }

            await Task.Delay(50);
        }

        throw new InvalidOperationException(
            $"{this} is not ready after {StartTimeout.TotalSeconds} s (running: {IsRunning}, last answer: {last}). Its log:{Environment.NewLine}{LogTail()}");
    }

    private async Task WaitForExitAsync()
    {
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await _process!.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            KillNow();
            throw new InvalidOperationException($"{this} did not exit within {ExitTimeout.TotalSeconds} s; killed. Its log:{Environment.NewLine}{LogTail()}");
        }
    }

    private void KillNow()
    {
        try
        {
            if (_process is { HasExited: false })
            {
                _process.Kill();
            }
        }
        catch (InvalidOperationException)
        {
            // It exited meanwhile.
        }
    }

    private static async Task<object?> ReadReplyAsync(RespReader reader, CancellationToken cancellationToken)
    {
        var line = await reader.ReadLineAsync(cancellationToken);
        var value = line[1..];
        switch (line[0])
        {
            case '+':
                return value;
            case '-':
                return new RedisError(value);
            case ':':
                return long.Parse(value, CultureInfo.InvariantCulture);
            case '$':
                var length = int.Parse(value, CultureInfo.InvariantCulture);
                return length < 0 ? null : await reader.ReadBulkAsync(length, cancellationToken);
            case '*':
                var count = int.Parse(value, CultureInfo.InvariantCulture);
                if (count < 0)
                {
                    return null;
                }

                var items = new object?[count];
                for (var i = 0; i < count; i++)
                {
                    items[i] = await ReadReplyAsync(reader, cancellationToken);
                }

                return items;
            default:
                throw new IOException($"Unexpected RESP reply: {line}");
        }
    }

    /// <summary>Reads RESP2 lines and bulk strings from a stream.</summary>
    private sealed class RespReader(Stream stream)
    {
        private readonly byte[] _buffer = new byte[8192];
        private readonly List<byte> _pending = [];

        public async Task<string> ReadLineAsync(CancellationToken cancellationToken)
        {
            while (true)
            {
                for (var i = 1; i < _pending.Count; i++)
                {
                    if (_pending[i - 1] == '\r' && _pending[i] == '\n')
                    {
                        var line = Encoding.UTF8.GetString([.. _pending.Take(i - 1)]);
                        _pending.RemoveRange(0, i + 1);
                        return line;
                    }
                }

                await FillAsync(cancellationToken);
            }
        }

        public async Task<string> ReadBulkAsync(int length, CancellationToken cancellationToken)
        {
            while (_pending.Count < length + 2)
            {
                await FillAsync(cancellationToken);
            }

            var text = Encoding.UTF8.GetString([.. _pending.Take(length)]);
            _pending.RemoveRange(0, length + 2);
            return text;
        }

        private async Task FillAsync(CancellationToken cancellationToken)
        {
            var read = await stream.ReadAsync(_buffer, cancellationToken);
            if (read == 0)
            {
                throw new IOException("The server closed the connection.");
            }

            _pending.AddRange(_buffer.AsSpan(0, read));
        }
    }
}

/// <summary>An error reply (<c>-ERR ...</c>, <c>-LOADING ...</c>) from <see cref="RedisProcess.SendAsync(string[])"/>.</summary>
public sealed record RedisError(string Message);
