using Hub.Core.Lists;
using Hub.Core.Mailchimp;

namespace Hub.Core.Members;

/// <summary>
/// The Mailchimp calls a <see cref="MemberBatchWriter"/> makes. <see cref="MemberCalls"/> is the one implementation Hub
/// uses (the facade and the sync job differ only in their <see cref="IMemberCallPolicy"/>); tests may bring their own.
/// </summary>
public interface IMemberCalls
{
    /// <summary>Batch subscribe; a failure of the whole call is the caller's to report or throw.</summary>
    Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(MailchimpBatchSubscribe batch, CancellationToken cancellationToken);

    Task<MailchimpResult<MailchimpMember>> UpsertAsync(MailchimpMemberUpsert member, CancellationToken cancellationToken);

    Task<MailchimpResult> TagAsync(SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, CancellationToken cancellationToken);

    /// <summary>
    /// Told at once of the contacts a create-only batch created, before anything else is sent: a sync job records them
    /// right away, so that a fault later in the same write cannot leave contacts Hub created unrecorded.
    /// </summary>
    Task CreatedAsync(IReadOnlyList<DesiredMember> created, CancellationToken cancellationToken);

    /// <summary>
    /// Of these existing contacts (subscriber hashes), those the caller has just read as subscribed in the audience (a sync
    /// run's <see cref="AudienceDirectory"/>); empty when it keeps no such read.
    /// </summary>
    Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken);
}

/// <summary>
/// How a caller treats Mailchimp's answers. Every member call Hub makes runs through one: the Mailchimp client has already
/// retried what it may (429, 5xx, timeouts, on idempotent calls); the policy only decides what a final failure means. The
/// facade's (<see cref="Direct"/>) hands it back to the caller; a sync run's ends the run on a 401 and pauses the job while
/// Mailchimp stays unavailable.
/// </summary>
public interface IMemberCallPolicy
{
    /// <summary>The facade's: every answer goes back to the caller as it is.</summary>
    static readonly IMemberCallPolicy Direct = new DirectPolicy();

    /// <summary>
    /// Makes one call. <paramref name="essential"/>: the caller cannot go on without its answer (a batch subscribe, a read of
    /// the audience), as opposed to a call about one member, whose failure is that member's.
    /// </summary>
    Task<TResult> RunAsync<TResult>(Func<CancellationToken, Task<TResult>> call, bool essential, CancellationToken cancellationToken)
        where TResult : IMailchimpOutcome;

    private sealed class DirectPolicy : IMemberCallPolicy
    {
        public Task<TResult> RunAsync<TResult>(Func<CancellationToken, Task<TResult>> call, bool essential, CancellationToken cancellationToken)
            where TResult : IMailchimpOutcome => call(cancellationToken);
    }
}

/// <summary>
/// Member calls on one audience with one credential, under one <see cref="IMemberCallPolicy"/>: the only way Hub's member code
/// reaches Mailchimp. A sync run adds <see cref="OnCreated"/> (it records created contacts at once) and a
/// <see cref="Directory"/> (its one read of the audience's subscribed contacts).
/// </summary>
public sealed class MemberCalls(MailchimpClient mailchimp, MailchimpCredential credential, HostList list, IMemberCallPolicy policy) : IMemberCalls
{
    public HostList List => list;

    public Func<IReadOnlyList<DesiredMember>, CancellationToken, Task>? OnCreated { get; init; }

    public AudienceDirectory? Directory { get; init; }

    /// <summary>The same calls, told of created contacts by <paramref name="onCreated"/>.</summary>
    public MemberCalls WithOnCreated(Func<IReadOnlyList<DesiredMember>, CancellationToken, Task> onCreated) =>
        new(mailchimp, credential, list, policy) { OnCreated = onCreated, Directory = Directory };

    public Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(MailchimpBatchSubscribe batch, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.BatchSubscribeAsync(credential, list.AudienceId, batch, token), essential: true, cancellationToken);

    public Task<MailchimpResult<MailchimpMember>> UpsertAsync(MailchimpMemberUpsert member, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.UpsertMemberAsync(credential, list.AudienceId, member, token), essential: false, cancellationToken);

    /// <summary>Create-only <c>POST /lists/{id}/members</c>: never retried, so that whether this call created the contact stays knowable.</summary>
    public Task<MailchimpResult<MailchimpMember>> CreateAsync(MailchimpMemberCreate member, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.CreateMemberAsync(credential, list.AudienceId, member, token), essential: false, cancellationToken);

    public Task<MailchimpResult> TagAsync(SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.UpdateMemberTagsAsync(credential, list.AudienceId, hash, tags, isSyncing: true, token), essential: false, cancellationToken);

    public Task<MailchimpResult<MailchimpMember>> GetAsync(SubscriberHash hash, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.GetMemberAsync(credential, list.AudienceId, hash, token), essential: false, cancellationToken);

    /// <summary>Changes the contact's address (its status and history stay with it); 404 when the old address is not in the audience.</summary>
    public Task<MailchimpResult<MailchimpMember>> ChangeEmailAsync(SubscriberHash oldHash, string newEmail, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.ChangeMemberEmailAsync(credential, list.AudienceId, oldHash, newEmail, token), essential: false, cancellationToken);

    public Task<MailchimpResult> ArchiveAsync(SubscriberHash hash, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.ArchiveMemberAsync(credential, list.AudienceId, hash, token), essential: false, cancellationToken);

    public Task<MailchimpResult> DeletePermanentlyAsync(SubscriberHash hash, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.DeleteMemberPermanentlyAsync(credential, list.AudienceId, hash, token), essential: false, cancellationToken);

    /// <summary>A page of the audience's contacts (all statuses).</summary>
    public Task<MailchimpResult<MailchimpMemberPage>> PageAsync(int count, int offset, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.GetMembersAsync(credential, list.AudienceId, count, offset, null, token), essential: true, cancellationToken);

    /// <summary>A page of the audience's contacts of one status, with only their address and status.</summary>
    public Task<MailchimpResult<MailchimpMemberStatusPage>> StatusPageAsync(string status, int count, int offset, CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.GetMemberStatusesAsync(credential, list.AudienceId, status, count, offset, token), essential: true, cancellationToken);

    /// <summary>The audience itself (its stats hold the member count).</summary>
    public Task<MailchimpResult<MailchimpList>> AudienceAsync(CancellationToken cancellationToken) =>
        policy.RunAsync(token => mailchimp.GetListAsync(credential, list.AudienceId, token), essential: true, cancellationToken);

    public Task CreatedAsync(IReadOnlyList<DesiredMember> created, CancellationToken cancellationToken) =>
        OnCreated?.Invoke(created, cancellationToken) ?? Task.CompletedTask;

    public Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken) =>
        Directory?.SubscribedAsync(existing, cancellationToken) ?? Task.FromResult<IReadOnlySet<string>>(new HashSet<string>());
}
