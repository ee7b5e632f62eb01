using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Mailchimp;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Hub.Tests.Mailchimp;

/// <summary>Each typed operation once, over real HTTP against the sandbox, with the cap on the real Redis.</summary>
public class MailchimpClientOperationsTests : SandboxClientFixture
{
    [Test]
    public async Task Ping_and_account_root_work_with_an_api_key_and_an_oauth_token()
    {
        var key = await Sandbox.CreateAccountAsync("Ping Shop", "us7", loginEmail: "owner@ping.test");
        var token = await Sandbox.IssueTokenAsync(key.AccountId);

        var ping = await Client.PingAsync(MailchimpTestKit.ApiKey(key), CancellationToken.None);
        var account = await Client.GetAccountAsync(MailchimpTestKit.OAuth(token), CancellationToken.None);

        Assert.That(ping.IsSuccess, Is.True, ping.ToString());
        Assert.That(ping.Value!.HealthStatus, Is.EqualTo("Everything's Chimpy!"));
        Assert.That(account.IsSuccess, Is.True, account.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(account.Value!.AccountId, Is.EqualTo(key.AccountId));
            Assert.That(account.Value.AccountName, Is.EqualTo("Ping Shop"));
            Assert.That(account.Value.Email, Is.EqualTo("owner@ping.test"));
            Assert.That(account.Value.LoginId, Is.Not.Empty);
        });
    }

    [Test]
    public async Task Lists_can_be_created_read_paged_updated_and_deleted()
    {
        var credential = MailchimpTestKit.ApiKey(await Sandbox.CreateAccountAsync("List Shop"));
        var ct = CancellationToken.None;

        var created = await Client.CreateListAsync(credential, MailchimpTestKit.NewList("First"), ct);
        Assert.That(created.IsSuccess, Is.True, created.ToString());
        var second = await Client.CreateListAsync(credential, MailchimpTestKit.NewList("Second"), ct);
        Assert.That(second.IsSuccess, Is.True, second.ToString());

        var page = await Client.GetListsAsync(credential, 1, 1, ct);
        var one = await Client.GetListAsync(credential, created.Value!.Id, ct);
        var updated = await Client.UpdateListAsync(credential, created.Value.Id, new MailchimpListUpdate(Name: "Renamed", DoubleOptin: true), ct);
        var deleted = await Client.DeleteListAsync(credential, second.Value!.Id, ct);
        var gone = await Client.GetListAsync(credential, second.Value.Id, ct);

        Assert.Multiple(() =>
        {
            Assert.That(page.Value!.TotalItems, Is.EqualTo(2));
            Assert.That(page.Value.Lists.Select(l => l.Name), Is.EqualTo(new[] { "Second" }));
            Assert.That(one.Value!.Name, Is.EqualTo("First"));
            Assert.That(one.Value.Contact.City, Is.EqualTo("Atlanta"));
            Assert.That(one.Value.CampaignDefaults.FromEmail, Is.EqualTo("shop@sandbox.test"));
            Assert.That(updated.Value!.Name, Is.EqualTo("Renamed"));
            Assert.That(updated.Value.DoubleOptin, Is.True);
            Assert.That(updated.Value.PermissionReminder, Is.EqualTo("You bought something from us."));
            Assert.That(deleted.IsSuccess, Is.True, deleted.ToString());
            Assert.That(gone.Error?.Code, Is.EqualTo(MailchimpErrorCodes.NotFound));
        });
    }

    [Test]
    public async Task Members_can_be_upserted_read_listed_tagged_archived_and_deleted_permanently()
    {
        var key = await Sandbox.CreateAccountAsync("Member Shop");
        var credential = MailchimpTestKit.ApiKey(key);
        var listId = await Sandbox.CreateListAsync(key);
        var ct = CancellationToken.None;

        var upserted = await Client.UpsertMemberAsync(credential, listId, new MailchimpMemberUpsert(
            "Ann@Shop.test", MailchimpMemberStatus.Subscribed, MergeFields: new() { ["FNAME"] = "Ann" }, Language: "de", Vip: true), ct);
        Assert.That(upserted.IsSuccess, Is.True, upserted.ToString());
        var hash = SubscriberHash.FromEmail("ann@shop.test");
        await Client.UpsertMemberAsync(credential, listId, new MailchimpMemberUpsert("bob@shop.test", MailchimpMemberStatus.Pending), ct);

        var tagged = await Client.UpdateMemberTagsAsync(credential, listId, hash, [MailchimpTagUpdate.Active("vip"), MailchimpTagUpdate.Active("buyer")], isSyncing: true, ct);
        var member = await Client.GetMemberAsync(credential, listId, hash, ct);
        var pending = await Client.GetMembersAsync(credential, listId, 10, 0, MailchimpMemberStatus.Pending, ct);
        var archived = await Client.ArchiveMemberAsync(credential, listId, hash, ct);
        var afterArchive = await Client.GetMemberAsync(credential, listId, hash, ct);
        var erased = await Client.DeleteMemberPermanentlyAsync(credential, listId, SubscriberHash.FromEmail("bob@shop.test"), ct);
        var archivedPage = await Client.GetMembersAsync(credential, listId, 10, 0, MailchimpMemberStatus.Archived, ct);
        var all = await Client.GetMembersAsync(credential, listId, 10, 0, null, ct);

        Assert.Multiple(() =>
        {
            Assert.That(upserted.Value!.Id, Is.EqualTo(hash.Value));
            Assert.That(upserted.Value.Status, Is.EqualTo("subscribed"));
            Assert.That(tagged.IsSuccess, Is.True, tagged.ToString());
            Assert.That(member.Value!.MergeFields!["FNAME"]!.GetValue<string>(), Is.EqualTo("Ann"));
            Assert.That(member.Value.Language, Is.EqualTo("de"));
            Assert.That(member.Value.Vip, Is.True);
            Assert.That(member.Value.Tags!.Select(t => t.Name), Is.EquivalentTo(new[] { "vip", "buyer" }));
            Assert.That(pending.Value!.Members.Select(m => m.EmailAddress), Is.EqualTo(new[] { "bob@shop.test" }));
            Assert.That(archived.IsSuccess, Is.True, archived.ToString());
            Assert.That(afterArchive.Value!.Status, Is.EqualTo("archived"));
            Assert.That(erased.IsSuccess, Is.True, erased.ToString());
            Assert.That(archivedPage.Value!.Members.Select(m => m.EmailAddress), Is.EqualTo(new[] { "Ann@Shop.test" }));
            Assert.That(all.Value!.Members.Select(m => m.EmailAddress), Does.Not.Contain("bob@shop.test"));
        });
    }

    [Test]
    public async Task Batch_subscribe_reports_new_updated_and_refused_members()
    {
        var key = await Sandbox.CreateAccountAsync("Batch Shop");
        var credential = MailchimpTestKit.ApiKey(key);
        var listId = await Sandbox.CreateListAsync(key);
        var ct = CancellationToken.None;
        await Client.UpsertMemberAsync(credential, listId, new MailchimpMemberUpsert("old@shop.test", MailchimpMemberStatus.Subscribed), ct);

        var upsert = await Client.BatchSubscribeAsync(credential, listId, new MailchimpBatchSubscribe(
        [
            new MailchimpBatchMember("new@shop.test", Status: "subscribed", Tags: ["import"]),
            new MailchimpBatchMember("old@shop.test", Status: "subscribed", MergeFields: new Dictionary<string, JsonElement> { ["FNAME"] = JsonSerializer.SerializeToElement("Old") }),
            new MailchimpBatchMember("fake@shop.test", Status: "subscribed"),
        ], UpdateExisting: true, SyncTags: true), ct);
        var createOnly = await Client.BatchSubscribeAsync(credential, listId, new MailchimpBatchSubscribe(
            [new MailchimpBatchMember("old@shop.test", Status: "subscribed")], UpdateExisting: false), ct);

        Assert.That(upsert.IsSuccess, Is.True, upsert.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(upsert.Value!.NewMembers.Select(m => m.EmailAddress), Is.EqualTo(new[] { "new@shop.test" }));
            Assert.That(upsert.Value.UpdatedMembers.Select(m => m.EmailAddress), Is.EqualTo(new[] { "old@shop.test" }));
            Assert.That(upsert.Value.Errors.Single().EmailAddress, Is.EqualTo("fake@shop.test"));
            Assert.That(upsert.Value.Errors.Single().ErrorCode, Is.EqualTo("ERROR_GENERIC"));
            Assert.That(upsert.Value.TotalCreated, Is.EqualTo(1));
            Assert.That(upsert.Value.TotalUpdated, Is.EqualTo(1));
            Assert.That(upsert.Value.ErrorCount, Is.EqualTo(1));
            Assert.That(createOnly.Value!.Errors.Single().ErrorCode, Is.EqualTo("ERROR_CONTACT_EXISTS"));
        });
        Assert.That(() => Client.BatchSubscribeAsync(credential, listId, new MailchimpBatchSubscribe(
                Enumerable.Range(0, 501).Select(i => new MailchimpBatchMember($"m{i}@shop.test", Status: "subscribed")).ToList(), true), ct),
            Throws.InstanceOf<ArgumentOutOfRangeException>());
    }

    [Test]
    public async Task Merge_fields_can_be_created_and_listed()
    {
        var key = await Sandbox.CreateAccountAsync("Field Shop");
        var credential = MailchimpTestKit.ApiKey(key);
        var listId = await Sandbox.CreateListAsync(key);

        var created = await Client.CreateMergeFieldAsync(credential, listId, new MailchimpMergeFieldCreate("Customer number", "number", Tag: "CUSTNO"), CancellationToken.None);
        var page = await Client.GetMergeFieldsAsync(credential, listId, 100, 0, CancellationToken.None);

        Assert.That(created.IsSuccess, Is.True, created.ToString());
        Assert.Multiple(() =>
        {
            Assert.That(created.Value!.Tag, Is.EqualTo("CUSTNO"));
            Assert.That(created.Value.Type, Is.EqualTo("number"));
            Assert.That(page.Value!.MergeFields.Select(f => f.Tag), Does.Contain("CUSTNO").And.Contain("FNAME"));
            Assert.That(page.Value.TotalItems, Is.EqualTo(page.Value.MergeFields.Count));
        });
    }

    [Test]
    public async Task Passthrough_streams_any_mailchimp_answer_and_frees_the_slot_on_dispose()
    {
        var key = await Sandbox.CreateAccountAsync("Raw Shop");
        var credential = MailchimpTestKit.ApiKey(key);
        var listId = await Sandbox.CreateListAsync(key);

        var ok = await Client.SendAsync(credential, new HttpRequestMessage(HttpMethod.Get, new Uri($"lists/{listId}?fields=id,name", UriKind.Relative)), CancellationToken.None);
        Assert.That(ok.IsSuccess, Is.True, ok.ToString());
        using (var response = ok.Value!)
        {
            var body = JsonNode.Parse(await response.Content.ReadAsStreamAsync())!;
            Assert.That((string?)body["id"], Is.EqualTo(listId));
        }

        var missing = await Client.SendAsync(credential, new HttpRequestMessage(HttpMethod.Get, new Uri("lists/nope", UriKind.Relative)), CancellationToken.None);
        using (var response = missing.Value!)
        {
            Assert.That((int)response.StatusCode, Is.EqualTo(404));
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        // Both responses are disposed, so the account holds no slot.
        await Task.Delay(100);
        var holders = await Redis.GetDatabase().SortedSetLengthAsync(Services.GetRequiredService<Hub.Core.Storage.RedisKeys>().MailchimpConcurrency(credential.AccountKey));
        Assert.That(holders, Is.Zero);
    }

    [Test]
    public void Subscriber_hash_is_md5_of_the_lowercased_email_and_parses_only_32_hex()
    {
        var hash = SubscriberHash.FromEmail(" Ann@Example.COM ");

        Assert.Multiple(() =>
        {
            Assert.That(hash.Value, Is.EqualTo(Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData("ann@example.com"u8.ToArray()))));
            Assert.That(SubscriberHash.Parse(hash.Value.ToUpperInvariant()), Is.EqualTo(hash));
            Assert.That(SubscriberHash.TryParse("ann@example.com", out _), Is.False);
            Assert.That(SubscriberHash.TryParse(new string('g', 32), out _), Is.False);
            Assert.That(() => SubscriberHash.Parse("abc"), Throws.InstanceOf<FormatException>());
        });
    }

    [TestCase("ann@example.com", true)]
    [TestCase("ann.lee+news@mail.example.co.uk", true)]
    [TestCase("o'brien@example.ie", true)]
    [TestCase("ann@xn--bcher-kva.example", true)]
    [TestCase("", false)]
    [TestCase("ann", false)]
    [TestCase("ann@", false)]
    [TestCase("@example.com", false)]
    [TestCase("ann@@example.com", false)]
    [TestCase("a@b@example.com", false)]
    [TestCase("ann lee@example.com", false)]
    [TestCase("ann@example", false)]
    [TestCase("ann@example.c", false)]
    [TestCase("ann@example.123", false)]
    [TestCase(".ann@example.com", false)]
    [TestCase("ann.@example.com", false)]
    [TestCase("ann..lee@example.com", false)]
    [TestCase("ann@-example.com", false)]
    [TestCase("ann@example..com", false)]
    [TestCase("\"ann\"@example.com", false)]
    [TestCase("ann(comment)@example.com", false)]
    public void Email_check_rejects_what_mailchimp_rejects_syntactically(string email, bool valid) =>
        Assert.That(MailchimpEmail.IsValid(email), Is.EqualTo(valid));
}
