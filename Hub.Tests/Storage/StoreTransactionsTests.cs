using Hub.Core.Lists;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// A transaction the store refuses is an outage, never "a condition failed" and never a silent success: on a real
/// redis-server turned replica (as in a failover), which serves reads and refuses writes. So is one whose condition the
/// store never answered as such, which StackExchange.Redis also answers false: a condition's read answered with an error
/// (BUSY, LOADING, CLUSTERDOWN, MOVED), or not answered within its sync timeout. Each test stalls a redis-server of its own.
/// </summary>
public sealed class StoreTransactionsTests
{
    [Test]
    public async Task A_failed_condition_is_false_and_a_transaction_the_store_refuses_is_a_store_fault()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var db = connection.GetDatabase();
        await db.StringSetAsync("taken", "1");

        var conflict = db.CreateTransaction();
        var free = conflict.AddCondition(StoreCondition.KeyNotExists("taken"));
        _ = conflict.StringSetAsync("taken", "2");
        Assert.That(await conflict.ExecuteCheckedAsync(free), Is.False, "the condition did not hold");

        // Turned replica by someone else (a failover), so this connection still takes the server for a primary and
        // sends the transaction: the server answers the queued write READONLY and EXEC with EXECABORT.
        await RedisProcess.SendAsync(redis.Port, "REPLICAOF", "127.0.0.1", HubHostSettings.FreePort().ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.That((string?)await db.StringGetAsync("taken"), Is.EqualTo("1"), "reads are served");

        var conditional = db.CreateTransaction();
        var absent = conditional.AddCondition(StoreCondition.KeyNotExists("new"));
        _ = conditional.StringSetAsync("new", "1");
        var unconditional = db.CreateTransaction();
        _ = unconditional.StringSetAsync("other", "1");

        var refused = await CaughtAsync(() => conditional.ExecuteCheckedAsync(absent));
        var refusedToo = await CaughtAsync(() => unconditional.ExecuteCheckedAsync());
        Assert.Multiple(() =>
        {
            Assert.That(StoreFaults.IsStoreFault(refused), Is.True, refused?.ToString() ?? "no exception: the refusal passed for a failed condition");
            Assert.That(StoreFaults.IsStoreFault(refusedToo), Is.True, refusedToo?.ToString() ?? "no exception: the refused write passed for a success");
        });
    }

    [Test]
    public async Task A_tenant_update_while_the_store_does_not_answer_in_time_is_a_store_fault_and_changes_nothing()
    {
        await using var redis = await RedisProcess.StartAsync();
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var prefix = TestRedis.NewPrefix();
        var store = Tenants(connection, prefix);
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Before" }, default);
        // The same store through a connection that waits 200 ms for a transaction's conditions (the default is 5 s), and
        // 10 s for any other answer.
        await using var impatient = await ConnectionMultiplexer.ConnectAsync($"{redis.Endpoint},syncTimeout=200,asyncTimeout=10000");
        var stalled = Tenants(impatient, prefix);
        Assert.That(await stalled.UpdateAsync(TenantId.New(), new TenantChanges { Name = "x" }, default), Is.Null, "a tenant that does not exist");

        // Every client waits 3 s for an answer.
        await redis.SendAsync("CLIENT", "PAUSE", "3000", "ALL");
        var fault = Assert.CatchAsync(async () => await stalled.UpdateAsync(tenant.Id, new TenantChanges { Name = "After" }, default));

        var read = await store.GetAsync(tenant.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(fault, Is.InstanceOf<StoreUnavailableException>());
            Assert.That(read?.Name, Is.EqualTo("Before"), "the dropped transaction changed nothing");
        });
    }

    [Test]
    public async Task A_tenant_update_while_a_script_keeps_the_store_busy_is_a_store_fault_and_changes_nothing()
    {
        await using var redis = await RedisProcess.StartAsync("--busy-reply-threshold", "100");
        await using var connection = await ConnectionMultiplexer.ConnectAsync(redis.Endpoint);
        var store = Tenants(connection, TestRedis.NewPrefix());
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Before" }, default);

        // A script that never ends: once it has run for the threshold, the server answers every other command BUSY.
        var endless = redis.SendAsync("EVAL", "while true do end", "0");
        await Task.Delay(500);
        Exception? fault;
        try
        {
            fault = Assert.CatchAsync(async () => await store.UpdateAsync(tenant.Id, new TenantChanges { Name = "After" }, default));
        }
        finally
        {
            await redis.SendAsync("SCRIPT", "KILL");
            await endless;
        }

        var read = await store.GetAsync(tenant.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(StoreFaults.IsStoreFault(fault), Is.True, $"{fault}");
            Assert.That(fault?.Message, Does.StartWith("BUSY"), "the condition's read again, answered BUSY");
            Assert.That(read?.Name, Is.EqualTo("Before"), "the dropped transaction changed nothing");
        });
    }

    [Test]
    public async Task Replicas_changing_different_lists_of_one_tenant_at_once_all_succeed()
    {
        await using var first = await ConnectionMultiplexer.ConnectAsync(TestRedis.Endpoint);
        await using var second = await ConnectionMultiplexer.ConnectAsync(TestRedis.Endpoint);
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() }));
        var tenant = TenantId.New();
        var stores = new[] { new ListStore(first, keys), new ListStore(second, keys) };
        var lists = new[] { ListKey.Parse("alpha"), ListKey.Parse("beta") };
        foreach (var key in lists)
        {
            await stores[0].CreateAsync(tenant, new HostList { Key = key, Name = "0", Mode = ListMode.Audience, AudienceId = "a1", CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow }, default);
        }

        var failures = await FromTwoReplicasAsync(300, (replica, text) =>
            stores[replica].UpdateAsync(tenant, lists[replica], list => list with { Name = text }, default));

        var names = (await stores[0].ListAsync(tenant, default)).Select(list => list.Name);
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "changes that failed");
            Assert.That(names, Is.EqualTo(new[] { "300", "300" }), "every list has its last change");
        });
    }

    [Test]
    public async Task Replicas_changing_one_tenant_at_once_all_succeed_and_each_change_lands()
    {
        await using var first = await ConnectionMultiplexer.ConnectAsync(TestRedis.Endpoint);
        await using var second = await ConnectionMultiplexer.ConnectAsync(TestRedis.Endpoint);
        var prefix = TestRedis.NewPrefix();
        var stores = new[] { Tenants(first, prefix), Tenants(second, prefix) };
        var (tenant, _) = await stores[0].CreateAsync(new TenantChanges { Name = "0" }, default);

        // One replica renames the tenant, the other sets its webhook URL: each change watches the tenant's hash.
        var failures = await FromTwoReplicasAsync(200, (replica, text) =>
            stores[replica].UpdateAsync(tenant.Id, replica == 0 ? new TenantChanges { Name = text } : new TenantChanges { WebhookUrl = $"https://hooks.example.com/{text}" }, default));

        var read = await stores[0].GetAsync(tenant.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Empty, "changes that failed");
            Assert.That(read?.Name, Is.EqualTo("200"));
            Assert.That(read?.WebhookUrl, Is.EqualTo("https://hooks.example.com/200"));
        });
    }

    /// <summary>
    /// Two replicas (0 and 1) each make <paramref name="changes"/> changes at once, back to back, numbered from 1 ("1", "2", …);
    /// returns the message of each change that threw.
    /// </summary>
    private static async Task<IReadOnlyList<string>> FromTwoReplicasAsync(int changes, Func<int, string, Task> change)
    {
        var failures = new System.Collections.Concurrent.ConcurrentBag<string>();
        await Task.WhenAll(Enumerable.Range(0, 2).Select(replica => Task.Run(async () =>
        {
            for (var i = 1; i <= changes; i++)
            {
                try
                {
                    await change(replica, i.ToString(System.Globalization.CultureInfo.InvariantCulture));
                }
                catch (Exception exception)
                {
                    failures.Add(exception.Message);
                }
            }
        })));
        return [.. failures];
    }

    private static TenantStore Tenants(IConnectionMultiplexer redis, string prefix)
    {
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = prefix }));
        var secrets = new TenantSecrets(redis, keys, new SecretProtector(Options.Create(new EncryptionOptions
        {
            ActiveKeyId = "k1",
            Keys = new Dictionary<string, string> { ["k1"] = HubHostSettings.NewKey() },
        })));
        var cache = new TenantKeyCache(redis, keys, Options.Create(new TenantKeyOptions()), TimeProvider.System, NullLogger<TenantKeyCache>.Instance);
        return new TenantStore(redis, keys, secrets, cache, TimeProvider.System, []);
    }

    private static async Task<Exception?> CaughtAsync(Func<Task> action)
    {
        try
        {
            await action();
            return null;
        }
        catch (Exception exception)
        {
            return exception;
        }
    }
}
