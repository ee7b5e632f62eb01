using System.Globalization;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// A Redis Sentinel deployment a test owns, all on loopback: a primary, one replica, and three
/// sentinels monitoring them as <see cref="ServiceName"/> (quorum 2, a node is down after 1 s). Hub
/// connects through <see cref="ConnectionString"/>; <see cref="FailoverAsync"/> and
/// <see cref="KillPrimaryAsync"/> move the primary role to the other node. Dispose stops everything.
/// </summary>
public sealed class SentinelTopology : IAsyncDisposable
{
    public const string ServiceName = "hubprimary";

    /// <summary>How long the topology may take to settle after a start or a failover (generous: 2 shared cores).</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(30);

    private readonly List<RedisProcess> _servers = [];
    private readonly List<RedisProcess> _sentinels = [];

    private SentinelTopology()
    {
    }

    /// <summary>The node the sentinels named as primary at the start or the last failover.</summary>
    public RedisProcess Primary { get; private set; } = null!;

    /// <summary>The other node: a replica of <see cref="Primary"/> (unless it was killed).</summary>
    public RedisProcess Replica => _servers.Single(server => server != Primary);

    public IReadOnlyList<RedisProcess> Sentinels => _sentinels;

    /// <summary>The StackExchange.Redis configuration string that connects through the sentinels to the current primary.</summary>
    public string ConnectionString => string.Join(",", _sentinels.Select(sentinel => sentinel.Endpoint)) + ",serviceName=" + ServiceName;

    public static async Task<SentinelTopology> StartAsync()
    {
        var topology = new SentinelTopology();
        try
        {
            // No diskless-sync delay (5 s by default), so a replica (re)syncs at once, also after a failover.
            var primary = await RedisProcess.StartAsync("--repl-diskless-sync-delay", "0");
            topology._servers.Add(primary);
            topology.Primary = primary;
            topology._servers.Add(await RedisProcess.StartAsync(
                "--repl-diskless-sync-delay", "0", "--replicaof", "127.0.0.1", primary.Port.ToString(CultureInfo.InvariantCulture)));

            var configuration = $"""
                sentinel monitor {ServiceName} 127.0.0.1 {primary.Port} 2
                sentinel down-after-milliseconds {ServiceName} 1000
                sentinel failover-timeout {ServiceName} 5000
                sentinel parallel-syncs {ServiceName} 1

                """;
            for (var i = 0; i < 3; i++)
            {
                topology._sentinels.Add(await RedisProcess.StartSentinelAsync(configuration));
            }

            // Sentinels find the replica through the primary's INFO and each other through hello messages
            // (every 2 s); a failover needs both.
            await topology.WaitForPrimaryAsync(primary);
            await topology.WaitUntilReplicatingAsync();
            return topology;
        }
        catch
        {
            await topology.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A manual failover (<c>SENTINEL FAILOVER</c>): returns once every sentinel names the replica as
    /// primary and it accepts writes. The old primary does not know yet: Sentinel turns it into a replica
    /// some 10 s later (<see cref="WaitUntilReplicatingAsync"/> waits for that).
    /// </summary>
    public async Task FailoverAsync()
    {
        object? answer = null;
        await WaitUntilAsync("a sentinel to accept SENTINEL FAILOVER", async () =>
        {
            // INPROG or NOGOODSLAVE while the sentinels still settle; retried.
            answer = await _sentinels[0].SendAsync("SENTINEL", "FAILOVER", ServiceName);
            return answer is "OK";
        }, () => $"last answer: {answer}");
        await WaitForPrimaryAsync(Replica);
    }

    /// <summary>Kills the primary (SIGKILL) and waits until the sentinels have promoted the replica and it accepts writes.</summary>
    public async Task KillPrimaryAsync()
    {
        var next = Replica;
        await Primary.KillAsync();
        await WaitForPrimaryAsync(next);
    }

    /// <summary>Waits until <see cref="Replica"/> replicates <see cref="Primary"/> and every sentinel sees it as a healthy replica.</summary>
    public async Task WaitUntilReplicatingAsync()
    {
        var primary = Primary.Port.ToString(CultureInfo.InvariantCulture);
        var replica = Replica;
        var state = "";
        await WaitUntilAsync($"{replica.Endpoint} to replicate {Primary.Endpoint}", async () =>
        {
            var info = Info(await replica.SendAsync("INFO", "replication"));
            state = $"{replica.Endpoint}: role {info.GetValueOrDefault("role")}, master {info.GetValueOrDefault("master_port")}, link {info.GetValueOrDefault("master_link_status")}";
            if (info.GetValueOrDefault("role") != "slave" || info.GetValueOrDefault("master_port") != primary || info.GetValueOrDefault("master_link_status") != "up")
            {
                return false;
            }

            foreach (var sentinel in _sentinels)
            {
                var replicas = await sentinel.SendAsync("SENTINEL", "REPLICAS", ServiceName) as object?[] ?? [];
                if (!replicas.Select(Pairs).Any(entry => entry.GetValueOrDefault("port") == replica.Port.ToString(CultureInfo.InvariantCulture)
                    && entry.GetValueOrDefault("flags") == "slave" && entry.GetValueOrDefault("master-link-status") == "ok"))
                {
                    state += $"; {sentinel.Endpoint} does not see it healthy yet";
                    return false;
                }
            }

            return true;
        }, () => state);
    }

    /// <summary>The primary as each sentinel names it now (<c>SENTINEL GET-MASTER-ADDR-BY-NAME</c>).</summary>
    public async Task<IReadOnlyList<string>> ReportedPrimariesAsync()
    {
        var reported = new List<string>();
        foreach (var sentinel in _sentinels)
        {
            reported.Add(await sentinel.SendAsync("SENTINEL", "GET-MASTER-ADDR-BY-NAME", ServiceName) is object?[] { Length: 2 } address
                ? $"{address[0]}:{address[1]}"
                : "none");
        }

        return reported;
    }

    public async ValueTask DisposeAsync()
    {
        // Sentinels first, so none reacts to the servers going away.
        foreach (var process in _sentinels.Concat(_servers))
        {
            await process.DisposeAsync();
        }
    }

    /// <summary>Waits until every sentinel names <paramref name="primary"/> as primary and knows the two other sentinels, and it accepts a write.</summary>
    private async Task WaitForPrimaryAsync(RedisProcess primary)
    {
        var port = primary.Port.ToString(CultureInfo.InvariantCulture);
        var state = "";
        await WaitUntilAsync($"the sentinels to agree on {primary.Endpoint} as primary", async () =>
        {
            var views = new List<string>();
            var agreed = true;
            foreach (var sentinel in _sentinels)
            {
                var master = Pairs(await sentinel.SendAsync("SENTINEL", "MASTER", ServiceName));
                views.Add($"{sentinel.Endpoint}: {master.GetValueOrDefault("port")} {master.GetValueOrDefault("flags")}, {master.GetValueOrDefault("num-other-sentinels")} other sentinels");
                agreed &= master.GetValueOrDefault("port") == port && master.GetValueOrDefault("flags") == "master" && master.GetValueOrDefault("num-other-sentinels") == "2";
            }

            state = string.Join("; ", views);
            return agreed && await primary.SendAsync("SET", "sentinel-topology:probe", DateTime.UtcNow.ToString("O")) is "OK";
        }, () => state);
        Primary = primary;
    }

    private async Task WaitUntilAsync(string what, Func<Task<bool>> condition, Func<string>? state = null)
    {
        var deadline = DateTime.UtcNow + SettleTimeout;
        Exception? last = null;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                if (await condition())
                {
                    return;
                }
            }
            catch (Exception exception) when (exception is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
            {
                last = exception;
            }

            await Task.Delay(100);
        }

        var logs = string.Join(Environment.NewLine, _sentinels.Concat(_servers).Select(process => $"--- {process}:{Environment.NewLine}{process.LogTail(15)}"));
        throw new TimeoutException($"Waited {SettleTimeout.TotalSeconds} s for {what}; {state?.Invoke()} {last?.Message}{Environment.NewLine}{logs}");
    }

    /// <summary>Field/value pairs of a flat array reply (SENTINEL MASTER, one entry of SENTINEL REPLICAS).</summary>
    private static Dictionary<string, string> Pairs(object? reply)
    {
        var pairs = new Dictionary<string, string>(StringComparer.Ordinal);
        if (reply is object?[] items)
        {
            for (var i = 0; i + 1 < items.Length; i += 2)
            {
                pairs[(string)items[i]!] = items[i + 1] as string ?? "";
            }
        }

        return pairs;
    }

    /// <summary>The <c>key:value</c> lines of an INFO reply.</summary>
    private static Dictionary<string, string> Info(object? reply) =>
        (reply as string ?? "").Split("\r\n").Select(line => line.Split(':', 2)).Where(parts => parts.Length == 2)
            .ToDictionary(parts => parts[0], parts => parts[1], StringComparer.Ordinal);
}
