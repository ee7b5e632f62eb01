using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Sync;

namespace Hub.Tests.Sync;

/// <summary>
/// When the upsert pipeline stores the contacts a call created: with the call's chunk when that chunk can be recorded as the
/// call ends (one ledger script), else on their own at once, and, when the run fails, before the failure leaves the run.
/// The calls are gated here, so the order in which they end is the test's.
/// </summary>
public class SyncUpsertPipelineTests
{
    private const int Chunks = 3;

    [Test]
    public async Task A_call_that_ends_in_plan_order_is_recorded_with_its_chunk_and_one_that_ends_early_stores_its_contacts_at_once()
    {
        var run = new GatedRun { GatedRecord = "u:1" };
        var running = run.Pipeline.RunAsync(Plan(), CancellationToken.None);
        await run.AllSentAsync();

        run.End(1); // chunk 1 waits for chunk 0
        Assert.That(await run.NextCreatedStoreAsync(), Is.EqualTo(1));
        run.End(0); // chunks 0 and 1 are recorded at once; chunk 1's record waits for the gate
        await run.RecordStarted.Task.WaitAsync(TimeSpan.FromSeconds(10));
        run.End(2); // ends while chunk 1 is being recorded: its chunk is next in line
        run.RecordGate.SetResult();

        Assert.That(await running, Is.Null);
        Assert.Multiple(() =>
        {
            Assert.That(run.Recorded, Is.EqualTo(new[] { "u:0", "u:1", "u:2" }), "chunks are recorded in plan order");
            Assert.That(run.CreatedStored, Is.EqualTo(new[] { 1 }), "only the call that ended before its chunk could be recorded stores its contacts alone");
        });
    }

    [Test]
    public async Task When_a_record_fails_the_calls_that_ended_store_their_contacts_before_the_run_ends()
    {
        var run = new GatedRun { GatedRecord = "u:0" };
        var running = run.Pipeline.RunAsync(Plan(), CancellationToken.None);
        await run.AllSentAsync();

        run.End(0);
        await run.RecordStarted.Task.WaitAsync(TimeSpan.FromSeconds(10)); // chunk 0's record is under way, and fails once call 1 has ended too
        run.End(1);
        run.RecordGate.SetException(new OperationCanceledException("the lease is lost"));

        Assert.CatchAsync<OperationCanceledException>(async () => await running);
        Assert.Multiple(() =>
        {
            Assert.That(run.Recorded, Is.Empty);
            // Call 0's contacts were stored by the failed record's script too (the ledger takes them twice alike); call 2 was
            // cut short and created nothing Hub knows of.
            Assert.That(run.CreatedStored, Is.EqualTo(new[] { 0, 1 }));
        });
    }

    private static async IAsyncEnumerable<SyncPlanChunk> Plan()
    {
        for (var chunk = 0; chunk < Chunks; chunk++)
        {
            var upserts = Enumerable.Range(0, MailchimpBatchSubscribe.MaxMembers).Select(i =>
            {
                var member = new DesiredMember { Email = $"m{chunk}-{i}@example.com" };
                return new PlannedUpsert(member, member.SubscriberHash, member.Fingerprint(), IsNew: true);
            }).ToList();
            yield return new SyncPlanChunk(SyncPhase.Upsert, $"u:{chunk}", $"u:{chunk + 1}", upserts, 0, [], []);
            await Task.Yield();
        }
    }

    /// <summary>A pipeline whose calls end when the test says, recording what it is asked to record.</summary>
    private sealed class GatedRun
    {
        private readonly List<TaskCompletionSource<LedgerBatch>> _calls = [];
        private readonly TaskCompletionSource _allSent = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private readonly SemaphoreSlim _createdStores = new(0);

        public GatedRun() => Pipeline = new SyncUpsertPipeline(SendAsync, RecordAsync, StoreCreatedAsync, parallelism: Chunks);

        public SyncUpsertPipeline Pipeline { get; }

        public List<string> Recorded { get; } = [];

        public List<int> CreatedStored { get; } = [];

        /// <summary>The checkpoint of the chunk whose record waits for <see cref="RecordGate"/> (and fails if the test fails the gate).</summary>
        public string? GatedRecord { get; init; }

        public TaskCompletionSource RecordStarted { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource RecordGate { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task AllSentAsync() => _allSent.Task.WaitAsync(TimeSpan.FromSeconds(10));

        /// <summary>Ends call <paramref name="number"/>: Mailchimp created every member it carried.</summary>
        public void End(int number) => _calls[number].SetResult(new LedgerBatch
        {
            Applied = [new AppliedMember($"call-{number}", "fingerprint", CreatedByHub: true)],
        });

        public async Task<int> NextCreatedStoreAsync()
        {
            Assert.That(await _createdStores.WaitAsync(TimeSpan.FromSeconds(10)), Is.True, "no call stored its created contacts");
            lock (CreatedStored)
            {
                return CreatedStored[^1];
            }
        }

        private Task<LedgerBatch> SendAsync(IReadOnlyList<PlannedUpsert> members, CancellationToken cancellationToken)
        {
            var call = new TaskCompletionSource<LedgerBatch>(TaskCreationOptions.RunContinuationsAsynchronously);
            cancellationToken.Register(() => call.TrySetCanceled(cancellationToken));
            _calls.Add(call);
            if (_calls.Count == Chunks)
            {
                _allSent.SetResult();
            }

            return call.Task;
        }

        private async Task RecordAsync(SyncPlanChunk chunk, LedgerBatch result, CancellationToken cancellationToken)
        {
            if (chunk.Checkpoint == GatedRecord)
            {
                RecordStarted.SetResult();
                await RecordGate.Task;
            }

            Recorded.Add(chunk.Checkpoint);
        }

        private Task StoreCreatedAsync(LedgerBatch call, CancellationToken cancellationToken)
        {
            lock (CreatedStored)
            {
                CreatedStored.Add(int.Parse(call.Applied[0].SubscriberHash["call-".Length..], System.Globalization.CultureInfo.InvariantCulture));
            }

            _createdStores.Release();
            return Task.CompletedTask;
        }
    }
}
