using Hub.Core.Mailchimp;
using Hub.Core.Storage;
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
[TestFixture("redis")]
[TestFixture("garnet")]
public class MailchimpConcurrencyLimiterTests(string backend)
{
    private EmbeddedGarnetServer? _garnet;
    private string _garnetDirectory = "";
    private IConnectionMultiplexer _redis = null!;

    [OneTimeSetUp]
    public async Task StartBackend()
    {
        if (backend == "redis")
        {
            _redis = await TestRedis.ConnectAsync();
            return;
        }

        _garnetDirectory = Path.Combine(Path.GetTempPath(), "hub-garnet-" + Guid.NewGuid().ToString("N"));
        _garnet = EmbeddedGarnetServer.Start(_garnetDirectory, 0, NullLoggerFactory.Instance);
        _redis = await ConnectionMultiplexer.ConnectAsync(_garnet.ConnectionString);
    }

    [OneTimeTearDown]
    public async Task StopBackend()
    {
        if (_garnet is not null)
        {
            await _redis.DisposeAsync();
            _garnet.Dispose();
            try
            {
                Directory.Delete(_garnetDirectory, recursive: true);
            }
            catch (IOException)
            {
                // Garnet may still hold a file for a moment; the temp folder is cleaned eventually.
            }
        }
    }

    private (MailchimpConcurrencyLimiter Limiter, RedisKeys Keys) Limiter(int cap, TimeSpan lease, TimeProvider? time = null)
    {
        var keys = new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() }));
        var options = Options.Create(new MailchimpOptions { MaxConcurrentCallsPerAccount = cap, ConcurrencyLeaseDuration = lease });
        return (new MailchimpConcurrencyLimiter(_redis, keys, options, time ?? TimeProvider.System, NullLogger<MailchimpConcurrencyLimiter>.Instance), keys);
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
        Assert.That((await _redis.GetDatabase().SortedSetRangeByRankAsync(key)).Select(v => v.ToString()), Is.EqualTo(new[] { "live" }));
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
