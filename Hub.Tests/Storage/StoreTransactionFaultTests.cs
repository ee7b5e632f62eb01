using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// A conditional transaction whose condition the store does not answer in time: StackExchange.Redis waits for a
/// transaction's conditions at most its sync timeout, then drops the transaction and answers false as if a condition had
/// failed. Hub must report that as an outage (503), never as "the tenant does not exist".
/// </summary>
[NonParallelizable]
public class StoreTransactionFaultTests
{
    [Test]
    public async Task A_tenant_update_while_the_store_stalls_is_a_store_fault_and_not_a_missing_tenant()
    {
        var prefix = TestRedis.NewPrefix();
        await using var admin = await ConnectionMultiplexer.ConnectAsync($"{TestRedis.Endpoint},allowAdmin=true");
        var store = Tenants(admin, prefix);
        var (tenant, _) = await store.CreateAsync(new TenantChanges { Name = "Before" }, default);
        // The same store through a connection that waits 200 ms for a transaction's conditions (the default is 5 s).
        await using var impatient = await ConnectionMultiplexer.ConnectAsync($"{TestRedis.Endpoint},syncTimeout=200,asyncTimeout=10000");
        var stalled = Tenants(impatient, prefix);

        // Every client waits 1 s for an answer, five times that.
        await admin.GetServer(TestRedis.Endpoint).ExecuteAsync("CLIENT", "PAUSE", "1000", "ALL");
        var update = stalled.UpdateAsync(tenant.Id, new TenantChanges { Name = "After" }, default);

        var fault = Assert.CatchAsync(async () => await update);
        var read = await store.GetAsync(tenant.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(StoreFaults.IsStoreFault(fault), Is.True, $"{fault}");
            Assert.That(read?.Name, Is.EqualTo("Before"), "the dropped transaction changed nothing");
        });
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
}
