using System.Text.Json;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Sync;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Hub.Tests.Mailchimp;

/// <summary>
/// How existing contacts are written, over real HTTP against the sandbox: in batches when they were read as subscribed,
/// and never re-subscribed when that read has gone stale.
/// </summary>
public class MemberBatchWriterTests : SandboxClientFixture
{
    [Test]
    public async Task A_contact_read_as_subscribed_that_unsubscribed_since_is_not_resubscribed_and_still_gets_its_fields()
    {
        var (credential, audience) = await AudienceAsync("Stale Shop", 2);
        // Both were subscribed when the run read the audience; then one unsubscribed.
        await Sandbox.SetMemberStatusAsync(audience, "c1@shop.test", "unsubscribed");
        var calls = new Calls(Client, credential, audience, subscribedAtRead: ["c0@shop.test", "c1@shop.test"]);

        var written = await MemberBatchWriter.WriteAsync(List(audience),
            [new MemberWrite(Member("c0@shop.test"), KnownToExist: true), new MemberWrite(Member("c1@shop.test"), KnownToExist: true)], calls, 2, default);

        var byEmail = written.Members.ToDictionary(member => member.Member.Email);
        var contacts = (await Sandbox.GetMembersAsync(audience)).ToDictionary(member => member.EmailAddress);
        Assert.Multiple(() =>
        {
            Assert.That(byEmail["c0@shop.test"].IsSuccess, Is.True);
            Assert.That(byEmail["c1@shop.test"].IsSuccess, Is.True, byEmail["c1@shop.test"].Error?.Detail);
            Assert.That(contacts["c0@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("New"));
            Assert.That(contacts["c1@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("New"));
            Assert.That(contacts["c1@shop.test"].Status, Is.EqualTo("unsubscribed"));
            Assert.That(calls.Puts, Is.EqualTo(1), "the batch refused c1 (compliance state); its fields went by PUT, which keeps its status");
        });
    }

    [Test]
    public async Task On_a_double_opt_in_list_an_existing_contact_goes_by_PUT_so_one_archived_since_the_read_comes_back_pending()
    {
        var (credential, audience) = await AudienceAsync("Opt-in Shop", 1);
        await Sandbox.SetMemberStatusAsync(audience, "c0@shop.test", "archived");
        var calls = new Calls(Client, credential, audience, subscribedAtRead: ["c0@shop.test"]);

        var written = await MemberBatchWriter.WriteAsync(List(audience) with { DefaultStatus = NewMemberStatus.Pending },
            [new MemberWrite(Member("c0@shop.test"), KnownToExist: true)], calls, 1, default);

        var contact = (await Sandbox.GetMembersAsync(audience)).Single(member => member.EmailAddress == "c0@shop.test");
        Assert.Multiple(() =>
        {
            Assert.That(written.Members.Single().IsSuccess, Is.True);
            Assert.That(contact.Status, Is.EqualTo("pending"), "re-added with the list's status, not the subscribed of a batch update");
            Assert.That(calls.Puts, Is.EqualTo(1));
        });
    }

    [Test]
    public async Task The_audience_is_read_once_and_only_when_cheaper_than_writing_contacts_one_by_one()
    {
        var (credential, audience) = await AudienceAsync("Directory Shop", 2_500);
        await Sandbox.SetMemberStatusAsync(audience, "c7@shop.test", "pending");
        await Sandbox.ResetCountersAsync();
        var directory = new AudienceDirectory(
            async (count, offset, token) => (await Client.GetMemberStatusesAsync(credential, audience, MailchimpMemberStatus.Subscribed, count, offset, token)).Value!,
            async token => (await Client.GetListAsync(credential, audience, token)).Value!.Stats!.MemberCount,
            parallelism: 2);
        string[] Hashes(params int[] numbers) => [.. numbers.Select(n => SubscriberHash.FromEmail($"c{n}@shop.test").Value)];

        // Reading 2,499 subscribed contacts costs 3 calls: two contacts are cheaper written one by one, two more tip it.
        var first = await directory.SubscribedAsync(Hashes(1, 2), default);
        var afterFirst = await Sandbox.GetCountersAsync();
        var second = await directory.SubscribedAsync(Hashes(3, 7), default);
        var third = await directory.SubscribedAsync(Hashes(2_400, 7), default);
        var counters = await Sandbox.GetCountersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(first, Is.Empty);
            Assert.That(afterFirst.Calls("GET members"), Is.Zero);
            Assert.That(second, Is.EquivalentTo(Hashes(3)), "the pending contact is not in it");
            Assert.That(third, Is.EquivalentTo(Hashes(2_400)));
            Assert.That(counters.Calls("GET list"), Is.EqualTo(1));
            Assert.That(counters.Calls("GET members"), Is.EqualTo(3), "read once");
        });
    }

    [Test]
    public async Task A_create_only_call_cancelled_once_it_has_answered_still_returns_what_it_created()
    {
        var (credential, audience) = await AudienceAsync("cancelled-after-create", 0);
        using var run = new CancellationTokenSource();
        // The run is cancelled (another chunk failed) just as the call's answer comes back: with nothing to write after it,
        // the writer must hand back what the call created, for the caller to record, not end as a cancelled task.
        var calls = new Calls(Client, credential, audience, subscribedAtRead: []) { AfterBatch = run.Cancel };

        var written = await MemberBatchWriter.WriteAsync(List(audience),
            [new MemberWrite(Member("new-0@shop.test"), KnownToExist: false), new MemberWrite(Member("new-1@shop.test"), KnownToExist: false)], calls, 2, run.Token);

        Assert.Multiple(() =>
        {
            Assert.That(written.Members.Select(member => (member.Member.Email, member.Created)), Is.EquivalentTo(new[] { ("new-0@shop.test", true), ("new-1@shop.test", true) }));
            Assert.That(written.CreatedRecorded, Is.False, "nothing followed the call, so recording is the caller's");
        });
    }

    private async Task<(MailchimpCredential Credential, string Audience)> AudienceAsync(string name, int contacts)
    {
        var key = await Sandbox.CreateAccountAsync(name);
        var credential = MailchimpTestKit.ApiKey(key);
        var audience = await Sandbox.CreateListAsync(key);
        for (var start = 0; start < contacts; start += MailchimpBatchSubscribe.MaxMembers)
        {
            var batch = Enumerable.Range(start, Math.Min(MailchimpBatchSubscribe.MaxMembers, contacts - start))
                .Select(i => new MailchimpBatchMember($"c{i}@shop.test", MailchimpMemberStatus.Subscribed)).ToList();
            Assert.That((await Client.BatchSubscribeAsync(credential, audience, new MailchimpBatchSubscribe(batch, UpdateExisting: false), default)).IsSuccess, Is.True);
        }

        return (credential, audience);
    }

    private static HostList List(string audience) => new() { Key = ListKey.Parse("stale"), Name = "Stale", Mode = ListMode.Audience, AudienceId = audience, CreatedAt = DateTimeOffset.UtcNow, UpdatedAt = DateTimeOffset.UtcNow };

    private static DesiredMember Member(string email) =>
        new() { Email = email, MergeFields = MergeFieldValues.From([new("FNAME", JsonDocument.Parse("\"New\"").RootElement)]) };

    /// <summary>Straight calls to the sandbox, with a read of the audience taken before the test changed it.</summary>
    private sealed class Calls(MailchimpClient client, MailchimpCredential credential, string audience, string[] subscribedAtRead) : IMemberCalls
    {
        public int Puts;

        public Action? AfterBatch { get; init; }

        public async Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(MailchimpBatchSubscribe batch, CancellationToken cancellationToken)
        {
            var result = await client.BatchSubscribeAsync(credential, audience, batch, cancellationToken);
            AfterBatch?.Invoke();
            return result;
        }

        public Task<MailchimpResult<MailchimpMember>> UpsertAsync(MailchimpMemberUpsert member, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref Puts);
            return client.UpsertMemberAsync(credential, audience, member, cancellationToken);
        }

        public Task<MailchimpResult> TagAsync(SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, CancellationToken cancellationToken) =>
            client.UpdateMemberTagsAsync(credential, audience, hash, tags, isSyncing: true, cancellationToken);

        public Task CreatedAsync(IReadOnlyList<DesiredMember> created, CancellationToken cancellationToken) => Task.CompletedTask;

        public Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken) =>
            Task.FromResult<IReadOnlySet<string>>(subscribedAtRead.Select(email => SubscriberHash.FromEmail(email).Value).Intersect(existing).ToHashSet());
    }
}
