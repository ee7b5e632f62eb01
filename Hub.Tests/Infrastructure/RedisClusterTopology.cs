using System.Globalization;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// A real Redis Cluster of three masters on loopback (no replicas), started once per test run and shared: three
/// <c>redis-server --cluster-enabled yes</c> processes joined with <c>redis-cli --cluster create</c>, which splits the
/// 16,384 slots evenly between them. Tests keep apart by key prefix, as on the shared standalone Redis. The processes are
/// killed when the test run exits (<see cref="RedisProcess"/>).
/// </summary>
public sealed class RedisClusterTopology
{
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(60);
    private static readonly SemaphoreSlim StartLock = new(1, 1);
    private static RedisClusterTopology? _shared;

    private RedisClusterTopology(IReadOnlyList<RedisProcess> masters) => Masters = masters;

    public IReadOnlyList<RedisProcess> Masters { get; }

    /// <summary>The StackExchange.Redis configuration string: every master (the client learns the slot map from them).</summary>
    public string ConnectionString => string.Join(",", Masters.Select(master => master.Endpoint));

    /// <summary>The run's cluster, started on first use.</summary>
    public static async Task<RedisClusterTopology> SharedAsync()
    {
        await StartLock.WaitAsync();
        try
        {
            return _shared ??= await StartAsync();
        }
        finally
        {
            StartLock.Release();
        }
    }

    private static async Task<RedisClusterTopology> StartAsync()
    {
        var cli = ExternalTool.Find("redis-cli", "The Redis Cluster tests create the cluster with redis-cli (Debian redis-tools, installed with redis-server by Hub.Tests/run-tests.sh).");
        var masters = new List<RedisProcess>();
        for (var i = 0; i < 3; i++)
        {
            // The cluster bus gets a free port of its own: by default it is the client port + 10,000, past 65,535 for a
            // client port from the upper part of the ephemeral range.
            masters.Add(await RedisProcess.StartAsync("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000",
                "--cluster-port", HubHostSettings.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }

        var (exitCode, output, error) = await ExternalTool.RunAsync(cli,
            ["--cluster", "create", .. masters.Select(master => master.Endpoint), "--cluster-replicas", "0", "--cluster-yes"], Path.GetTempPath(), SettleTimeout);
        if (exitCode != 0)
        {
            throw new InvalidOperationException($"redis-cli --cluster create failed ({exitCode}): {output} {error}");
        }

        // Every node agrees the cluster is up (all slots served) before a client connects.
        var deadline = DateTime.UtcNow + SettleTimeout;
        foreach (var master in masters)
        {
            while (!((await master.SendAsync("CLUSTER", "INFO"))?.ToString() ?? "").Contains("cluster_state:ok", StringComparison.Ordinal))
            {
                if (DateTime.UtcNow > deadline)
                {
                    throw new InvalidOperationException($"The cluster did not settle within {SettleTimeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s.");
                }

                await Task.Delay(100);
            }
        }

        return new RedisClusterTopology(masters);
    }
}
