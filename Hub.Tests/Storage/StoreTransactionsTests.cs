using Hub.Core.Storage;
using Hub.Tests.Infrastructure;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// A transaction the store refuses is an outage, never "a condition failed" and never a silent success: on a real
/// redis-server turned replica (as in a failover), which serves reads and refuses writes.
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
