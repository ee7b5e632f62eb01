using Hub.Core.Lists;
using Hub.Core.Jobs;
using Hub.Core.Members;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Hub.Tests.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hub.Tests.Sync;

[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class SyncPlannerTests(string backend) : BackendFixture(backend)
{
    private static readonly ListKey List = ListKey.Parse("list-1");
    private IHost _host = null!;
    private readonly TenantId _tenant = TenantId.New();

    private MemberLedger Ledger => _host.Services.GetRequiredService<MemberLedger>();
    private SyncPlanner Planner => _host.Services.GetRequiredService<SyncPlanner>();
    private JobStore Jobs => _host.Services.GetRequiredService<JobStore>();

    [SetUp]
    public async Task Start() =>
        _host = await JobsTestKit.StartAsync(Backend.Connection, TestRedis.NewPrefix(), new() { ["Hub:Jobs:WorkerEnabled"] = "false" }, start: false);

    [TearDown]
    public void Stop() => _host.Dispose();

    private static DesiredMember Member(string email, string name = "x") =>
        new() { Email = email, MergeFields = MergeFieldValues.From([new("FNAME", System.Text.Json.JsonDocument.Parse($"\"{name}\"").RootElement)]) };

    private static AppliedMember Applied(DesiredMember member, bool createdByHub = true) => new(member.SubscriberHash, member.Fingerprint(), createdByHub);

    private async Task<StagedDesiredSet> StageAsync(params DesiredMember[] members)
    {
        var body = string.Join("\n", members.Select(member => member.ToJson()));
        var result = await _host.Services.GetRequiredService<DesiredSetReader>().StageAsync(_tenant, Hub.Core.Lists.ListKey.Parse("staged", null), new MemoryStream(System.Text.Encoding.UTF8.GetBytes(body)), DesiredSetFormat.Ndjson, default);
        return result.Staged!;
    }

    [Test]
    public async Task Plan_adds_new_updates_changed_skips_unchanged_and_removes_only_what_hub_added()
    {
        await Ledger.RecordAsync(_tenant, List, new LedgerBatch
        {
            Applied = [Applied(Member("same@example.com")), Applied(Member("changed@example.com", "old")), Applied(Member("gone@example.com")), Applied(Member("foreign@example.com"), createdByHub: false)],
            Refused =
            [
                new RefusedMember(Member("refused-same@example.com").SubscriberHash, Member("refused-same@example.com").Fingerprint(), new MemberError("refused-same@example.com", "compliance", false)),
                new RefusedMember(Member("refused-changed@example.com").SubscriberHash, Member("refused-changed@example.com", "old").Fingerprint(), new MemberError("refused-changed@example.com", "compliance", false)),
            ],
        }, default);
        var staged = await StageAsync(
            Member("SAME@example.com"), Member("changed@example.com", "new"), Member("refused-same@example.com"),
            Member("refused-changed@example.com"), Member("new@example.com"));

        var chunks = new List<SyncPlanChunk>();
        await foreach (var chunk in Planner.PlanAsync(staged.Id, _tenant, List, null, 100, default))
        {
            chunks.Add(chunk);
        }

        var upserts = chunks.SelectMany(chunk => chunk.Upserts).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(upserts.Select(upsert => (upsert.Member.Email, upsert.IsNew)),
                Is.EquivalentTo(new[] { ("changed@example.com", false), ("refused-changed@example.com", true), ("new@example.com", true) }));
            Assert.That(chunks.Sum(chunk => chunk.Unchanged), Is.EqualTo(1), "the email's case is not a change");
            Assert.That(chunks.SelectMany(chunk => chunk.RefusedUnchanged).Select(member => member.Email), Is.EqualTo(new[] { "refused-same@example.com" }));
            Assert.That(chunks.SelectMany(chunk => chunk.Removals).Distinct(), Is.EqualTo(new[] { Member("gone@example.com").SubscriberHash }), "foreign@ was not added by Hub (unrecorded removals show up again in the verification pass)");
            Assert.That(chunks[^1].IsLast, Is.True);
        });
    }

    [Test]
    public async Task A_first_sync_plan_has_no_removal_phase_and_resumes_where_it_stopped()
    {
        var members = Enumerable.Range(0, 1_200).Select(i => Member($"m{i}@example.com")).ToArray();
        var staged = await StageAsync(members);

        var chunks = new List<SyncPlanChunk>();
        await foreach (var chunk in Planner.PlanAsync(staged.Id, _tenant, List, SyncPlanner.FirstSyncStart, 500, default))
        {
            chunks.Add(chunk);
        }

        var resumed = new List<SyncPlanChunk>();
        await foreach (var chunk in Planner.PlanAsync(staged.Id, _tenant, List, chunks[1].Checkpoint, 500, default))
        {
            resumed.Add(chunk);
        }

        Assert.Multiple(() =>
        {
            Assert.That(chunks.Select(chunk => chunk.Phase), Is.All.EqualTo(SyncPhase.Upsert));
            Assert.That(chunks.SelectMany(chunk => chunk.Upserts).Select(upsert => upsert.Member.Email), Is.EquivalentTo(members.Select(member => member.Email)));
            Assert.That(chunks.Skip(1).Select(chunk => chunk.Checkpoint), Is.All.StartWith("i:").And.All.EndWith(":first"));
            Assert.That(chunks[^1].NextCheckpoint, Is.EqualTo(SyncPlanner.Done));
            Assert.That(resumed.SelectMany(chunk => chunk.Upserts).Select(upsert => upsert.Member.Email),
                Is.EquivalentTo(chunks.Skip(1).SelectMany(chunk => chunk.Upserts).Select(upsert => upsert.Member.Email)));
        });
    }

    [Test]
    public async Task Recording_the_same_batch_twice_changes_nothing()
    {
        var batch = new LedgerBatch
        {
            Applied = [Applied(Member("a@example.com")), Applied(Member("b@example.com", "new"))],
            Refused = [new RefusedMember(Member("c@example.com").SubscriberHash, Member("c@example.com").Fingerprint(), new MemberError("c@example.com", "fake", false))],
            Removed = [Member("d@example.com").SubscriberHash],
        };
        await Ledger.RecordAsync(_tenant, List, new LedgerBatch { Applied = [Applied(Member("b@example.com", "old")), Applied(Member("d@example.com"))] }, default);

        var first = await Ledger.RecordAsync(_tenant, List, batch, default);
        var again = await Ledger.RecordAsync(_tenant, List, batch, default);

        Assert.Multiple(async () =>
        {
            Assert.That(first, Is.EqualTo(new LedgerDelta(1, 1, 1, 1)));
            Assert.That(again, Is.EqualTo(new LedgerDelta(0, 0, 0, 0)));
            Assert.That(await Ledger.GetFingerprintAsync(_tenant, List, Member("b@example.com").SubscriberHash, default), Is.EqualTo(Member("b@example.com", "new").Fingerprint()));
            Assert.That(await Ledger.IsHubAddedAsync(_tenant, List, Member("d@example.com").SubscriberHash, default), Is.False);
            Assert.That(await Ledger.GetRefusedFingerprintAsync(_tenant, List, Member("c@example.com").SubscriberHash, default), Is.EqualTo(Member("c@example.com").Fingerprint()));
        });
    }

    [Test]
    public async Task Every_member_of_a_large_batch_is_stored_under_its_hash_at_its_fingerprint()
    {
        // Applied members reach the ledger script as bytes, and a list with a refused member converts them back to hex (past
        // the first few through a table, Members/Lua/ledger_entry.lua): each member, early or late in the batch, must read
        // back exactly as Hub computes it, or a re-sync would resend them all.
        var members = Enumerable.Range(0, 60).Select(i => Member($"m{i}@example.com", $"name {i}")).ToList();
        var refused = Member("m59@example.com", "refused before");
        await Ledger.RecordAsync(_tenant, List, new LedgerBatch
        {
            Refused = [new RefusedMember(refused.SubscriberHash, refused.Fingerprint(), new MemberError(refused.Email, "fake", false))],
        }, default);

        var delta = await Ledger.RecordAsync(_tenant, List, new LedgerBatch { Applied = [.. members.Select(member => Applied(member))] }, default);

        Assert.That(delta, Is.EqualTo(new LedgerDelta(60, 0, 0, 0)));
        foreach (var member in members)
        {
            Assert.That(await Ledger.GetFingerprintAsync(_tenant, List, member.SubscriberHash, default), Is.EqualTo(member.Fingerprint()), member.Email);
        }

        Assert.That(await Ledger.HoldsAsync(_tenant, List, [.. members.Select(member => member.SubscriberHash)], default), Is.All.True);
        Assert.That(await Ledger.GetRefusedFingerprintAsync(_tenant, List, refused.SubscriberHash, default), Is.Null, "applied now, so no longer refused");
    }

    [Test]
    public async Task A_batch_repeated_from_a_stale_checkpoint_is_refused_and_counts_once()
    {
        var (job, _) = await Jobs.EnqueueAsync(new JobRequest(_tenant, "sync", List.ToString()), default);
        var lease = (await Jobs.ClaimAsync(default))!;
        var batch = new LedgerBatch { Applied = [Applied(Member("a@example.com"))], Unchanged = 2 };
        using var stop = new CancellationTokenSource();
        var context = new JobContext(job, lease, Jobs, stop);

        await Ledger.RecordBatchAsync(context, batch, "u:17", default);
        // The same lease with the checkpoint it started from: the store holds a later one, so nothing is written and
        // the worker is told to continue from the stored checkpoint.
        var repeat = new JobContext(job, lease, Jobs, new CancellationTokenSource());
        Assert.ThrowsAsync<JobCheckpointMovedException>(() => Ledger.RecordBatchAsync(repeat, batch, "u:17", default));

        var read = await Jobs.GetAsync(job.Id, default);
        Assert.Multiple(() =>
        {
            Assert.That(context.Checkpoint, Is.EqualTo("u:17"));
            Assert.That(read!.Checkpoint, Is.EqualTo("u:17"));
            Assert.That(read.Counts, Is.EqualTo(new JobCounts(Added: 1, Unchanged: 2)));
        });
    }

    [Test]
    public async Task Reconciliation_marks_are_read_once_the_job_holds_one_and_a_job_marked_by_an_older_hub_still_never_sends_them()
    {
        var (unsubscribed, other) = (Member("unsubscribed@example.com"), Member("other@example.com"));
        var staged = await StageAsync(unsubscribed, other);
        var (job, _) = await Jobs.EnqueueAsync(new JobRequest(_tenant, "sync", List.ToString()) { Id = staged.Id }, default);
        var lease = (await Jobs.ClaimAsync(default))!;
        var context = new JobContext(job, lease, Jobs, new CancellationTokenSource());
        await Ledger.RecordBatchAsync(context, new LedgerBatch { Reconciled = [new ReconciledMember(unsubscribed.SubscriberHash, unsubscribed.Fingerprint(), "unsubscribed")] }, "i:0:0", default);

        var planned = await PlanAllAsync(staged.Id);
        Assert.Multiple(() =>
        {
            Assert.That(planned.SelectMany(chunk => chunk.ReconciledRefused).Select(refused => (refused.Member.Email, refused.Status)), Is.EqualTo(new[] { ("unsubscribed@example.com", "unsubscribed") }));
            Assert.That(planned.SelectMany(chunk => chunk.Upserts).Select(upsert => upsert.Member.Email), Is.EqualTo(new[] { "other@example.com" }));
        });

        // As an older Hub left it: the mark without the flag. The member is still refused at its fingerprint, so not sent.
        var input = _host.Services.GetRequiredService<Hub.Core.Storage.RedisKeys>().JobInput(_tenant, job.Id);
        await Backend.Connection.GetDatabase().HashDeleteAsync(input, DesiredSetChunks.ReconciledAny);
        var older = await PlanAllAsync(staged.Id);
        Assert.Multiple(() =>
        {
            Assert.That(older.SelectMany(chunk => chunk.ReconciledRefused), Is.Empty);
            Assert.That(older.SelectMany(chunk => chunk.RefusedUnchanged).Select(member => member.Email), Is.EqualTo(new[] { "unsubscribed@example.com" }));
            Assert.That(older.SelectMany(chunk => chunk.Upserts).Select(upsert => upsert.Member.Email), Is.EqualTo(new[] { "other@example.com" }));
        });
    }

    private async Task<List<SyncPlanChunk>> PlanAllAsync(JobId job)
    {
        var chunks = new List<SyncPlanChunk>();
        await foreach (var chunk in Planner.PlanAsync(job, _tenant, List, null, 100, default))
        {
            chunks.Add(chunk);
        }

        return chunks;
    }

    [Test]
    public async Task A_chunk_that_cannot_be_recorded_still_stores_the_contacts_its_call_created_and_counts_nothing()
    {
        var staged = await StageAsync(Member("lost@example.com"), Member("moved@example.com"), Member("updated@example.com"));
        var (job, _) = await Jobs.EnqueueAsync(new JobRequest(_tenant, "sync", List.ToString()) { Id = staged.Id }, default);
        var lease = (await Jobs.ClaimAsync(default))!;
        var context = new JobContext(job, lease, Jobs, new CancellationTokenSource());
        await Ledger.RecordBatchAsync(context, new LedgerBatch { Unchanged = 1 }, "u:1", default);

        // A worker whose lease is gone, then one planning from a checkpoint the store has moved past: neither records its chunk,
        // but the contacts their calls created exist, so both are stored as added by Hub and marked for the job's next plan.
        var stranger = new JobContext(job, lease with { Token = "not-the-lease" }, Jobs, new CancellationTokenSource());
        Assert.CatchAsync<OperationCanceledException>(() => Ledger.RecordBatchAsync(stranger, new LedgerBatch { Applied = [Applied(Member("lost@example.com"))] }, "u:2", default));
        var stale = new JobContext(job, lease, Jobs, new CancellationTokenSource());
        Assert.ThrowsAsync<JobCheckpointMovedException>(() => Ledger.RecordBatchAsync(stale, new LedgerBatch
        {
            Applied = [Applied(Member("moved@example.com")), Applied(Member("updated@example.com"), createdByHub: false)],
        }, "u:2", default));

        var read = await Jobs.GetAsync(job.Id, default);
        var marks = await Backend.Connection.GetDatabase().HashGetAsync(_host.Services.GetRequiredService<Hub.Core.Storage.RedisKeys>().JobInput(_tenant, job.Id),
            [DesiredSetChunks.Created(Member("lost@example.com").SubscriberHash), DesiredSetChunks.Created(Member("moved@example.com").SubscriberHash), DesiredSetChunks.Created(Member("updated@example.com").SubscriberHash)]);
        Assert.Multiple(async () =>
        {
            Assert.That(read!.Checkpoint, Is.EqualTo("u:1"));
            Assert.That(read.Counts, Is.EqualTo(new JobCounts(Unchanged: 1)), "nothing counted twice");
            Assert.That(await Ledger.IsHubAddedAsync(_tenant, List, Member("lost@example.com").SubscriberHash, default), Is.True);
            Assert.That(await Ledger.IsHubAddedAsync(_tenant, List, Member("moved@example.com").SubscriberHash, default), Is.True);
            Assert.That(await Ledger.HoldsAsync(_tenant, List, [Member("updated@example.com").SubscriberHash], default), Is.EqualTo(new[] { false }), "a contact the call did not create waits for its chunk");
            Assert.That(marks.Select(mark => (string?)mark), Is.EqualTo(new[] { Member("lost@example.com").Fingerprint(), Member("moved@example.com").Fingerprint(), null }));
        });
    }

    [Test]
    public async Task Each_member_counts_once_and_an_error_naming_no_member_counts_on_nobody()
    {
        var (job, _) = await Jobs.EnqueueAsync(new JobRequest(_tenant, "sync", List.ToString()), default);
        var lease = (await Jobs.ClaimAsync(default))!;
        var context = new JobContext(job, lease, Jobs, new CancellationTokenSource());
        var known = Member("known@example.com");
        await Ledger.RecordAsync(_tenant, List, new LedgerBatch { Applied = [Applied(known)] }, default);

        await Ledger.RecordBatchAsync(context, new LedgerBatch
        {
            // Already stored at this fingerprint and not created by this job (a facade call got there first): unchanged, not nothing.
            Applied = [Applied(known, createdByHub: false), Applied(Member("new@example.com"))],
            Removed = [Member("gone@example.com").SubscriberHash],
            AddsToTotal = 1,
            Failed = [new MemberError("bad@example.com", "invalid", false)],
            Uncounted = [new MemberError("someone-else@example.com", "Mailchimp named an address Hub did not send.", false)],
        }, "i:0:4", default);

        var read = (await Jobs.GetAsync(job.Tenant, job.Id, includeErrors: true, default))!;
        Assert.Multiple(() =>
        {
            // The removal was not in the ledger, but it is this job's outcome for that member all the same.
            Assert.That(read.Counts, Is.EqualTo(new JobCounts(Total: 1, Added: 1, Removed: 1, Unchanged: 1, Failed: 1)));
            Assert.That(read.ErrorTotal, Is.EqualTo(2));
            Assert.That(read.Errors.Select(error => error.Email), Is.EquivalentTo(new[] { "bad@example.com", "someone-else@example.com" }));
        });
    }

    [Test]
    public async Task A_contact_this_job_created_before_a_fault_counts_added_when_its_chunk_is_planned_again()
    {
        var created = Member("created@example.com");
        var staged = await StageAsync(created, Member("other@example.com"));
        var (job, _) = await Jobs.EnqueueAsync(new JobRequest(_tenant, "sync", List.ToString()) { Id = staged.Id }, default);
        var lease = (await Jobs.ClaimAsync(default))!;
        await Ledger.RecordAsync(_tenant, List, new LedgerBatch { Applied = [Applied(Member("other@example.com"), createdByHub: false)] }, default);

        // The call created the contact and recorded it at once; the chunk itself was never recorded (a fault, a lost lease).
        await Ledger.RecordCreatedAsync(lease, [Applied(created)], default);
        var chunks = new List<SyncPlanChunk>();
        await foreach (var chunk in Planner.PlanAsync(staged.Id, _tenant, List, null, 100, default))
        {
            chunks.Add(chunk);
        }

        var context = new JobContext((await Jobs.GetAsync(job.Id, default))!, lease, Jobs, new CancellationTokenSource());
        await Ledger.RecordBatchAsync(context, new LedgerBatch { Unchanged = chunks[0].Unchanged, AddedEarlier = chunks[0].AddedEarlier }, chunks[0].NextCheckpoint, default);

        Assert.Multiple(async () =>
        {
            Assert.That((await Jobs.GetAsync(job.Id, default))!.Counts, Is.EqualTo(new JobCounts(Added: 1, Unchanged: 1)), "the job's counts");
            Assert.That(chunks.SelectMany(chunk => chunk.Upserts), Is.Empty, "neither contact is sent again");
            Assert.That(chunks.Sum(chunk => chunk.AddedEarlier), Is.EqualTo(1), "the contact this job created counts added");
            Assert.That(chunks.Sum(chunk => chunk.Unchanged), Is.EqualTo(1), "the contact stored by someone else counts unchanged");
            Assert.That(await Ledger.IsHubAddedAsync(_tenant, List, created.SubscriberHash, default), Is.True);
        });
    }
}
