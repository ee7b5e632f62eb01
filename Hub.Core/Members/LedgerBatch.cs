using Hub.Core.Jobs;

namespace Hub.Core.Members;

/// <summary>A member Mailchimp accepted: its fingerprint as sent, and whether Hub created it there (only those Hub removes later).</summary>
public sealed record AppliedMember(string SubscriberHash, string Fingerprint, bool CreatedByHub);

/// <summary>A member Mailchimp refused for good (compliance state, forgotten, fake): not sent again until its fingerprint changes.</summary>
public sealed record RefusedMember(string SubscriberHash, string Fingerprint, MemberError Error);

/// <summary>A member of a job's desired set that Mailchimp holds as unsubscribed or cleaned: Hub leaves it as it is.</summary>
public sealed record ReconciledMember(string SubscriberHash, string Fingerprint, string Status);

/// <summary>What one list's records hold of a person: Hub synced it there, added it, had it refused, knows it by host ids, or saw its address change (from or to it).</summary>
public sealed record PersonInList(Lists.ListKey List, bool Synced, bool AddedByHub, bool Refused, IReadOnlyList<string> ExternalIds, bool Moved);

/// <summary>What applying one batch of a plan to Mailchimp did.</summary>
public sealed record LedgerBatch
{
    public IReadOnlyList<AppliedMember> Applied { get; init; } = [];
    public IReadOnlyList<RefusedMember> Refused { get; init; } = [];

    /// <summary>Subscriber hashes removed from the list (archived, unsubscribed or deleted per policy).</summary>
    public IReadOnlyList<string> Removed { get; init; } = [];

    /// <summary>Members that failed otherwise (a 400, retries exhausted, skipped as refused earlier); counted as failed.</summary>
    public IReadOnlyList<MemberError> Failed { get; init; } = [];

    public long Unchanged { get; init; }

    /// <summary>
    /// Members the plan found stored at their fingerprint by a call of this same job whose chunk was not recorded (a
    /// fault or a lost lease came between): not sent again, counted added (see <see cref="MemberLedger.RecordCreatedAsync"/>).
    /// </summary>
    public long AddedEarlier { get; init; }

    /// <summary>
    /// Errors that name no member of the batch (Mailchimp reported an address Hub did not send): stored with the job's
    /// errors so nothing goes unseen, but counted on nobody, so the counts still add up to the total.
    /// </summary>
    public IReadOnlyList<MemberError> Uncounted { get; init; } = [];

    /// <summary>
    /// Members a job's reconciliation found unsubscribed or cleaned in Mailchimp: recorded as refused and marked (with
    /// their status) in the job's staged set; counted as failed, with their error, when the plan reaches them.
    /// </summary>
    public IReadOnlyList<ReconciledMember> Reconciled { get; init; } = [];

    /// <summary>Members this batch adds to the job's total: removal candidates, which the staged total did not know of.</summary>
    public long AddsToTotal { get; init; }

    /// <summary>
    /// Whether the <see cref="Applied"/> members Hub created are already in the ledger (<see cref="MemberLedger.RecordCreatedAsync"/>):
    /// the call that created them was followed by others. When false, a sync run records them with their chunk if it can
    /// record that at once, else on their own right away.
    /// </summary>
    public bool CreatedRecorded { get; init; }
}

/// <summary>What recording a batch changed in the list's ledger (zero for members already recorded).</summary>
public readonly record struct LedgerDelta(long Added, long Updated, long Removed, long Refused);
