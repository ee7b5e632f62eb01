using Hub.Core.Lists;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// Two replicas (two connections) changing different lists of one tenant at the same moment: the tenant's lists are one
/// hash, which each change watches whole, so a change on one replica can void the other's transaction (EXEC answers nil).
/// That is a concurrent change to read again, never an outage and never a lost update.
/// </summary>
public sealed class ListStoreConcurrencyTests
{
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

        const int changes = 300;
        var failures = 0;
        await Task.WhenAll(Enumerable.Range(0, 2).Select(replica => Task.Run(async () =>
        {
            for (var i = 1; i <= changes; i++)
            {
                try
                {
                    await stores[replica].UpdateAsync(tenant, lists[replica], list => list with { Name = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }, default);
                }
                catch (Exception)
                {
                    Interlocked.Increment(ref failures);
                }
            }
        })));

        var names = (await stores[0].ListAsync(tenant, default)).Select(list => list.Name);
        Assert.Multiple(() =>
        {
            Assert.That(failures, Is.Zero, "changes that failed");
            Assert.That(names, Is.EqualTo(new[] { "300", "300" }), "every list has its last change");
        });
    }
}
