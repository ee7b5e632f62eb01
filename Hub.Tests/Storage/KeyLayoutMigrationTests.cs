using System.IO.Compression;
using System.Net;
using System.Text.Json;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Hub.Tests.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// The move of a store written by Hub before the shard layout (<c>Fixtures/store-before-shards.json.gz</c>, made by a real Hub
/// at 673bbd5; <c>Fixtures/store-before-shards.sh</c> says how) to the current one, on redis-server and on Garnet: every key
/// of a tenant lands in its shard unchanged, the global structures are split, Hub reads and works the result, replicas that
/// start at once migrate it once, and a fresh store is only marked.
/// </summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
public class KeyLayoutMigrationTests(string backend) : BackendFixture(backend)
{
    private const string FixtureTenant = "tn_cv9dq7kne9768wmbdx6c";
    private const string FixtureKey = "hub_k1129t3r1ogn_Z6HngoXKQh1EXrD0TivKb1v8nniPVEDCOtNFvFylzcU";
    private const string SucceededJob = "job_5di3ooltbmky784naans";
    private const string RunningJob = "job_6r3r0iykftbjic5h1e1f";
    private const string FixturePrefix = "hub:";

    // The encryption key the fixture's Hub ran with (its secrets are encrypted under it).
    private static readonly Dictionary<string, string> FixtureEncryption = new() { ["fx"] = "Zml4dHVyZS1rZXktZm9yLW1pZ3JhdGlvbi10ZXN0cyE=" };

    private static readonly Lazy<IReadOnlyList<StoredKey>> Fixture = new(LoadFixture);

    private string _prefix = "";

    private IDatabase Db => Backend.Connection.GetDatabase();

    private RedisKeys Keys => new(Options.Create(new StorageOptions { KeyPrefix = _prefix }));

    [SetUp]
    public void NewPrefix() => _prefix = TestRedis.NewPrefix();

    [Test]
    public async Task Every_key_of_a_tenant_moves_into_its_shard_unchanged_and_the_global_structures_are_split()
    {
        await WriteFixtureAsync();
        // Another deployment on the same Redis under a longer prefix (this one's + "staging:"): not Hub's to move or drop.
        string[] foreign = [_prefix + "staging:tenant:tn_elsewhere00000000000", _prefix + "staging:jobs:ring", _prefix + "staging:{s1-63}:tenants"];
        foreach (var key in foreign)
        {
            await Db.StringSetAsync(key, "theirs");
        }

        await MigrationAsync().RunAsync(default);

        await AssertMigratedAsync();
        Assert.That(await Task.WhenAll(foreign.Select(key => Db.StringGetAsync(key))), Is.All.EqualTo((RedisValue)"theirs"), "another deployment's keys are left alone");
    }

    [Test]
    public async Task Replicas_starting_at_once_migrate_the_store_once()
    {
        await WriteFixtureAsync();
        var connections = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ => Backend.ConnectAsync()));
        try
        {
            await Task.WhenAll(connections.Select(connection => MigrationAsync(connection).RunAsync(default)));
        }
        finally
        {
            foreach (var connection in connections)
            {
                await connection.DisposeAsync();
            }
        }

        await AssertMigratedAsync();
    }

    [Test]
    public async Task A_migration_stopped_half_way_is_finished_by_the_next_start()
    {
        await WriteFixtureAsync();
        // As if a replica died after moving part of the keys: rename a third of the tenant's keys by hand, keep the lock taken.
        var keys = Keys;
        var tenantKeys = Fixture.Value.Where(stored => stored.Key.StartsWith("hub:tenant:" + FixtureTenant, StringComparison.Ordinal)).ToList();
        foreach (var stored in tenantKeys.Take(tenantKeys.Count / 3))
        {
            var name = stored.Key[FixturePrefix.Length..];
            await Db.KeyRenameAsync(_prefix + name, keys.ShardPrefix(RedisKeys.ShardOf(TenantId.Parse(FixtureTenant))) + name);
        }

        await Db.StringSetAsync(keys.LayoutMigrationLock, "a-replica-that-died", TimeSpan.FromMilliseconds(300));

        await MigrationAsync().RunAsync(default);

        await AssertMigratedAsync();
    }

    [Test]
    public async Task Hub_works_on_the_migrated_store()
    {
        await WriteFixtureAsync();
        await MigrationAsync().RunAsync(default);
        var keys = Keys;
        var tenant = TenantId.Parse(FixtureTenant);

        using var host = await JobsTestKit.StartAsync(Backend.Connection, _prefix, new() { ["Hub:Jobs:WorkerEnabled"] = "false", ["Hub:Jobs:LeaseDuration"] = "00:01:00" }, start: false);
        var jobs = host.Services.GetRequiredService<JobStore>();
        var tenants = new TenantStore(Backend.Connection, keys, host.Services.GetRequiredService<Hub.Core.Security.TenantSecrets>(),
            new TenantKeyCache(Backend.Connection, keys, Options.Create(new TenantKeyOptions()), TimeProvider.System, NullLogger<TenantKeyCache>.Instance),
            TimeProvider.System, []);
        var webhooks = new WebhookStore(Backend.Connection, keys, Options.Create(new WebhookOptions()), TimeProvider.System);

        var caller = await tenants.AuthenticateAsync(FixtureKey, default);
        var (listed, _, total) = await tenants.ListAsync(null, 10, default);
        var succeeded = await jobs.GetAsync(tenant, JobId.Parse(SucceededJob), default);
        var lists = await new ListStore(Backend.Connection, keys).ListAsync(tenant, default);
        var deliveries = await webhooks.ListAsync(tenant, null, 50, default);
        // The running job's lease expired long ago (its Hub was killed): the next claim takes it over from its checkpoint.
        var takenOver = await jobs.ClaimAsync(default);

        Assert.Multiple(async () =>
        {
            Assert.That(caller?.Tenant.Id, Is.EqualTo(tenant), "the tenant key authenticates");
            Assert.That(total, Is.EqualTo(2));
            Assert.That(listed.Select(item => item.Name), Is.EqualTo(new[] { "Fixture Co", "Second Co" }), "tenants in creation order");
            Assert.That(succeeded?.State, Is.EqualTo(JobState.Succeeded));
            Assert.That(succeeded?.Counts.Total, Is.EqualTo(701));
            Assert.That(lists.Select(list => list.Key.ToString()), Is.EquivalentTo(new[] { "newsletter", "customers" }));
            Assert.That(await new Hub.Core.Members.MemberLedger(Backend.Connection, keys, Options.Create(new JobsOptions())).CountAsync(tenant, ListKey.Parse("newsletter", null), default),
                Is.EqualTo(700), "the newsletter's ledger");
            Assert.That(deliveries.Items, Is.Not.Empty, "the tenant's webhook deliveries");
            Assert.That(takenOver?.JobId.ToString(), Is.EqualTo(RunningJob), "the running job is taken over");
            Assert.That(await jobs.QueueDepthAsync(default), Is.Zero);
        });
    }

    [Test]
    public async Task Hub_started_on_a_store_of_the_old_layout_serves_it()
    {
        if (Backend.Name != TestBackend.Redis)
        {
            Assert.Ignore("Hub processes of the tests run on the shared test Redis.");
        }

        await WriteFixtureAsync();
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            KeyPrefix = _prefix,
            EncryptionKeys = FixtureEncryption,
            ActiveKeyId = "fx",
            Configuration = { ["Hub:Jobs:WorkerEnabled"] = "false", ["Hub:Events:Enabled"] = "false" },
        });
        using var client = hub.Client(FixtureKey);

        var tenant = await client.GetAsync("/api/v1/tenant");
        var lists = await client.GetAsync("/api/v1/lists");
        var job = await client.GetAsync($"/api/v1/jobs/{SucceededJob}");

        Assert.Multiple(async () =>
        {
            Assert.That(tenant.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await tenant.Content.ReadAsStringAsync(), Does.Contain("Fixture Co"));
            Assert.That(await lists.Content.ReadAsStringAsync(), Does.Contain("\"memberCount\":700"), "the ledger moved with the list");
            Assert.That(job.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(await Db.StringGetAsync(Keys.Layout), Is.EqualTo((RedisValue)KeyLayoutMigration.CurrentLayout));
        });
    }

    [Test]
    public async Task Hub_started_while_the_store_is_down_serves_503_until_it_answers_then_moves_and_serves_it()
    {
        if (Backend.Name != TestBackend.Redis)
        {
            Assert.Ignore("Runs on a redis-server of its own.");
        }

        await using var redis = await RedisProcess.StartAsync();
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint))
        {
            await WriteFixtureAsync(connection.GetDatabase());
        }

        await redis.ShutdownAsync();
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            KeyPrefix = _prefix,
            EncryptionKeys = FixtureEncryption,
            ActiveKeyId = "fx",
            WaitUntilReady = false,
            Configuration = { ["Hub:Redis:ConnectionString"] = redis.Endpoint + ",connectTimeout=500", ["Hub:Events:Enabled"] = "false" },
        });
        using var client = hub.Client(FixtureKey);
        var whileDown = await client.GetAsync("/api/v1/tenant");
        var liveWhileDown = await client.GetAsync("/health/live");
        var readyWhileDown = await client.GetAsync("/health/ready");

        await redis.RestartAsync();
        var served = await JobsTestKit.EventuallyAsync(() => client.GetAsync("/api/v1/tenant"), answer => answer.StatusCode == HttpStatusCode.OK, TimeSpan.FromSeconds(30));

        Assert.Multiple(async () =>
        {
            await ProblemAssert.IsProblemAsync(whileDown, HttpStatusCode.ServiceUnavailable, "store_unavailable");
            Assert.That(liveWhileDown.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(readyWhileDown.StatusCode, Is.EqualTo(HttpStatusCode.ServiceUnavailable));
            Assert.That(await served.Content.ReadAsStringAsync(), Does.Contain("Fixture Co"), "the old store, moved once it answered");
            Assert.That((await client.GetAsync("/health/ready")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        });
    }

    [Test]
    public async Task A_store_of_the_shard_layout_gets_its_ledgers_in_bytes_and_Hub_reads_them()
    {
        // The layout before this one: keys in shards, a list's ledger as a hash of fingerprints and a set of the members Hub
        // added, in hex. 1,200 members (more than a page of the conversion), a third of them not added by Hub.
        var keys = Keys;
        var tenant = TenantId.Parse(FixtureTenant);
        var list = ListKey.Parse("newsletter", null);
        var stem = keys.ShardPrefix(RedisKeys.ShardOf(tenant)) + $"sync:{tenant}:{list}:";
        var members = Enumerable.Range(0, 1_200).Select(i => (
            Hash: Hub.Core.Mailchimp.SubscriberHash.FromEmail($"m{i}@example.com").Value,
            Fingerprint: Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(BitConverter.GetBytes(i)).AsSpan(0, 8)),
            HubAdded: i % 3 != 0)).ToList();
        // Member 1 was written without its tags (the tag call failed): the hex ledger said "tags-pending".
        members[1] = members[1] with { Fingerprint = Hub.Core.Members.MemberService.TagsPending };
        await Db.HashSetAsync(stem + "fingerprints", [.. members.Select(member => new HashEntry(member.Hash,
            member.Fingerprint == Hub.Core.Members.MemberService.TagsPending ? "tags-pending" : member.Fingerprint))]);
        // And another list's hub-added set whose hash of fingerprints is gone: dropped.
        await Db.SetAddAsync(keys.ShardPrefix(RedisKeys.ShardOf(tenant)) + $"sync:{tenant}:gone:hub-added", members[0].Hash);
        await Db.SetAddAsync(stem + "hub-added", [.. members.Where(member => member.HubAdded).Select(member => (RedisValue)member.Hash)]);
        await Db.StringSetAsync(keys.Layout, "sharded-16");

        await MigrationAsync().RunAsync(default);

        var ledger = new Hub.Core.Members.MemberLedger(Backend.Connection, keys, Options.Create(new JobsOptions()));
        var sample = members.Where((_, i) => i % 97 == 0 || i == 1).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(await ledger.CountAsync(tenant, list, default), Is.EqualTo(1_200));
            foreach (var member in sample)
            {
                Assert.That(await ledger.GetFingerprintAsync(tenant, list, member.Hash, default), Is.EqualTo(member.Fingerprint));
                Assert.That(await ledger.IsHubAddedAsync(tenant, list, member.Hash, default), Is.EqualTo(member.HubAdded));
            }

            var listed = new List<string>();
            await foreach (var hash in ledger.MembersAsync(tenant, list, default))
            {
                listed.Add(hash);
            }

            Assert.That(listed.Order(StringComparer.Ordinal), Is.EqualTo(members.Select(member => member.Hash).Order(StringComparer.Ordinal)));
            Assert.That(await Db.KeyExistsAsync(stem + "fingerprints") || await Db.KeyExistsAsync(stem + "hub-added"), Is.False, "the hex keys are gone");
            Assert.That(await Db.KeyExistsAsync(keys.ShardPrefix(RedisKeys.ShardOf(tenant)) + $"sync:{tenant}:gone:hub-added"), Is.False, "the stray set is gone");
            Assert.That(await Db.StringGetAsync(keys.Layout), Is.EqualTo((RedisValue)KeyLayoutMigration.CurrentLayout));
        });
    }

    [Test]
    public async Task A_fresh_store_is_only_marked()
    {
        await MigrationAsync().RunAsync(default);

        Assert.Multiple(async () =>
        {
            Assert.That(await Db.StringGetAsync(Keys.Layout), Is.EqualTo((RedisValue)KeyLayoutMigration.CurrentLayout));
            Assert.That(await KeysUnderPrefixAsync(), Is.EqualTo(new[] { (string)Keys.Layout! }));
        });
    }

    private KeyLayoutMigration MigrationAsync(IConnectionMultiplexer? connection = null) =>
        new(connection ?? Backend.Connection, Keys, TimeProvider.System, NullLogger<KeyLayoutMigration>.Instance);

    private async Task AssertMigratedAsync()
    {
        var keys = Keys;
        var shardOfTenant = new Func<string, int>(tenant => RedisKeys.ShardOf(TenantId.Parse(tenant)));
        var ownerOf = Fixture.Value.Where(stored => stored.Type == "hash")
            .Select(stored => (stored.Key, Tenant: stored.HashField("tenant")))
            .Where(owner => owner.Tenant is not null)
            .ToDictionary(owner => owner.Key[FixturePrefix.Length..], owner => owner.Tenant!);
        string? TenantOf(string name) => name.Split(':') switch
        {
            ["tenant", var tenant, ..] => tenant,
            ["jobs", "tenant", var tenant, ..] => tenant,
            ["sync", var tenant, ..] => tenant,
            ["job", var job, ..] => ownerOf.GetValueOrDefault("job:" + job),
            ["webhook", var delivery, ..] => ownerOf.GetValueOrDefault("webhook:" + delivery),
            ["events", "inbound", var inbound] => ownerOf.GetValueOrDefault("events:inbound:" + inbound),
            _ => null,
        };

        var moved = 0;
        var ledgers = 0;
        foreach (var stored in Fixture.Value)
        {
            var name = stored.Key[FixturePrefix.Length..];
            if (name.EndsWith(":hub-added", StringComparison.Ordinal))
            {
                continue; // in its list's ledger (below)
            }

            if (TenantOf(name) is { } tenant)
            {
                var shardPrefix = keys.ShardPrefix(shardOfTenant(tenant));
                if (name.EndsWith(":fingerprints", StringComparison.Ordinal))
                {
                    await AssertLedgerConvertedAsync(stored, shardPrefix + name);
                    ledgers++;
                    continue;
                }

                var now = await ReadAsync(shardPrefix + name, stored.Type);
                Assert.That(now, Is.EqualTo(stored.Values()), $"{name} in its tenant's shard, unchanged");
                moved++;
            }
        }

        Assert.That(ledgers, Is.EqualTo(1), "the fixture's list with a ledger (newsletter)");

        var left = (await KeysUnderPrefixAsync()).Select(key => key[_prefix.Length..])
            .Where(name => !name.StartsWith('{') && !name.StartsWith("staging:", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        var tenants = RedisKeys.AllShards.SelectMany(shard => Db.SortedSetRangeByRankWithScores(keys.Tenants(shard)).Select(entry => (Shard: shard, Tenant: entry.Element.ToString(), entry.Score))).ToList();
        var oldTenants = Fixture.Value.Single(stored => stored.Key == "hub:tenants").Values();
        var runningShard = shardOfTenant(FixtureTenant);

        Assert.Multiple(async () =>
        {
            Assert.That(moved, Is.GreaterThan(20), "the fixture's tenant keys");
            Assert.That(left.All(name => name == "layout" || name.StartsWith("apikey:", StringComparison.Ordinal) || name.StartsWith("events:hook:", StringComparison.Ordinal)
                || name.StartsWith("mailchimp:", StringComparison.Ordinal)), Is.True, "only keys found by a secret's hash or an account stay outside the shards: " + string.Join(", ", left));
            Assert.That(left, Does.Not.Contain("tenants").And.Not.Contain("jobs:leases").And.Not.Contain("webhooks:due").And.Not.Contain("jobs:queued-count"));
            Assert.That(tenants.All(entry => entry.Shard == shardOfTenant(entry.Tenant)), Is.True, "each tenant in its shard's index");
            Assert.That(tenants.Select(entry => $"{entry.Tenant} {entry.Score}").Order(), Is.EqualTo(oldTenants.Chunk(2).Select(pair => $"{pair[0]} {pair[1]}").Order()), "with its creation score");
            Assert.That((await Db.SortedSetRangeByRankAsync(keys.JobLeases(runningShard))).Select(id => id.ToString()), Is.EqualTo(new[] { RunningJob }), "the running job's lease");
            Assert.That((await Db.SortedSetRangeByRankAsync(keys.WebhookQueue(runningShard))).Select(id => id.ToString()).Order(),
                Is.EqualTo(Fixture.Value.Single(stored => stored.Key == "hub:webhooks:due").Values().Where((_, i) => i % 2 == 0).Order()), "the pending deliveries");
            Assert.That((long?)await Db.StringGetAsync(keys.JobQueueDepth(runningShard)) ?? 0, Is.Zero, "no job queued");
            Assert.That(await Db.StringGetAsync(keys.Layout), Is.EqualTo((RedisValue)KeyLayoutMigration.CurrentLayout));
            Assert.That(await Db.KeyExistsAsync(keys.LayoutMigrationLock), Is.False, "the lock is released");
        });
    }

    /// <summary>
    /// A list's ledger as the fixture wrote it (a hash of fingerprints and a set of the members Hub added, in hex) is one hash in
    /// bytes now, with the same members, fingerprints and hub-added marks; the old keys are gone.
    /// </summary>
    private async Task AssertLedgerConvertedAsync(StoredKey fingerprints, string movedName)
    {
        var stem = movedName[..^"fingerprints".Length];
        var hubAdded = Fixture.Value.SingleOrDefault(stored => stored.Key == fingerprints.Key[..^"fingerprints".Length] + "hub-added")?.Items().Select(item => item.ToString()).ToHashSet() ?? [];
        var expected = fingerprints.Pairs().Select(pair => $"{pair.First} {pair.Second} {hubAdded.Contains(pair.First.ToString())}").Order(StringComparer.Ordinal).ToList();
        var ledger = (await Db.HashGetAllAsync(stem + "ledger"))
            .Select(entry => $"{Hub.Core.Members.LedgerEntry.HashOf(entry.Name)} {Hub.Core.Members.LedgerEntry.FingerprintOf(entry.Value)} {Hub.Core.Members.LedgerEntry.IsHubAdded(entry.Value)}")
            .Order(StringComparer.Ordinal).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(ledger, Is.EqualTo(expected), $"{movedName}: each member with its fingerprint and hub-added mark");
            Assert.That(hubAdded, Is.Not.Empty, "the fixture's Hub added members");
            Assert.That(await Db.KeyExistsAsync(movedName) || await Db.KeyExistsAsync(stem + "hub-added"), Is.False, "the hex keys are gone");
        });
    }

    private async Task<List<string>> KeysUnderPrefixAsync()
    {
        var found = new List<string>();
        foreach (var server in Backend.Connection.GetServers().Where(server => !server.IsReplica))
        {
            await foreach (var key in server.KeysAsync(pattern: _prefix + "*", pageSize: 1000))
            {
                found.Add(key.ToString());
            }
        }

        return found;
    }

    /// <summary>A key's content as comparable strings: a string's value, a hash's sorted "field=value" pairs, a list in order, a set sorted, a sorted set's members and scores.</summary>
    private async Task<List<string>> ReadAsync(string key, string type) => type switch
    {
        "string" => [(await Db.StringGetAsync(key)).ToString()],
        "hash" => [.. (await Db.HashGetAllAsync(key)).Select(entry => $"{entry.Name}={entry.Value}").Order(StringComparer.Ordinal)],
        "list" => [.. (await Db.ListRangeAsync(key)).Select(item => item.ToString())],
        "set" => [.. (await Db.SetMembersAsync(key)).Select(item => item.ToString()).Order(StringComparer.Ordinal)],
        "sortedset" => [.. (await Db.SortedSetRangeByRankWithScoresAsync(key)).SelectMany(entry => new[] { entry.Element.ToString(), entry.Score.ToString(System.Globalization.CultureInfo.InvariantCulture) })],
        _ => throw new InvalidOperationException(type),
    };

    /// <summary>Writes the fixture's keys under this test's prefix, with their TTLs.</summary>
    private async Task WriteFixtureAsync(IDatabase? db = null)
    {
        db ??= Db;
        foreach (var stored in Fixture.Value)
        {
            RedisKey key = _prefix + stored.Key[FixturePrefix.Length..];
            switch (stored.Type)
            {
                case "string":
                    await db.StringSetAsync(key, stored.Bytes(0));
                    break;
                case "hash":
                    await db.HashSetAsync(key, [.. stored.Pairs().Select(pair => new HashEntry(pair.First, pair.Second))]);
                    break;
                case "list":
                    await db.ListRightPushAsync(key, [.. stored.Items()]);
                    break;
                case "set":
                    await db.SetAddAsync(key, [.. stored.Items()]);
                    break;
                case "sortedset":
                    await db.SortedSetAddAsync(key, [.. stored.Scored().Select(entry => new SortedSetEntry(entry.Member, entry.Score))]);
                    break;
            }

            if (stored.TtlMs > 0)
            {
                await db.KeyExpireAsync(key, TimeSpan.FromMilliseconds(stored.TtlMs));
            }
        }
    }

    private static IReadOnlyList<StoredKey> LoadFixture()
    {
        using var file = File.OpenRead(Path.Combine(AppContext.BaseDirectory, "Storage", "Fixtures", "store-before-shards.json.gz"));
        using var json = new GZipStream(file, CompressionMode.Decompress);
        using var document = JsonDocument.Parse(json);
        return [.. document.RootElement.EnumerateArray().Select(entry => new StoredKey(
            entry.GetProperty("key").GetString()!, entry.GetProperty("type").GetString()!, entry.GetProperty("ttlMs").GetInt64(), entry.GetProperty("value").Clone()))];
    }

    /// <summary>One key of the fixture: values are base64 (a string's value; a hash's [field, value] pairs; list and set items; sorted-set [member, score] pairs).</summary>
    private sealed record StoredKey(string Key, string Type, long TtlMs, JsonElement Value)
    {
        public byte[] Bytes(int _) => Convert.FromBase64String(Value.GetString()!);

        public IEnumerable<(RedisValue First, RedisValue Second)> Pairs() =>
            Value.EnumerateArray().Select(pair => ((RedisValue)Convert.FromBase64String(pair[0].GetString()!), (RedisValue)Convert.FromBase64String(pair[1].GetString()!)));

        public IEnumerable<RedisValue> Items() => Value.EnumerateArray().Select(item => (RedisValue)Convert.FromBase64String(item.GetString()!));

        public IEnumerable<(RedisValue Member, double Score)> Scored() =>
            Value.EnumerateArray().Select(pair => ((RedisValue)Convert.FromBase64String(pair[0].GetString()!), pair[1].GetDouble()));

        public string? HashField(string name) =>
            Pairs().Where(pair => pair.First == name).Select(pair => pair.Second.ToString()).FirstOrDefault();

        /// <summary>The content as <see cref="ReadAsync"/> reads it back.</summary>
        public List<string> Values() => Type switch
        {
            "string" => [((RedisValue)Bytes(0)).ToString()],
            "hash" => [.. Pairs().Select(pair => $"{pair.First}={pair.Second}").Order(StringComparer.Ordinal)],
            "list" => [.. Items().Select(item => item.ToString())],
            "set" => [.. Items().Select(item => item.ToString()).Order(StringComparer.Ordinal)],
            "sortedset" => [.. Scored().SelectMany(entry => new[] { entry.Member.ToString(), entry.Score.ToString(System.Globalization.CultureInfo.InvariantCulture) })],
            _ => throw new InvalidOperationException(Type),
        };
    }
}
