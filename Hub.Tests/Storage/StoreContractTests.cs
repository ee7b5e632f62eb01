using System.Security.Cryptography;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// The same store behaviour against a real redis-server and against the embedded Garnet server,
/// so Hub only relies on commands both support.
/// </summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class StoreContractTests(string backend) : BackendFixture(backend)
{
    private readonly Dictionary<string, string> _keys = new() { ["k1"] = HubHostSettings.NewKey(), ["k2"] = HubHostSettings.NewKey() };
    private string _prefix = "";

    private IConnectionMultiplexer Redis => Backend.Connection;

    [SetUp]
    public void NewPrefix() => _prefix = TestRedis.NewPrefix();

    private TenantStore Tenants(string activeKey = "k1", IConnectionMultiplexer? redis = null, TimeSpan? keyCacheDuration = null)
    {
        redis ??= Redis;
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = _prefix }));
        var cache = new TenantKeyCache(redis, keys, Options.Create(new TenantKeyOptions { CacheDuration = keyCacheDuration ?? TimeSpan.FromSeconds(5) }),
            TimeProvider.System, NullLogger<TenantKeyCache>.Instance);
        return new TenantStore(redis, keys, Secrets(activeKey, redis), cache, TimeProvider.System, []);
    }

    /// <summary>Authenticates until the answer is <paramref name="expected"/> or <paramref name="within"/> passes; returns the last answer.</summary>
    private static async Task<AuthenticatedTenant?> AuthenticateUntilAsync(TenantStore store, string key, Func<AuthenticatedTenant?, bool> expected, TimeSpan within)
    {
        var deadline = DateTime.UtcNow + within;
        while (true)
        {
            var caller = await store.AuthenticateAsync(key, default);
            if (expected(caller) || DateTime.UtcNow > deadline)
            {
                return caller;
            }

            await Task.Delay(10);
        }
    }

    private TenantSecrets Secrets(string activeKey = "k1", IConnectionMultiplexer? redis = null) =>
        new(redis ?? Redis, new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = _prefix })),
            new SecretProtector(Options.Create(new EncryptionOptions { ActiveKeyId = activeKey, Keys = _keys })));

    [Test]
    public async Task Created_tenant_reads_back_and_lists_in_creation_order()
    {
        var store = Tenants();
        var (first, _) = await store.CreateAsync(new TenantChanges { Name = "First" }, default);
        var (second, _) = await store.CreateAsync(new TenantChanges { Name = "Second", AllowedReturnOrigins = ["HTTPS://App.Example.com"] }, default);

        var read = await store.GetAsync(second.Id, default);
        var (items, _, total) = await store.ListAsync(null, 10, default);
        Assert.Multiple(() =>
        {
            Assert.That(read, Is.EqualTo(second).Using<Tenant>((a, b) => a.Id == b.Id && a.Name == b.Name));
            Assert.That(read!.AllowedReturnOrigins, Is.EqualTo(new[] { "https://app.example.com" }));
            Assert.That(total, Is.EqualTo(2));
            Assert.That(items.Select(t => t.Name), Is.EqualTo(new[] { "First", "Second" }));
            Assert.That(first.Id, Is.Not.EqualTo(second.Id));
        });
    }

    [Test]
    public async Task Tenant_pages_follow_the_cursor_across_shards_and_tenants_created_meanwhile_shift_nothing()
    {
        var store = Tenants();
        for (var i = 0; i < 5; i++)
        {
            await store.CreateAsync(new TenantChanges { Name = $"T{i}" }, default);
        }

        var seen = new List<string>();
        var page = await store.ListAsync(null, 2, default);
        seen.AddRange(page.Items.Select(tenant => tenant.Name));
        await store.CreateAsync(new TenantChanges { Name = "Late" }, default);
        var totals = new List<long?> { page.Total };
        while (page.NextCursor is { } next)
        {
            Assert.That(PageCursor.TryDecode(next, out var after), Is.True, next);
            page = await store.ListAsync(after, 2, default);
            seen.AddRange(page.Items.Select(tenant => tenant.Name));
            totals.Add(page.Total);
        }

        Assert.Multiple(() =>
        {
            Assert.That(seen, Is.EqualTo(new[] { "T0", "T1", "T2", "T3", "T4", "Late" }), "creation order, each once");
            Assert.That(totals, Is.EqualTo(new long?[] { 5, 6, 6 }));
        });
    }

    [Test]
    public async Task Concurrent_updates_of_different_fields_are_all_kept()
    {
        var store = Tenants();
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Concurrent" }, default);

        await Task.WhenAll(
            Enumerable.Range(0, 10).Select(i => i % 2 == 0
                ? store.UpdateAsync(tenant.Id, new TenantChanges { Name = $"Name {i}" }, default)
                : store.UpdateAsync(tenant.Id, new TenantChanges { DefaultPermissionReminder = "You signed up on our site." }, default)));
        await store.UpdateAsync(tenant.Id, new TenantChanges { WebhookUrl = "https://hooks.example.com/hub" }, default);

        var read = await store.GetAsync(tenant.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(read!.Name, Does.StartWith("Name "));
            Assert.That(read.DefaultPermissionReminder, Is.EqualTo("You signed up on our site."));
            Assert.That(read.WebhookUrl, Is.EqualTo("https://hooks.example.com/hub"));
        });
    }

    [Test]
    public async Task Issued_key_authenticates_until_revoked_and_several_keys_coexist()
    {
        var store = Tenants();
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Keys" }, default);
        var first = await store.IssueKeyAsync(tenant.Id, "first", default);
        var second = await store.IssueKeyAsync(tenant.Id, "second", default);

        Assert.That((await store.AuthenticateAsync(first!.Key.Reveal(), default))?.Tenant.Id, Is.EqualTo(tenant.Id));
        Assert.That((await store.AuthenticateAsync(second!.Key.Reveal(), default))?.KeyId, Is.EqualTo(second.Info.Id));

        Assert.That(await store.RevokeKeyAsync(tenant.Id, first.Info.Id, default), Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(await store.AuthenticateAsync(first.Key.Reveal(), default), Is.Null);
            Assert.That(await store.AuthenticateAsync(second.Key.Reveal(), default), Is.Not.Null);
            Assert.That(await store.RevokeKeyAsync(tenant.Id, first.Info.Id, default), Is.False);
            Assert.That((await store.ListKeysAsync(tenant.Id, default))!.Select(k => k.Name), Is.EqualTo(new[] { "second" }));
        });
    }

    [Test]
    public async Task A_replica_that_remembers_a_key_drops_it_when_another_replica_revokes_it_or_changes_its_tenant()
    {
        // Two replicas with connections of their own; B remembers keys for a minute, so only the notice
        // through the store can make it see A's changes within the second this test waits.
        await using var otherConnection = await Backend.ConnectAsync();
        var a = Tenants();
        var b = Tenants(redis: otherConnection, keyCacheDuration: TimeSpan.FromMinutes(1));
        var (tenant, _) = await a.CreateAsync(new TenantChanges { Name = "Replicas" }, default);
        var revoked = await a.IssueKeyAsync(tenant.Id, "revoked", default);
        var kept = await a.IssueKeyAsync(tenant.Id, "kept", default);
        // B remembers only once its subscription stands; wait until it answers both keys from memory.
        await WaitUntilRememberedAsync(b, revoked!.Key.Reveal());
        await WaitUntilRememberedAsync(b, kept!.Key.Reveal());

        await a.RevokeKeyAsync(tenant.Id, revoked.Info.Id, default);
        Assert.That(await AuthenticateUntilAsync(b, revoked.Key.Reveal(), caller => caller is null, TimeSpan.FromSeconds(1)), Is.Null, "revoked on A");

        await a.UpdateAsync(tenant.Id, new TenantChanges { Enabled = false }, default);
        Assert.That((await AuthenticateUntilAsync(b, kept.Key.Reveal(), caller => caller?.Tenant.Enabled == false, TimeSpan.FromSeconds(1)))?.Tenant.Enabled,
            Is.False, "disabled on A");

        await a.DeleteAsync(tenant.Id, default);
        Assert.That(await AuthenticateUntilAsync(b, kept.Key.Reveal(), caller => caller is null, TimeSpan.FromSeconds(1)), Is.Null, "deleted on A");
    }

    [Test]
    public async Task A_replica_whose_connection_dropped_forgets_what_it_remembered_until_notices_arrive_again()
    {
        var name = "replica-b-" + Guid.NewGuid().ToString("N");
        await using var otherConnection = await ConnectionMultiplexer.ConnectAsync($"{Backend.ConnectionString},name={name}");
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{Backend.ConnectionString},allowAdmin=true");
        var b = Tenants(redis: otherConnection, keyCacheDuration: TimeSpan.FromMinutes(1));
        var (tenant, _) = await b.CreateAsync(new TenantChanges { Name = "Reconnect" }, default);
        var first = await b.IssueKeyAsync(tenant.Id, "first", default);
        await WaitUntilRememberedAsync(b, first!.Key.Reveal());

        // The store drops B's connections; while they are down B cannot hear a change (here the key even
        // disappears without a notice at all).
        var dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        otherConnection.ConnectionFailed += (_, _) => dropped.TrySetResult();
        var server = admin.GetServer(admin.GetEndPoints()[0]);
        var clients = (await server.ClientListAsync()).Where(client => client.Name == name).ToList();
        Assert.That(clients, Is.Not.Empty);
        foreach (var client in clients)
        {
            await server.ClientKillAsync(client.Id);
        }

        await Redis.GetDatabase().KeyDeleteAsync($"{_prefix}apikey:{first.Info.HashHex}");
        await dropped.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var deadline = DateTime.UtcNow.AddSeconds(10);
        while (!otherConnection.IsConnected)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "B never reconnected");
            await Task.Delay(20);
        }

        // B's two connections each notice the kill on their own: a command can still meet the killed one before it has (a
        // SocketFailure), and is retried as a caller would. A key still remembered would answer without reaching Redis.
        Assert.That(await RetryWhileReconnectingAsync(() => b.AuthenticateAsync(first.Key.Reveal(), default), deadline), Is.Null,
            "B forgot what it remembered before the drop");

        // Once B's probe comes back through the channel, it remembers keys again.
        var second = await b.IssueKeyAsync(tenant.Id, "second", default);
        await WaitUntilRememberedAsync(b, second!.Key.Reveal());
    }

    private static async Task<T> RetryWhileReconnectingAsync<T>(Func<Task<T>> call, DateTime deadline)
    {
        while (true)
        {
            try
            {
                return await call();
            }
            catch (RedisConnectionException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
        }
    }

    [Test]
    public async Task A_remembered_key_is_read_again_once_the_cache_duration_passes()
    {
        var store = Tenants(keyCacheDuration: TimeSpan.FromMilliseconds(500));
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Expiry" }, default);
        var issued = await store.IssueKeyAsync(tenant.Id, null, default);
        var key = issued!.Key.Reveal();
        await WaitUntilRememberedAsync(store, key);

        // A change that sends no notice (as if it were lost): the remembered answer holds until it expires.
        await Redis.GetDatabase().KeyDeleteAsync($"{_prefix}apikey:{issued.Info.HashHex}");
        var started = DateTime.UtcNow;
        Assert.That(await store.AuthenticateAsync(key, default), Is.Not.Null, "answered from memory");
        Assert.That(await AuthenticateUntilAsync(store, key, caller => caller is null, TimeSpan.FromSeconds(5)), Is.Null);
        Assert.That(DateTime.UtcNow - started, Is.LessThan(TimeSpan.FromSeconds(2)));

        var uncached = Tenants(keyCacheDuration: TimeSpan.Zero);
        var second = await uncached.IssueKeyAsync(tenant.Id, null, default);
        Assert.That(await uncached.AuthenticateAsync(second!.Key.Reveal(), default), Is.Not.Null);
        await Redis.GetDatabase().KeyDeleteAsync($"{_prefix}apikey:{second.Info.HashHex}");
        Assert.That(await uncached.AuthenticateAsync(second.Key.Reveal(), default), Is.Null, "a zero duration reads Redis every time");
    }

    [Test]
    public async Task Key_checks_are_counted_by_where_the_answer_came_from()
    {
        var counts = new System.Collections.Concurrent.ConcurrentDictionary<string, long>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == "hub.tenant_keys.lookups")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "hub.tenant_key.source")
                {
                    counts.AddOrUpdate((string)tag.Value!, value, (_, total) => total + value);
                }
            }
        });
        listener.Start();

        var store = Tenants(keyCacheDuration: TimeSpan.FromMinutes(1));
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Counted" }, default);
        var key = (await store.IssueKeyAsync(tenant.Id, null, default))!.Key.Reveal();
        await WaitUntilRememberedAsync(store, key);
        var before = counts.GetValueOrDefault("memory");
        for (var i = 0; i < 3; i++)
        {
            await store.AuthenticateAsync(key, default);
        }

        Assert.Multiple(() =>
        {
            Assert.That(counts.GetValueOrDefault("redis"), Is.GreaterThanOrEqualTo(1), "the first check reads Redis");
            Assert.That(counts.GetValueOrDefault("memory") - before, Is.GreaterThanOrEqualTo(3));
        });
    }

    /// <summary>
    /// Waits until <paramref name="store"/> answers <paramref name="key"/> from memory: its index entry is
    /// taken away for a moment, and the key still authenticates.
    /// </summary>
    private async Task WaitUntilRememberedAsync(TenantStore store, string key)
    {
        var index = (RedisKey)$"{_prefix}apikey:{Convert.ToHexStringLower(SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(key)))}";
        var db = Redis.GetDatabase();
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            await store.AuthenticateAsync(key, default);
            // Taken away and put back (not renamed: on a cluster another name is another slot).
            var owner = await db.StringGetAsync(index);
            await db.KeyDeleteAsync(index);
            var remembered = await store.AuthenticateAsync(key, default) is not null;
            await db.StringSetAsync(index, owner);
            if (remembered)
            {
                return;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "the store never answered from memory");
            await Task.Delay(20);
        }
    }

    [Test]
    public async Task Keys_carry_at_least_256_random_bits_and_are_stored_only_as_hashes()
    {
        var store = Tenants();
        var (tenant, signing) = await store.CreateAsync(new TenantChanges { Name = "Hashes" }, default);
        var issued = await store.IssueKeyAsync(tenant.Id, null, default);
        var secretPart = issued!.Key.Reveal().Split('_', 3)[2];

        var dump = await TestRedis.DumpAsync(Redis, _prefix);
        Assert.Multiple(() =>
        {
            Assert.That(System.Buffers.Text.Base64Url.DecodeFromChars(secretPart), Has.Length.GreaterThanOrEqualTo(32));
            Assert.That(dump, Does.Not.Contain(secretPart));
            Assert.That(dump, Does.Not.Contain(signing.Reveal()["whsec_".Length..]));
        });
    }

    [Test]
    public async Task Deleting_a_tenant_removes_every_key_it_owned()
    {
        var store = Tenants();
        var (keep, _) = await store.CreateAsync(new TenantChanges { Name = "Keep" }, default);
        var (doomed, _) = await store.CreateAsync(new TenantChanges { Name = "Doomed" }, default);
        var key = await store.IssueKeyAsync(doomed.Id, null, default);

        Assert.That(await store.DeleteAsync(doomed.Id, default), Is.True);

        var remaining = (await TestRedis.KeysAsync(Redis, _prefix)).Select(k => k.ToString()).ToList();
        Assert.Multiple(async () =>
        {
            Assert.That(remaining, Has.None.Contains(doomed.Id.ToString()));
            Assert.That(remaining, Has.Some.Contains(keep.Id.ToString()));
            Assert.That(await store.AuthenticateAsync(key!.Key.Reveal(), default), Is.Null);
            Assert.That(await store.DeleteAsync(doomed.Id, default), Is.False);
        });
    }

    [Test]
    public async Task Re_encryption_moves_every_secret_to_the_active_key()
    {
        var (tenant, signing) = await Tenants("k1").CreateAsync(new TenantChanges { Name = "Rotate" }, default);
        await Secrets("k1").SetAsync(tenant.Id, "other", new Secret("other-secret"));

        var report = await Secrets("k2").ReEncryptAllAsync(default);
        var again = await Secrets("k2").ReEncryptAllAsync(default);

        var onlyK2 = new TenantSecrets(Redis, new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = _prefix })),
            new SecretProtector(Options.Create(new EncryptionOptions { ActiveKeyId = "k2", Keys = new() { ["k2"] = _keys["k2"] } })));
        Assert.Multiple(async () =>
        {
            Assert.That(report.ReEncrypted, Is.EqualTo(2));
            Assert.That(again.ReEncrypted, Is.Zero);
            Assert.That(again.AlreadyCurrent, Is.EqualTo(2));
            Assert.That((await onlyK2.GetAsync(tenant.Id, SecretNames.WebhookSigning))?.Reveal(), Is.EqualTo(signing.Reveal()));
            Assert.That((await onlyK2.GetAsync(tenant.Id, "other"))?.Reveal(), Is.EqualTo("other-secret"));
        });
    }

    [Test]
    public async Task A_script_runs_alone_even_while_other_clients_run_scripts()
    {
        // Every Hub state change is one Lua script that reads, decides and writes (job queue, leases, ledger,
        // concurrency slots); that is only safe when no other client's command runs in between, as on Redis.
        const string readModifyWrite = """
            local value = tonumber(redis.call('GET', KEYS[1]) or '0')
            local spin = 0
            for i = 1, 100000 do spin = spin + i end
            redis.call('SET', KEYS[1], value + 1)
            return value
            """;
        RedisKey key = _prefix + "counter";
        var replicas = new List<IConnectionMultiplexer>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                replicas.Add(await Backend.ConnectAsync());
            }

            await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(() => replicas[i % replicas.Count].GetDatabase().ScriptEvaluateAsync(readModifyWrite, [key]))));
        }
        finally
        {
            foreach (var connection in replicas)
            {
                await connection.DisposeAsync();
            }
        }

        Assert.That((long)await Redis.GetDatabase().StringGetAsync(key), Is.EqualTo(400));
    }

    [Test]
    public async Task Embedded_store_keeps_the_writes_acknowledged_just_before_it_stops()
    {
        if (!Backend.IsGarnet)
        {
            Assert.Pass("Persistence of a real Redis is its operator's concern.");
        }

        var directory = Path.Combine(Path.GetTempPath(), "hub-garnet-stop-" + Guid.NewGuid().ToString("N"));
        TenantId[] ids;
        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            var tenants = Tenants(redis: connection);
            ids = (await Task.WhenAll(Enumerable.Range(0, 300).Select(i => tenants.CreateAsync(new TenantChanges { Name = $"T{i}" }, default))))
                .Select(created => created.Tenant.Id).ToArray();
        }

        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            var tenants = Tenants(redis: connection);
            var found = await Task.WhenAll(ids.Select(id => tenants.GetAsync(id, default)));
            Assert.That(found.Count(tenant => tenant is null), Is.Zero);
        }

        TestBackend.TryDeleteDirectory(directory);
    }

    [Test]
    public async Task Embedded_store_keeps_data_across_a_restart()
    {
        if (!Backend.IsGarnet)
        {
            Assert.Pass("Persistence of a real Redis is its operator's concern.");
        }

        var directory = Path.Combine(Path.GetTempPath(), "hub-garnet-restart-" + Guid.NewGuid().ToString("N"));
        TenantId id;
        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            (var tenant, _) = await Tenants(redis: connection).CreateAsync(new TenantChanges { Name = "Durable" }, default);
            id = tenant.Id;
        }

        await using (var server = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance))
        await using (var connection = await ConnectionMultiplexer.ConnectAsync(server.ConnectionString))
        {
            Assert.That((await Tenants(redis: connection).GetAsync(id, default))?.Name, Is.EqualTo("Durable"));
        }

        TestBackend.TryDeleteDirectory(directory);
    }
}
