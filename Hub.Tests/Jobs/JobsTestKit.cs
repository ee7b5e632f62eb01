using System.Collections.Concurrent;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Members;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Jobs;

/// <summary>A generic host with only storage and jobs, on a store connection under one key prefix; several share a prefix to act as replicas.</summary>
public static class JobsTestKit
{
    /// <summary>A job by id alone, whichever tenant's shard it is in (tests only: Hub always knows a job's tenant).</summary>
    public static async Task<Job?> GetAsync(this JobStore store, JobId id, CancellationToken cancellationToken)
    {
        foreach (var shard in RedisKeys.AllShards)
        {
            if (await store.GetAsync(shard, id, includeErrors: true, cancellationToken) is { } job)
            {
                return job;
            }
        }

        return null;
    }

    public static async Task<IHost> StartAsync(IConnectionMultiplexer redis, string prefix, Dictionary<string, string?>? jobSettings = null, Action<IServiceCollection>? configure = null, bool start = true)
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.ClearProviders();
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hub:Jobs:LeaseDuration"] = "00:00:05",
            ["Hub:Jobs:RenewInterval"] = "00:00:00.500",
            ["Hub:Jobs:PollInterval"] = "00:00:00.050",
            ["Hub:Jobs:Concurrency"] = "1",
        });
        if (jobSettings is not null)
        {
            builder.Configuration.AddInMemoryCollection(jobSettings);
        }

        builder.Services.AddSingleton(redis);
        builder.Services.Configure<StorageOptions>(options => options.KeyPrefix = prefix);
        builder.Services.AddSingleton<RedisKeys>();
        // No StorageStartup here: the store is the test's, of the current layout.
        var layout = new StoreLayout();
        layout.MarkCurrent();
        builder.Services.AddSingleton(layout);
        builder.Services.AddHubJobs();
        // The sync's building blocks the job tests drive by hand (the ledger, the staged-set reader with the erased people it checks, and the planner).
        builder.Services.AddSingleton<MemberLedger>();
        builder.Services.AddSingleton(new SecretProtector(Options.Create(new EncryptionOptions { Keys = { ["k1"] = HubHostSettings.NewKey() }, ActiveKeyId = "k1" })));
        builder.Services.AddSingleton<TenantSecrets>();
        builder.Services.AddSingleton<ErasedPeople>();
        builder.Services.AddSingleton<DesiredSetReader>();
        builder.Services.AddSingleton<SyncPlanner>();
        configure?.Invoke(builder.Services);
        var host = builder.Build();
        if (start)
        {
            await host.StartAsync();
        }

        return host;
    }

    public static async Task<T> EventuallyAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var value = await read();
            if (done(value) || DateTime.UtcNow > deadline)
            {
                return value;
            }

            await Task.Delay(25);
        }
    }
}

/// <summary>Remembers every finished job it is told about.</summary>
public sealed class RecordingListener : IJobCompletionListener
{
    public ConcurrentQueue<Job> Finished { get; } = new();

    public Task OnJobFinishedAsync(Job job, CancellationToken cancellationToken)
    {
        Finished.Enqueue(job);
        return Task.CompletedTask;
    }
}

/// <summary>
/// Test double for the Mailchimp audience the real sync handler writes to (that handler lives elsewhere):
/// members by subscriber hash, how often each was sent, and emails it refuses like a compliance state.
/// </summary>
public sealed class FakeAudience
{
    public ConcurrentDictionary<string, DesiredMember> Members { get; } = new();
    public ConcurrentDictionary<string, int> Upserts { get; } = new();
    public ConcurrentDictionary<string, int> Removals { get; } = new();
    public HashSet<string> Refuses { get; } = new(StringComparer.OrdinalIgnoreCase);
}

/// <summary>Applies a sync plan to a <see cref="FakeAudience"/> chunk by chunk, recording each chunk in the ledger.</summary>
public sealed class FakeSyncHandler(SyncPlanner planner, MemberLedger ledger, FakeAudience audience) : IJobHandler
{
    public const string JobKind = "test.sync";

    public string Kind => JobKind;
    public int ChunkSize { get; set; } = 100;

    /// <summary>When set, the first run leaves the first planned member out (neither sent nor counted): a member lost on the way.</summary>
    public bool LosesAMemberOnce { get; set; }

    private int _runs;

    /// <summary>Called after each recorded chunk with the number of chunks this run recorded.</summary>
    public Func<int, CancellationToken, Task> AfterChunk { get; set; } = (_, _) => Task.CompletedTask;

    public async Task<JobOutcome> RunAsync(JobContext context, CancellationToken cancellationToken)
    {
        var job = context.Job;
        var chunks = 0;
        var losing = LosesAMemberOnce && Interlocked.Increment(ref _runs) == 1;
        await foreach (var chunk in planner.PlanAsync(job.Id, job.Tenant, ListKey.Parse(job.ListKey), context.Checkpoint, ChunkSize, cancellationToken))
        {
            var applied = new List<AppliedMember>();
            var refused = new List<RefusedMember>();
            foreach (var upsert in chunk.Upserts.Skip(losing && chunks == 0 ? 1 : 0))
            {
                if (audience.Refuses.Contains(upsert.Member.Email))
                {
                    refused.Add(new RefusedMember(upsert.SubscriberHash, upsert.Fingerprint, new MemberError(upsert.Member.Email, "Member is in a compliance state.", false)));
                    continue;
                }

                var created = !audience.Members.ContainsKey(upsert.SubscriberHash);
                audience.Members[upsert.SubscriberHash] = upsert.Member;
                audience.Upserts.AddOrUpdate(upsert.SubscriberHash, 1, (_, count) => count + 1);
                applied.Add(new AppliedMember(upsert.SubscriberHash, upsert.Fingerprint, created));
            }

            foreach (var hash in chunk.Removals)
            {
                audience.Members.TryRemove(hash, out _);
                audience.Removals.AddOrUpdate(hash, 1, (_, count) => count + 1);
            }

            await ledger.RecordBatchAsync(context, new LedgerBatch
            {
                Applied = applied,
                Refused = refused,
                Removed = chunk.Removals,
                AddsToTotal = chunk.Removals.Count,
                Unchanged = chunk.Unchanged,
                Failed = chunk.RefusedUnchanged.Select(member => new MemberError(member.Email, "Refused earlier and unchanged since; not sent again.", false)).ToList(),
            }, chunk.NextCheckpoint, cancellationToken);
            await AfterChunk(++chunks, cancellationToken);
        }

        return JobOutcome.Succeeded;
    }
}

/// <summary>A request body generated on the fly (never held whole in memory): a JSON array or NDJSON of members.</summary>
public sealed class GeneratedBodyStream(int rows, bool ndjson, Func<int, string>? row = null, Action<int>? onRow = null) : Stream
{
    private readonly Func<int, string> _row = row ?? (i => $$"""{"email":"member{{i}}@example.com","mergeFields":{"FNAME":"Member {{i}}"},"tags":["t{{i % 7}}"]}""");
    private byte[] _pending = [];
    private int _offset;
    private int _next;
    private bool _closed;

    public override int Read(byte[] buffer, int offset, int count)
    {
        while (_offset == _pending.Length)
        {
            if (!Produce())
            {
                return 0;
            }
        }

        var n = Math.Min(count, _pending.Length - _offset);
        Array.Copy(_pending, _offset, buffer, offset, n);
        _offset += n;
        return n;
    }

    private bool Produce()
    {
        string text;
        if (_next < rows)
        {
            onRow?.Invoke(_next);
            var separator = ndjson ? "\n" : _next == 0 ? "[" : ",";
            text = (ndjson ? "" : separator) + _row(_next) + (ndjson ? separator : "");
            _next++;
        }
        else if (!_closed)
        {
            _closed = true;
            text = ndjson ? "" : rows == 0 ? "[]" : "]";
        }
        else
        {
            return false;
        }

        _pending = System.Text.Encoding.UTF8.GetBytes(text);
        _offset = 0;
        return true;
    }

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
