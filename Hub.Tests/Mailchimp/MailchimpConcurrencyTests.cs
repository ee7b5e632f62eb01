using Hub.Core.Mailchimp;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Mailchimp;

/// <summary>The per-account cap holds across replicas, over real HTTP and the real Redis.</summary>
public class MailchimpConcurrencyTests
{
    [Test]
    public async Task Fifty_parallel_calls_from_two_replicas_stay_within_the_cap_and_all_succeed()
    {
        var redis = await TestRedis.ConnectAsync();
        await using var sandbox = await SandboxHost.StartAsync();
        var prefix = TestRedis.NewPrefix();
        var key = await sandbox.CreateAccountAsync("Busy Shop");
        var listId = await sandbox.CreateListAsync(key);
        var credential = MailchimpTestKit.ApiKey(key);
        await using var replicaA = MailchimpTestKit.Replica(sandbox, redis, prefix);
        await using var replicaB = MailchimpTestKit.Replica(sandbox, redis, prefix);
        await sandbox.ResetCountersAsync();
        await sandbox.SetLatencyAsync(TimeSpan.FromMilliseconds(100));

        var calls = Enumerable.Range(0, 50).Select(i =>
        {
            var client = (i % 2 == 0 ? replicaA : replicaB).Client();
            return Task.Run(() => client.UpsertMemberAsync(credential, listId, new MailchimpMemberUpsert($"c{i}@busy.test", "subscribed"), CancellationToken.None));
        });
        var results = await Task.WhenAll(calls);
        var counters = await sandbox.GetCountersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(results.Where(r => !r.IsSuccess).Select(r => r.ToString()), Is.Empty);
            Assert.That(counters.MaxConcurrent[key.AccountId], Is.InRange(2, 8), "default cap is 8");
            Assert.That(counters.Throttled, Is.Zero);
            Assert.That(counters.Calls("PUT member"), Is.EqualTo(50), "no attempt needed a retry");
        });
        Assert.That(await redis.GetDatabase().SortedSetLengthAsync($"{prefix}mailchimp:concurrency:{credential.AccountKey}"), Is.Zero);
    }
}

/// <summary>The lease semaphore itself, on Redis 7 and on Garnet.</summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class MailchimpConcurrencyLimiterTests(string backend) : BackendFixture(backend)
{
    private IConnectionMultiplexer Redis => Backend.Connection;

    private (MailchimpConcurrencyLimiter Limiter, RedisKeys Keys) Limiter(int cap, TimeSpan lease, TimeProvider? time = null)
    {
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() }));
        var options = Options.Create(new MailchimpOptions { MaxConcurrentCallsPerAccount = cap, ConcurrencyLeaseDuration = lease });
        return (new MailchimpConcurrencyLimiter(Redis, keys, options, time ?? TimeProvider.System, NullLogger<MailchimpConcurrencyLimiter>.Instance), keys);
    }

    [Test]
    public async Task A_dead_holders_lease_expires_and_frees_its_slot()
    {
        var clock = new ManualClock(DateTimeOffset.UtcNow);
        var (limiter, keys) = Limiter(cap: 1, lease: TimeSpan.FromSeconds(30), clock);
        var key = keys.MailchimpConcurrency("us1:dead");

        Assert.That(await limiter.TryAcquireAsync(key, "replica-that-dies"), Is.True);
        Assert.That(await limiter.TryAcquireAsync(key, "live"), Is.False, "the slot is taken");
        clock.Now += TimeSpan.FromSeconds(29);
        Assert.That(await limiter.TryAcquireAsync(key, "live"), Is.False, "the lease still runs");
        clock.Now += TimeSpan.FromSeconds(2);
        Assert.That(await limiter.TryAcquireAsync(key, "live"), Is.True, "the dead holder's lease ran out");
        Assert.That((await Redis.GetDatabase().SortedSetRangeByRankAsync(key)).Select(v => v.ToString()), Is.EqualTo(new[] { "live" }));
    }

    [Test]
    public async Task Parallel_acquisitions_from_many_replicas_never_exceed_the_cap()
    {
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() }));
        var options = Options.Create(new MailchimpOptions { MaxConcurrentCallsPerAccount = 3, ConcurrencyLeaseDuration = TimeSpan.FromSeconds(30) });
        var key = keys.MailchimpConcurrency("us1:race");
        var replicas = new List<IConnectionMultiplexer>();
        try
        {
            for (var i = 0; i < 8; i++)
            {
                replicas.Add(await Backend.ConnectAsync());
            }

            var limiters = replicas.Select(connection => new MailchimpConcurrencyLimiter(connection, keys, options, TimeProvider.System, NullLogger<MailchimpConcurrencyLimiter>.Instance)).ToList();
            var attempts = Enumerable.Range(0, 400).Select(i => Task.Run(() => limiters[i % limiters.Count].TryAcquireAsync(key, $"holder-{i}")));
            var taken = (await Task.WhenAll(attempts)).Count(granted => granted);

            Assert.Multiple(async () =>
            {
                Assert.That(taken, Is.EqualTo(3));
                Assert.That(await Redis.GetDatabase().SortedSetLengthAsync(key), Is.EqualTo(3));
            });
        }
        finally
        {
            foreach (var connection in replicas)
            {
                await connection.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task A_waiting_caller_gets_the_slot_once_a_holder_releases()
    {
        var (limiter, _) = Limiter(cap: 2, lease: TimeSpan.FromSeconds(30));
        await using var first = await limiter.AcquireAsync("us1:wait", CancellationToken.None);
        var second = await limiter.AcquireAsync("us1:wait", CancellationToken.None);

        var third = limiter.AcquireAsync("us1:wait", CancellationToken.None);
        await Task.Delay(200);
        Assert.That(third.IsCompleted, Is.False, "the cap of 2 is reached");

        await second.DisposeAsync();
        await using var granted = await third.WaitAsync(TimeSpan.FromSeconds(5));
        Assert.That(granted.HolderId, Is.Not.EqualTo(first.HolderId));
    }

    [Test]
    public async Task A_reserved_slot_serves_the_first_call_of_its_account_and_is_freed_when_no_call_takes_it()
    {
        var (limiter, keys) = Limiter(cap: 2, lease: TimeSpan.FromSeconds(30));
        var db = Redis.GetDatabase();
        var key = keys.MailchimpConcurrency("us1:reserve");
        var tenant = TenantId.New();
        Assert.That(limiter.Reserve(tenant), Is.Null, "the tenant's account is not known yet");

        limiter.RememberAccount(tenant, "us1:reserve");
        await using (var reservation = limiter.Reserve(tenant)!)
        {
            Assert.That(await reservation.TakeAsync("us1:another"), Is.Null, "only a call to its own account takes it");
            await using var lease = await reservation.TakeAsync("us1:reserve");
            Assert.Multiple(async () =>
            {
                Assert.That(lease, Is.Not.Null);
                Assert.That(await reservation.TakeAsync("us1:reserve"), Is.Null, "a second call (or a retry) waits for a slot as usual");
                Assert.That(await db.SortedSetLengthAsync(key), Is.EqualTo(1));
            });
        }

        Assert.That(await db.SortedSetLengthAsync(key), Is.Zero, "the call gave its slot back");

        var unused = limiter.Reserve(tenant)!;
        await WaitForHoldersAsync(key, 1);
        await unused.DisposeAsync();
        Assert.That(await db.SortedSetLengthAsync(key), Is.Zero, "an unused reservation frees its slot");
    }

    [Test]
    public async Task A_reservation_at_a_full_cap_takes_nothing_and_the_call_waits_as_usual()
    {
        var (limiter, keys) = Limiter(cap: 1, lease: TimeSpan.FromSeconds(30));
        var key = keys.MailchimpConcurrency("us1:full");
        var tenant = TenantId.New();
        limiter.RememberAccount(tenant, "us1:full");
        var holder = await limiter.AcquireAsync("us1:full", CancellationToken.None);

        await using var reservation = limiter.Reserve(tenant)!;
        Assert.That(await reservation.TakeAsync("us1:full"), Is.Null);
        Assert.That((await Redis.GetDatabase().SortedSetRangeByRankAsync(key)).Select(v => v.ToString()), Is.EqualTo(new[] { holder.HolderId }));
        await holder.DisposeAsync();
    }

    private async Task WaitForHoldersAsync(RedisKey key, long count)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (await Redis.GetDatabase().SortedSetLengthAsync(key) != count)
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"never {count} holders");
            await Task.Delay(10);
        }
    }

    [Test]
    public async Task A_waiting_caller_honours_cancellation()
    {
        var (limiter, _) = Limiter(cap: 1, lease: TimeSpan.FromSeconds(30));
        await using var holder = await limiter.AcquireAsync("us1:cancel", CancellationToken.None);
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(150));

        Assert.That(async () => await limiter.AcquireAsync("us1:cancel", cancel.Token), Throws.InstanceOf<OperationCanceledException>());
    }

    [Test]
    public async Task A_long_call_renews_its_lease()
    {
        var (limiter, keys) = Limiter(cap: 1, lease: TimeSpan.FromSeconds(1));
        await using var holder = await limiter.AcquireAsync("us1:long", CancellationToken.None);

        await Task.Delay(TimeSpan.FromSeconds(2.5));

        Assert.That(await limiter.TryAcquireAsync(keys.MailchimpConcurrency("us1:long"), "other"), Is.False, "the holder renewed past its first lease");
    }

    private sealed class ManualClock(DateTimeOffset start) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = start;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
