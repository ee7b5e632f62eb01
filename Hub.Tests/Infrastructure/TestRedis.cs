using StackExchange.Redis;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// The real Redis the tests talk to: <c>HUB_TEST_REDIS</c> or 127.0.0.1:6379. When it does not
/// answer, tests are ignored locally but fail with <c>CI=true</c>, so CI never passes by skipping.
/// </summary>
public static class TestRedis
{
    private static readonly Lazy<Task<IConnectionMultiplexer?>> Shared = new(ConnectOnceAsync);

    public static string Endpoint => Environment.GetEnvironmentVariable("HUB_TEST_REDIS") is { Length: > 0 } endpoint ? endpoint : "127.0.0.1:6379";

    public static async Task<IConnectionMultiplexer> ConnectAsync()
    {
        if (await Shared.Value is { } connection)
        {
            return connection;
        }

        var message = $"Redis at {Endpoint} does not answer. Run the README's test command (Hub.Tests/run-tests.sh), which installs and starts redis-server, or set HUB_TEST_REDIS.";
        throw Prerequisite.Missing(message);
    }

    private static async Task<IConnectionMultiplexer?> ConnectOnceAsync()
    {
        try
        {
            var options = ConfigurationOptions.Parse(Endpoint);
            options.ConnectTimeout = 2000;
            options.AbortOnConnectFail = true;
            var connection = await ConnectionMultiplexer.ConnectAsync(options);
            await connection.GetDatabase().PingAsync();
            return connection;
        }
        catch (RedisConnectionException)
        {
            return null;
        }
    }

    /// <summary>A key prefix no other test uses.</summary>
    public static string NewPrefix() => $"test:{Guid.NewGuid():N}:";

    /// <summary>Every key under a prefix (SCAN is fine in tests; Hub itself never scans on a request path).</summary>
    public static async Task<List<RedisKey>> KeysAsync(IConnectionMultiplexer redis, string prefix)
    {
        // Every primary: one on a standalone Redis or Garnet, each master's share of the slots on a cluster.
        var keys = new List<RedisKey>();
        foreach (var server in redis.GetServers().Where(server => server.IsConnected && !server.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 500))
            {
                keys.Add(key);
            }
        }

        return keys;
    }

    /// <summary>
    /// The keys of the whole database (every prefix, every test's data) whose name or any stored text holds one of
    /// <paramref name="needles"/> (case-insensitive): strings, hash fields and values, set and sorted-set members, list items,
    /// stream entries. Each hit says where.
    /// </summary>
    public static async Task<List<string>> KeysHoldingAsync(IConnectionMultiplexer redis, IReadOnlyList<string> needles)
    {
        var db = redis.GetDatabase();
        var hits = new List<string>();
        bool Holds(string? text) => text is not null && needles.Any(needle => text.Contains(needle, StringComparison.OrdinalIgnoreCase));
        foreach (var key in await KeysAsync(redis, ""))
        {
            IEnumerable<string?> texts = await db.KeyTypeAsync(key) switch
            {
                RedisType.String => [await db.StringGetAsync(key)],
                RedisType.Hash => (await db.HashGetAllAsync(key)).SelectMany(entry => new[] { (string?)entry.Name, (string?)entry.Value }),
                RedisType.Set => (await db.SetMembersAsync(key)).Select(member => (string?)member),
                RedisType.SortedSet => (await db.SortedSetRangeByRankAsync(key)).Select(member => (string?)member),
                RedisType.List => (await db.ListRangeAsync(key)).Select(item => (string?)item),
                RedisType.Stream => (await db.StreamRangeAsync(key)).SelectMany(entry => entry.Values.SelectMany(pair => new[] { (string?)pair.Name, (string?)pair.Value })),
                _ => [],
            };
            if (Holds(key) || texts.Any(Holds))
            {
                hits.Add(key.ToString());
            }
        }

        return hits;
    }

    /// <summary>All stored text under a prefix: key names, strings, hash fields and values, set and sorted-set members, list items.</summary>
    /// <summary>A value as text when it is UTF-8, else in hex (a ledger's fields and values are bytes: two that differ must not read the same).</summary>
    private static string Readable(RedisValue value)
    {
        var bytes = (byte[]?)value ?? [];
        try
        {
            return new System.Text.UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return "0x" + Convert.ToHexStringLower(bytes);
        }
    }

    public static async Task<string> DumpAsync(IConnectionMultiplexer redis, string prefix)
    {
        var db = redis.GetDatabase();
        var dump = new System.Text.StringBuilder();
        foreach (var key in await KeysAsync(redis, prefix))
        {
            dump.AppendLine(key.ToString());
            switch (await db.KeyTypeAsync(key))
            {
                case RedisType.String:
                    dump.AppendLine(await db.StringGetAsync(key));
                    break;
                case RedisType.Hash:
                    foreach (var entry in await db.HashGetAllAsync(key))
                    {
                        dump.AppendLine($"{Readable(entry.Name)}={Readable(entry.Value)}");
                    }

                    break;
                case RedisType.SortedSet:
                    foreach (var member in await db.SortedSetRangeByRankAsync(key))
                    {
                        dump.AppendLine(member);
                    }

                    break;
                case RedisType.Set:
                    foreach (var member in await db.SetMembersAsync(key))
                    {
                        dump.AppendLine(member);
                    }

                    break;
                case RedisType.List:
                    foreach (var item in await db.ListRangeAsync(key))
                    {
                        dump.AppendLine(item);
                    }

                    break;
            }
        }

        return dump.ToString();
    }
}
