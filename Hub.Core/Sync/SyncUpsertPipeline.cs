using System.Threading.Channels;
using Hub.Core.Mailchimp;
using Hub.Core.Members;

namespace Hub.Core.Sync;

/// <summary>
/// The upsert phase of a sync run. A planner runs ahead (a few chunks, so planning never holds up a free connection) while
/// this loop packs the planned members into batch subscribe calls of exactly <see cref="MailchimpBatchSubscribe.MaxMembers"/>
/// (a call may carry the end of one chunk and the start of the next) and keeps up to the account's cap in flight. A chunk is
/// recorded, with its checkpoint, once every call carrying its members has finished and every earlier chunk is recorded, so
/// a resumed job plans from the first chunk not yet recorded. The contacts a call created reach the ledger as soon as it
/// ends: with its chunks' record when those can be recorded at once (one script instead of two), else on their own through
/// <c>recordCreated</c>, so that a run resumed after a fault knows they exist and that Hub added them.
/// </summary>
internal sealed class SyncUpsertPipeline(
    Func<IReadOnlyList<PlannedUpsert>, CancellationToken, Task<LedgerBatch>> send,
    Func<SyncPlanChunk, LedgerBatch, CancellationToken, Task> record,
    Func<LedgerBatch, CancellationToken, Task> recordCreated,
    int parallelism)
{
    private readonly int _parallelism = parallelism;

    /// <summary>Sends and records the upsert chunks of <paramref name="plan"/>; returns its first removal chunk, or null when it has none.</summary>
    public async Task<SyncPlanChunk?> RunAsync(IAsyncEnumerable<SyncPlanChunk> plan, CancellationToken cancellationToken)
    {
        using var stopPlanning = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var planned = Channel.CreateBounded<SyncPlanChunk>(new BoundedChannelOptions(_parallelism) { SingleReader = true, SingleWriter = true });
        var planning = PlanUpsertsAheadAsync(plan, planned.Writer, stopPlanning.Token);
        try
        {
            return await UpsertPlannedAsync(planned.Reader, cancellationToken);
        }
        finally
        {
            await stopPlanning.CancelAsync();
            await planning;
        }
    }

    /// <summary>Plans the upsert chunks into <paramref name="writer"/>, ending with the first removal chunk (if any): removals are planned one at a time, after the upserts are recorded.</summary>
    private static async Task PlanUpsertsAheadAsync(IAsyncEnumerable<SyncPlanChunk> plan, ChannelWriter<SyncPlanChunk> writer, CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var chunk in plan.WithCancellation(cancellationToken))
            {
                await writer.WriteAsync(chunk, cancellationToken);
                if (chunk.Phase == SyncPhase.Remove)
                {
                    break;
                }
            }

            writer.TryComplete();
        }
        catch (Exception exception)
        {
            // Cancelled because the run ended (or failed): the reader has stopped listening.
            writer.TryComplete(exception);
        }
    }

    /// <summary>Sends and records the planned upsert chunks; returns the first removal chunk, or null when the plan has none.</summary>
    private async Task<SyncPlanChunk?> UpsertPlannedAsync(ChannelReader<SyncPlanChunk> planned, CancellationToken cancellationToken)
    {
        var unrecorded = new Queue<PlannedChunk>();
        var unsent = new List<(PlannedUpsert Upsert, PlannedChunk Chunk)>();
        var calls = new List<Task<LedgerBatch>>();
        var createdUnstored = new List<UpsertCall>(); // calls whose created contacts may not be in the ledger yet
        var allPlanned = false;
        SyncPlanChunk? firstRemoval = null;
        using var callsEnded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        try
        {
            while (true)
            {
                calls.RemoveAll(call => call.IsCompleted);

                // Take planned chunks until a full call's worth is waiting; block on the planner only when a connection is free.
                while (!allPlanned && unsent.Count < MailchimpBatchSubscribe.MaxMembers)
                {
                    if (!planned.TryRead(out var chunk))
                    {
                        if (calls.Count >= _parallelism)
                        {
                            break;
                        }

                        allPlanned = !await planned.WaitToReadAsync(cancellationToken);
                        continue;
                    }

                    if (chunk.Phase == SyncPhase.Remove)
                    {
                        (firstRemoval, allPlanned) = (chunk, true);
                        break;
                    }

                    var entry = new PlannedChunk(chunk);
                    unrecorded.Enqueue(entry);
                    unsent.AddRange(chunk.Upserts.Select(upsert => (upsert, entry)));
                }

                // Send full calls, and the remainder once everything is planned, while connections are free.
                while (calls.Count < _parallelism && (unsent.Count >= MailchimpBatchSubscribe.MaxMembers || (allPlanned && unsent.Count > 0)))
                {
                    var batch = unsent.GetRange(0, Math.Min(MailchimpBatchSubscribe.MaxMembers, unsent.Count));
                    unsent.RemoveRange(0, batch.Count);
                    var members = batch.Select(item => item.Upsert).DistinctBy(upsert => upsert.SubscriberHash).ToList();
                    var call = new UpsertCall(send(members, callsEnded.Token));
                    var first = true;
                    foreach (var carried in batch.GroupBy(item => item.Chunk))
                    {
                        carried.Key.Carried(call, carried.Count(), takesStrays: first);
                        call.Chunks.Add(carried.Key);
                        first = false;
                    }

                    calls.Add(call.Outcome);
                    createdUnstored.Add(call);
                }

                // Record finished chunks in plan order.
                while (unrecorded.TryPeek(out var head) && head.IsApplied)
                {
                    await record(head.Chunk, await head.ResultAsync(), cancellationToken);
                    unrecorded.Dequeue();
                    head.Recorded = true;
                }

                // A call whose chunks were all just recorded stored its created contacts with them; one whose chunk waits
                // (for an earlier chunk, or for another call carrying it) stores them now.
                await StoreCreatedOfEndedCallsAsync(createdUnstored, cancellationToken);

                if (allPlanned && unrecorded.Count == 0)
                {
                    return firstRemoval;
                }

                if (calls.Count >= _parallelism || allPlanned)
                {
                    await Task.WhenAny(calls);
                }
            }
        }
        catch
        {
            // The run is over (a 401, Mailchimp gone for too long, cancellation): stop the calls still in flight
            // and wait for every call whose chunk was not recorded, observing how it ended.
            await callsEnded.CancelAsync();
            foreach (var chunk in unrecorded)
            {
                await chunk.SettledAsync();
            }

            try
            {
                await StoreCreatedOfEndedCallsAsync(createdUnstored, CancellationToken.None);
            }
            catch (Exception)
            {
                // The run ends with its own error, which this must not replace. A store that cannot take this cannot take
                // the resumed run's records either; that run meets these contacts as existing and counts them, without
                // the mark that Hub added them.
            }

            throw;
        }
    }

    /// <summary>Stores the created contacts of each ended call whose chunks are not all recorded (<c>recordCreated</c> skips those already stored) and forgets every ended call.</summary>
    private async Task StoreCreatedOfEndedCallsAsync(List<UpsertCall> createdUnstored, CancellationToken cancellationToken)
    {
        foreach (var call in createdUnstored.Where(call => call.Outcome.IsCompleted).ToList())
        {
            if (call.Outcome.IsCompletedSuccessfully && !call.Chunks.TrueForAll(chunk => chunk.Recorded))
            {
                await recordCreated(call.Outcome.Result, cancellationToken);
            }

            createdUnstored.Remove(call);
        }
    }

    /// <summary>One batch subscribe call, and the chunks whose members it carries.</summary>
    private sealed record UpsertCall(Task<LedgerBatch> Outcome)
    {
        public List<PlannedChunk> Chunks { get; } = [];
    }

    /// <summary>A planned upsert chunk on its way: the calls carrying its members, and how many of them are not sent yet.</summary>
    private sealed class PlannedChunk(SyncPlanChunk chunk)
    {
        private readonly List<(UpsertCall Call, bool TakesStrays)> _calls = [];
        private int _unsent = chunk.Upserts.Count;

        public SyncPlanChunk Chunk { get; } = chunk;

        /// <summary>Recorded with its checkpoint (and with it the contacts its calls created).</summary>
        public bool Recorded { get; set; }

        public bool IsApplied => _unsent == 0 && _calls.TrueForAll(carrier => carrier.Call.Outcome.IsCompleted);

        /// <summary>
        /// <paramref name="call"/> carries <paramref name="members"/> of this chunk's members. The first chunk of
        /// a call also takes the call's errors that name none of the emails sent, so that no error goes unseen.
        /// </summary>
        public void Carried(UpsertCall call, int members, bool takesStrays)
        {
            _calls.Add((call, takesStrays));
            _unsent -= members;
        }

        /// <summary>This chunk's share of its calls' results (a call may also carry members of the chunks beside it).</summary>
        public async Task<LedgerBatch> ResultAsync()
        {
            var results = await Task.WhenAll(_calls.Select(carrier => carrier.Call.Outcome));
            var hashes = Chunk.Upserts.Select(upsert => upsert.SubscriberHash).ToHashSet(StringComparer.Ordinal);
            var emails = Chunk.Upserts.Select(upsert => upsert.Member.Email.ToLowerInvariant()).ToHashSet(StringComparer.Ordinal);
            return new LedgerBatch
            {
                Applied = [.. results.SelectMany(result => result.Applied).Where(member => hashes.Contains(member.SubscriberHash))],
                Refused = [.. results.SelectMany(result => result.Refused).Where(member => hashes.Contains(member.SubscriberHash))],
                Failed = [.. results.SelectMany(result => result.Failed).Where(error => emails.Contains(error.Email.ToLowerInvariant()))],
                Uncounted = [.. _calls.Zip(results).Where(pair => pair.First.TakesStrays).SelectMany(pair => pair.Second.Uncounted)],
            };
        }

        /// <summary>Waits for every call carrying this chunk, however it ends.</summary>
        public async Task SettledAsync() =>
            await ((Task)Task.WhenAll(_calls.Select(carrier => carrier.Call.Outcome))).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
    }
}
