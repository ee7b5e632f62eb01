using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text;
using Hub.Core.Security;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Hub.Tests.Webhooks;
using StackExchange.Redis;
using static Hub.Tests.Sync.SyncEnvironment;

namespace Hub.Tests.Sync;

/// <summary>The full-mirror sync end to end: Hub over real HTTP, the sandbox as Mailchimp, the real Redis.</summary>
[TestFixture]
public sealed class MirrorSyncTests() : EnvironmentFixture<SyncEnvironment>(() => SyncEnvironment.StartAsync())
{
    [SetUp]
    public async Task ResetSandboxAsync()
    {
        await _env.Sandbox.ClearFaultsAndLatencyAsync();
        await _env.Sandbox.ResetCountersAsync();
    }

    [Test]
    public async Task Sync_adds_updates_removes_and_leaves_unchanged_members_alone()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "customers");

        var first = await _env.SyncAsync(tenant, "customers", [Member("ann@shop.test", "Ann"), Member("bob@shop.test", "Bob"), Member("cat@shop.test", "Cat")]);
        AssertCounts(first, "succeeded", total: 3, added: 3);

        await _env.Sandbox.ResetCountersAsync();
        var second = await _env.SyncAsync(tenant, "customers", [Member("ann@shop.test", "Annie"), Member("bob@shop.test", "Bob"), Member("dan@shop.test", "Dan")]);
        AssertCounts(second, "succeeded", total: 4, added: 1, updated: 1, removed: 1, unchanged: 1);

        var members = await _env.AudienceAsync(audience);
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(members["ann@shop.test"].MergeFields["FNAME"]!.ToString(), Is.EqualTo("Annie"));
            Assert.That(members["bob@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["cat@shop.test"].Status, Is.EqualTo("archived"), "removed per the default policy (archive)");
            Assert.That(members["dan@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(counters.MembersCreated, Is.EqualTo(1), "dan");
            Assert.That(counters.MembersUpdated, Is.EqualTo(1), "only ann was sent again; bob is unchanged");
            Assert.That(counters.MembersArchived, Is.EqualTo(1), "cat");
        });

        await _env.Sandbox.ResetCountersAsync();
        var third = await _env.SyncAsync(tenant, "customers", [Member("ann@shop.test", "Annie"), Member("bob@shop.test", "Bob"), Member("dan@shop.test", "Dan")]);
        AssertCounts(third, "succeeded", total: 3, unchanged: 3);
        var idle = await _env.Sandbox.GetCountersAsync();
        Assert.That(idle.Calls.GetValueOrDefault("POST batch"), Is.Zero, "an unchanged set sends nothing");
        Assert.That(idle.MembersWritten, Is.Zero);

        var list = await _env.GetListAsync(tenant, "customers");
        Assert.That(list.GetProperty("memberCount").GetInt64(), Is.EqualTo(3));
    }

    [Test]
    public async Task A_set_a_little_larger_than_one_batch_subscribe_is_sent_in_two()
    {
        // A hash this small is scanned in one page whatever COUNT says, so the plan's one chunk holds all 510.
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "just-over");
        var job = await _env.SyncAsync(tenant, "just-over", Members("m", 510));

        AssertCounts(job, "succeeded", total: 510, added: 510);
        Assert.That(await _env.EmailsAsync(audience), Has.Count.EqualTo(510));
        Assert.That((await _env.Sandbox.GetCountersAsync()).Calls.GetValueOrDefault("POST batch"), Is.EqualTo(2));
    }

    [Test]
    public async Task Calls_carry_exactly_500_members_across_plan_chunks_and_each_member_is_counted_once()
    {
        // 2,000 members are planned in HSCAN pages of roughly 490: the calls still carry 500 each, so 4 calls, not 5.
        // Fake addresses spread over the pages are refused by Mailchimp and reported once, whatever call carried them.
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "packed");
        var desired = Members("p", 1_990);
        desired.AddRange(Enumerable.Range(0, 10).Select(i => Member($"fake.person{i}@shop.test")));

        var job = await _env.SyncAsync(tenant, "packed", desired);

        AssertCounts(job, "partially_succeeded", total: 2_000, added: 1_990, failed: 10);
        var errors = job.GetProperty("errors").EnumerateArray().Select(error => error.GetProperty("email").GetString()).ToList();
        Assert.That(errors, Is.EquivalentTo(Enumerable.Range(0, 10).Select(i => $"fake.person{i}@shop.test")));
        Assert.That(await _env.EmailsAsync(audience), Has.Count.EqualTo(1_990));
        Assert.That((await _env.Sandbox.GetCountersAsync()).Calls.GetValueOrDefault("POST batch"), Is.EqualTo(4));

        await _env.Sandbox.ResetCountersAsync();
        AssertCounts(await _env.SyncAsync(tenant, "packed", desired), "succeeded", total: 2_000, unchanged: 2_000);
        Assert.That((await _env.Sandbox.GetCountersAsync()).Calls.GetValueOrDefault("POST batch"), Is.Zero);
    }

    [Test]
    public async Task Refused_members_are_reported_and_not_sent_again_until_their_data_changes()
    {
        var (tenant, account) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "refusals");
        await _env.SyncAsync(tenant, "refusals", [Member("ann@shop.test")]);

        // Inside Mailchimp: ann unsubscribes; gone@ was erased for good before Hub ever sent it.
        await _env.Sandbox.SetMemberStatusAsync(audience, "ann@shop.test", "unsubscribed");
        using (var marketing = _env.Sandbox.Marketing(account))
        {
            var hash = Hub.Core.Mailchimp.SubscriberHash.FromEmail("gone@shop.test").Value;
            using var put = await marketing.PutAsJsonAsync($"lists/{audience}/members/{hash}", new { email_address = "gone@shop.test", status_if_new = "subscribed" });
            Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            using var erase = await marketing.PostAsync($"lists/{audience}/members/{hash}/actions/delete-permanent", null);
            Assert.That(erase.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        await _env.Sandbox.ResetCountersAsync();
        var desired = new List<object> { Member("ann@shop.test", "Ann"), Member("gone@shop.test"), Member("fake.person@shop.test"), Member("eve@shop.test") };
        var job = await _env.SyncAsync(tenant, "refusals", desired, "?reconcile=true");

        AssertCounts(job, "partially_succeeded", total: 4, added: 1, failed: 3);
        var errors = job.GetProperty("errors").EnumerateArray().Select(error => error.GetProperty("email").GetString()).ToList();
        Assert.That(errors, Is.EquivalentTo(new[] { "ann@shop.test", "gone@shop.test", "fake.person@shop.test" }));
        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(members["ann@shop.test"].Status, Is.EqualTo("unsubscribed"), "never re-subscribed");
            Assert.That(members.ContainsKey("gone@shop.test"), Is.False);
            Assert.That(members.ContainsKey("fake.person@shop.test"), Is.False);
            Assert.That(members["eve@shop.test"].Status, Is.EqualTo("subscribed"));
        });

        // Remembered: the same set sends none of them again.
        await _env.Sandbox.ResetCountersAsync();
        var again = await _env.SyncAsync(tenant, "refusals", desired);
        AssertCounts(again, "succeeded", total: 4, unchanged: 4);
        Assert.That((await _env.Sandbox.GetCountersAsync()).Calls.GetValueOrDefault("POST batch"), Is.Zero);

        // Until their data changes: the changed one is sent (and refused) once more, the others stay quiet.
        desired[2] = Member("fake.person@shop.test", "Faker");
        await _env.Sandbox.ResetCountersAsync();
        var changed = await _env.SyncAsync(tenant, "refusals", desired);
        AssertCounts(changed, "partially_succeeded", total: 4, unchanged: 3, failed: 1);
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.That(counters.Calls.GetValueOrDefault("POST batch"), Is.EqualTo(1));
        Assert.That(counters.MembersWritten, Is.Zero);
    }

    [Test]
    public async Task Sync_never_removes_members_hub_did_not_add()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "own");
        await _env.Sandbox.SetMemberStatusAsync(audience, "direct@shop.test", "subscribed");
        await _env.Sandbox.SetMemberStatusAsync(audience, "shared@shop.test", "subscribed");

        var first = await _env.SyncAsync(tenant, "own", [Member("ann@shop.test"), Member("shared@shop.test", "Shared")]);
        AssertCounts(first, "succeeded", total: 2, added: 2);

        var second = await _env.SyncAsync(tenant, "own", [Member("ann@shop.test")]);
        AssertCounts(second, "succeeded", total: 1, unchanged: 1);

        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(members["direct@shop.test"].Status, Is.EqualTo("subscribed"), "created in Mailchimp, never in a desired set");
            Assert.That(members["shared@shop.test"].Status, Is.EqualTo("subscribed"), "it existed before Hub synced it");
            Assert.That(members["ann@shop.test"].Status, Is.EqualTo("subscribed"));
        });

        // Hub removes what it added: an empty set (allowed on purpose) archives ann only.
        var emptied = await _env.SyncAsync(tenant, "own", [], "?allowEmpty=true");
        Assert.That(emptied.GetProperty("counts").GetProperty("removed").GetInt64(), Is.EqualTo(1));
        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(new[] { "direct@shop.test", "shared@shop.test" }));
    }

    [Test]
    public async Task Tag_mode_lists_sharing_an_audience_only_untag_a_member_the_other_list_holds()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "vip", mode: "tag", tag: "VIP");
        await _env.LinkTagAsync(tenant, "news", audience, "News");

        AssertCounts(await _env.SyncAsync(tenant, "vip", [Member("x@shop.test"), Member("y@shop.test")]), "succeeded", total: 2, added: 2);
        AssertCounts(await _env.SyncAsync(tenant, "news", [Member("y@shop.test"), Member("z@shop.test")]), "succeeded", total: 2, added: 2);
        var members = await _env.AudienceAsync(audience);
        Assert.That(members["y@shop.test"].Tags, Is.EquivalentTo(new[] { "VIP", "News" }));

        // y leaves VIP (the list that created it) but is still on News: only the VIP tag goes.
        var leaveVip = await _env.SyncAsync(tenant, "vip", [Member("x@shop.test")]);
        AssertCounts(leaveVip, "succeeded", total: 2, removed: 1, unchanged: 1);
        members = await _env.AudienceAsync(audience);
        Assert.That(members["y@shop.test"].Status, Is.EqualTo("subscribed"));
        Assert.That(members["y@shop.test"].Tags, Is.EqualTo(new[] { "News" }));

        // y leaves News too: News did not create y, so it is untagged and kept; z (created by News, on no other list) is untagged and archived.
        var leaveNews = await _env.SyncAsync(tenant, "news", [Member("w@shop.test")]);
        AssertCounts(leaveNews, "succeeded", total: 3, added: 1, removed: 2);
        members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(members["y@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["y@shop.test"].Tags, Is.Empty);
            Assert.That(members["z@shop.test"].Status, Is.EqualTo("archived"));
            Assert.That(members["z@shop.test"].Tags, Is.Empty);
            Assert.That(members["x@shop.test"].Tags, Is.EqualTo(new[] { "VIP" }));
            Assert.That(members["w@shop.test"].Tags, Is.EqualTo(new[] { "News" }));
        });
        Assert.That((await _env.GetListAsync(tenant, "news")).GetProperty("memberCount").GetInt64(), Is.EqualTo(1));
    }

    [Test]
    public async Task First_sync_of_an_existing_audience_records_unsubscribed_and_cleaned_contacts_and_never_resubscribes_them()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "existing");
        await _env.Sandbox.SetMemberStatusAsync(audience, "left@shop.test", "unsubscribed");
        await _env.Sandbox.SetMemberStatusAsync(audience, "bounced@shop.test", "cleaned");
        await _env.Sandbox.SetMemberStatusAsync(audience, "loyal@shop.test", "subscribed");

        await _env.Sandbox.ResetCountersAsync();
        var desired = new List<object> { Member("left@shop.test", "Left"), Member("bounced@shop.test", "Bounced"), Member("loyal@shop.test", "Loyal"), Member("new@shop.test", "New") };
        var job = await _env.SyncAsync(tenant, "existing", desired);

        AssertCounts(job, "partially_succeeded", total: 4, added: 2, failed: 2);
        var members = await _env.AudienceAsync(audience);
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(members["left@shop.test"].Status, Is.EqualTo("unsubscribed"));
            Assert.That(members["left@shop.test"].MergeFields.ContainsKey("FNAME"), Is.False, "not sent at all");
            Assert.That(members["bounced@shop.test"].Status, Is.EqualTo("cleaned"));
            Assert.That(members["loyal@shop.test"].MergeFields["FNAME"]!.ToString(), Is.EqualTo("Loyal"));
            Assert.That(members["new@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(counters.Calls.GetValueOrDefault("GET members"), Is.GreaterThanOrEqualTo(1), "the audience was read first");
            Assert.That(counters.MembersWritten, Is.EqualTo(2), "loyal updated, new created");
        });
        var refused = await RedisAsync().HashKeysAsync(_env.Hub.Keys.ListRefused(TenantId.Parse(tenant.Id), global::Hub.Core.Lists.ListKey.Parse("existing", null)));
        Assert.That(refused.Select(hash => hash.ToString()), Is.EquivalentTo(new[]
        {
            Hub.Core.Mailchimp.SubscriberHash.FromEmail("left@shop.test").Value, Hub.Core.Mailchimp.SubscriberHash.FromEmail("bounced@shop.test").Value,
        }));

        // The loyal contact existed before Hub: leaving the set does not archive it.
        var second = await _env.SyncAsync(tenant, "existing", desired.Take(2).Append(Member("new@shop.test", "New")));
        Assert.That(second.GetProperty("counts").GetProperty("removed").GetInt64(), Is.Zero);
        Assert.That((await _env.AudienceAsync(audience))["loyal@shop.test"].Status, Is.EqualTo("subscribed"));
    }

    [Test]
    public async Task Completion_webhook_arrives_signed_with_counts_and_the_job_url_and_the_list_records_its_last_sync()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        await _env.LinkNewAudienceAsync(tenant, "hooks");
        var jobId = await _env.StartMirrorAsync(tenant, "hooks", [Member("ann@shop.test"), Member("bob@shop.test"), Member("not an email")]);
        var job = await _env.WaitForJobAsync(tenant, jobId);

        var hook = await WaitForWebhookAsync(WebhookEvents.SyncCompleted, jobId);
        Assert.That(WebhookSignature.Verify(new Secret(tenant.WebhookSigningSecret), hook.Signature, hook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.True, hook.Signature);
        var data = JsonDocument.Parse(hook.Body).RootElement.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.GetProperty("jobUrl").GetString(), Is.EqualTo($"{_env.Hub.BaseUrl.ToString().TrimEnd('/')}/api/v1/jobs/{jobId}"));
            Assert.That(data.GetProperty("listKey").GetString(), Is.EqualTo("hooks"));
            Assert.That(data.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"));
            Assert.That(data.GetProperty("counts").GetProperty("total").GetInt64(), Is.EqualTo(3));
            Assert.That(data.GetProperty("counts").GetProperty("added").GetInt64(), Is.EqualTo(2));
            Assert.That(data.GetProperty("counts").GetProperty("failed").GetInt64(), Is.EqualTo(1));
        });

        var list = await _env.GetListAsync(tenant, "hooks");
        var lastSync = list.GetProperty("lastSync");
        Assert.Multiple(() =>
        {
            Assert.That(lastSync.GetProperty("jobId").GetString(), Is.EqualTo(jobId));
            Assert.That(lastSync.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"));
            Assert.That(lastSync.GetProperty("finishedAt").GetDateTimeOffset(), Is.EqualTo(job.GetProperty("finishedAt").GetDateTimeOffset()));
            Assert.That(list.GetProperty("memberCount").GetInt64(), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task A_queued_job_is_cancelled_at_once_and_a_running_one_at_its_next_checkpoint()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "cancel");
        await _env.Sandbox.SetLatencyAsync(TimeSpan.Zero, perMember: TimeSpan.FromMilliseconds(10));
        var running = await _env.StartMirrorAsync(tenant, "cancel", Members("r", 3000));
        await _env.WaitForJobAsync(tenant, running, job => job.GetProperty("state").GetString() == "running");
        var queued = await _env.StartMirrorAsync(tenant, "cancel", Members("q", 5));
        Assert.That((await _env.GetJobAsync(tenant, queued)).GetProperty("state").GetString(), Is.EqualTo("queued"));

        using var client = _env.Hub.Client(tenant.ApiKey);
        using (var cancelQueued = await client.PostAsync($"/api/v1/jobs/{queued}/cancel", null))
        {
            var body = await cancelQueued.JsonAsync();
            Assert.That(cancelQueued.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
            Assert.That(body.GetProperty("state").GetString(), Is.EqualTo("cancelled"));
        }

        using (var cancelRunning = await client.PostAsync($"/api/v1/jobs/{running}/cancel", null))
        {
            var body = await cancelRunning.JsonAsync();
            Assert.That(cancelRunning.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
            Assert.That(body.GetProperty("cancelRequested").GetBoolean(), Is.True);
        }

        var stopped = await _env.WaitForJobAsync(tenant, running);
        Assert.That(stopped.GetProperty("state").GetString(), Is.EqualTo("cancelled"));
        Assert.That(stopped.GetProperty("counts").GetProperty("added").GetInt64(), Is.LessThan(3000));
        await _env.Sandbox.SetLatencyAsync(TimeSpan.Zero);
        var members = await _env.AudienceAsync(audience);
        Assert.That(members.Keys.Any(email => email.StartsWith('q')), Is.False, "the cancelled queued job never ran");

        using var finished = await client.PostAsync($"/api/v1/jobs/{running}/cancel", null);
        await ProblemAssert.IsProblemAsync(finished, HttpStatusCode.Conflict, "job_finished");
    }

    [Test]
    public async Task A_newer_put_supersedes_a_queued_one_and_the_newest_set_wins()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "supersede");
        await _env.Sandbox.SetLatencyAsync(TimeSpan.Zero, perMember: TimeSpan.FromMilliseconds(5));
        var running = await _env.StartMirrorAsync(tenant, "supersede", Members("a", 600));
        await _env.WaitForJobAsync(tenant, running, job => job.GetProperty("state").GetString() == "running");
        var middle = await _env.StartMirrorAsync(tenant, "supersede", Members("b", 5));

        using var newest = await _env.MirrorAsync(tenant, "supersede", Members("c", 7));
        var accepted = await newest.JsonAsync();
        Assert.That(newest.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());
        Assert.That(accepted.GetProperty("superseded").GetString(), Is.EqualTo(middle));
        var newestId = accepted.GetProperty("jobId").GetString()!;

        var replaced = await _env.GetJobAsync(tenant, middle);
        Assert.That(replaced.GetProperty("state").GetString(), Is.EqualTo("cancelled"));
        Assert.That(replaced.GetProperty("supersededBy").GetString(), Is.EqualTo(newestId));

        await _env.Sandbox.SetLatencyAsync(TimeSpan.Zero);
        Assert.That((await _env.WaitForJobAsync(tenant, running)).GetProperty("state").GetString(), Is.EqualTo("succeeded"));
        var last = await _env.WaitForJobAsync(tenant, newestId);
        AssertCounts(last, "succeeded", total: 607, added: 7, removed: 600);
        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(Enumerable.Range(0, 7).Select(i => $"c{i}@shop.test").Order(StringComparer.Ordinal)));
    }

    [Test]
    public async Task Injected_429s_and_500s_still_converge_to_the_desired_set()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "faults");
        AssertCounts(await _env.SyncAsync(tenant, "faults", Members("old", 800)), "succeeded", total: 800, added: 800);

        await _env.Sandbox.InjectFaultAsync("*", "429", share: 0.2);
        await _env.Sandbox.InjectFaultAsync("*", "500", share: 0.05);
        var desired = Members("old", 600, firstName: "Changed").Concat(Members("new", 700)).ToList();
        var job = await _env.SyncAsync(tenant, "faults", desired);
        var counters = await _env.Sandbox.GetCountersAsync();
        await _env.Sandbox.ClearFaultsAsync();

        Assert.That(counters.FaultsInjected, Is.GreaterThan(0));
        AssertCounts(job, "succeeded", total: 1500, added: 700, updated: 600, removed: 200);
        var expected = desired.Select(member => JsonSerializer.SerializeToElement(member).GetProperty("email").GetString()!).Order(StringComparer.Ordinal).ToList();
        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(expected));
        Assert.That(await _env.EmailsAsync(audience, "archived"), Has.Count.EqualTo(200));
        var members = await _env.AudienceAsync(audience);
        Assert.That(members["old599@shop.test"].MergeFields["FNAME"]!.ToString(), Is.EqualTo("Changed"));
    }

    [TestCase(false)]
    [TestCase(true)]
    public async Task A_set_over_one_MiB_is_accepted_whole(bool chunked)
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "big");
        var members = Members("big", 8_000, firstName: new string('n', 100));
        var body = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(members));
        Assert.That(body, Has.Length.GreaterThan(1024 * 1024), "the other endpoints' limit");

        using var client = _env.Hub.Client(tenant.ApiKey);
        using HttpContent content = chunked ? new StreamContent(new MemoryStream(body)) : new ByteArrayContent(body);
        content.Headers.ContentType = new("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/v1/lists/big/members") { Content = content };
        request.Headers.TransferEncodingChunked = chunked;
        using var response = await client.SendAsync(request);
        var accepted = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());
        var job = await _env.WaitForJobAsync(tenant, accepted.GetProperty("jobId").GetString()!);

        AssertCounts(job, "succeeded", total: 8_000, added: 8_000);
        Assert.That(await _env.EmailsAsync(audience), Has.Count.EqualTo(8_000));
    }

    [Test]
    public async Task A_large_batch_becomes_a_job_and_ends_with_the_right_members()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "batch");
        await _env.SyncAsync(tenant, "batch", Members("keep", 10));

        using var client = _env.Hub.Client(tenant.ApiKey);
        using var response = await client.PostAsJsonAsync("/api/v1/lists/batch/members/batch", new
        {
            add = Members("add", 250),
            remove = Enumerable.Range(0, 4).Select(i => $"keep{i}@shop.test").ToList(),
        });
        var body = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), body.ToString());
        var job = await _env.WaitForJobAsync(tenant, body.GetProperty("jobId").GetString()!);

        AssertCounts(job, "succeeded", total: 254, added: 250, removed: 4);
        var expected = Enumerable.Range(0, 250).Select(i => $"add{i}@shop.test").Concat(Enumerable.Range(4, 6).Select(i => $"keep{i}@shop.test")).Order(StringComparer.Ordinal);
        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(expected), "add-only: keep4..9 stay although the batch did not list them");
        Assert.That(await _env.EmailsAsync(audience, "archived"), Has.Count.EqualTo(4));
    }

    [Test]
    public async Task Duplicate_emails_are_synced_once_and_reported()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "dupes");
        var job = await _env.SyncAsync(tenant, "dupes", [Member("ann@shop.test", "First"), Member("bob@shop.test"), Member("ANN@shop.test", "Second")]);

        Assert.That(job.GetProperty("counts").GetProperty("total").GetInt64(), Is.EqualTo(2));
        Assert.That(job.GetProperty("counts").GetProperty("added").GetInt64(), Is.EqualTo(2));
        var error = job.GetProperty("errors").EnumerateArray().Single();
        Assert.That(error.GetProperty("email").GetString(), Is.EqualTo("ANN@shop.test"));
        Assert.That(error.GetProperty("reason").GetString(), Does.Contain("duplicate"));
        var members = await _env.AudienceAsync(audience);
        Assert.That(members, Has.Count.EqualTo(2));
        Assert.That(members["ann@shop.test"].MergeFields["FNAME"]!.ToString(), Is.EqualTo("First"), "the first row wins");
    }

    [Test]
    public async Task Invalid_emails_are_reported_per_member_and_the_rest_proceeds()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "invalid");
        const string body = "{\"email\":\"ann@shop.test\"}\n{\"email\":\"not-an-email\"}\n{\"email\":\"bob@shop.test\",\"vip\":\"yes\"}\n{\"email\":\"cat@shop.test\"}\n";
        using var response = await _env.SendMirrorAsync(tenant, "invalid", body, "application/x-ndjson");
        var accepted = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), accepted.ToString());
        var job = await _env.WaitForJobAsync(tenant, accepted.GetProperty("jobId").GetString()!);

        AssertCounts(job, "partially_succeeded", total: 4, added: 2, failed: 2);
        var errors = job.GetProperty("errors").EnumerateArray().ToList();
        Assert.That(errors.Select(error => error.GetProperty("reason").GetString()), Has.Some.Contains("Row 2").And.Some.Contains("Row 3"));
        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(new[] { "ann@shop.test", "cat@shop.test" }));
    }

    [TestCase("application/json", "[{\"email\":\"ann@shop.test\"},")]
    [TestCase("application/json", "{\"email\":\"ann@shop.test\"} {\"email\":")]
    [TestCase("application/x-ndjson", "{\"email\":\"ann@shop.test\"}\n{\"email\" \"bob@shop.test\"}\n")]
    public async Task A_body_that_is_not_json_or_ndjson_is_a_400_before_any_job_exists(string contentType, string body)
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        await _env.LinkNewAudienceAsync(tenant, "broken");
        await _env.Sandbox.ResetCountersAsync();

        using var response = await _env.SendMirrorAsync(tenant, "broken", body, contentType);
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_body");

        using var client = _env.Hub.Client(tenant.ApiKey);
        var jobs = await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs?limit=10");
        Assert.That(jobs.GetProperty("items").GetArrayLength(), Is.Zero);
        var staging = (await TestRedis.KeysAsync(RedisAsync().Multiplexer, _env.Hub.ShardPrefixOf(tenant.Id) + "job:")).Where(key => key.ToString().EndsWith(":desired", StringComparison.Ordinal));
        Assert.That(staging, Is.Empty, "no staged set remains");
        Assert.That((await _env.Sandbox.GetCountersAsync()).Calls.GetValueOrDefault("POST batch"), Is.Zero);
    }

    [Test]
    public async Task An_empty_set_for_a_list_with_members_is_refused_unless_allowed()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "empty");
        await _env.SyncAsync(tenant, "empty", [Member("ann@shop.test")]);

        using (var refused = await _env.SendMirrorAsync(tenant, "empty", "[]", "application/json"))
        {
            await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "empty_set_refused");
        }

        // Only invalid rows is empty too.
        using (var invalidOnly = await _env.SendMirrorAsync(tenant, "empty", "[{\"email\":\"nope\"}]", "application/json"))
        {
            await ProblemAssert.IsProblemAsync(invalidOnly, HttpStatusCode.BadRequest, "empty_set_refused");
        }

        Assert.That(await _env.EmailsAsync(audience), Is.EqualTo(new[] { "ann@shop.test" }));
        var staging = (await TestRedis.KeysAsync(RedisAsync().Multiplexer, _env.Hub.ShardPrefixOf(tenant.Id) + "job:")).Where(key => key.ToString().EndsWith(":desired", StringComparison.Ordinal));
        Assert.That(staging, Is.Empty);

        var emptied = await _env.SyncAsync(tenant, "empty", [], "?allowEmpty=true");
        AssertCounts(emptied, "succeeded", total: 1, removed: 1);
        Assert.That(await _env.EmailsAsync(audience, "archived"), Is.EqualTo(new[] { "ann@shop.test" }));
    }

    [Test]
    public async Task Bad_requests_get_the_right_status()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        await _env.LinkNewAudienceAsync(tenant, "known");

        using (var text = await _env.SendMirrorAsync(tenant, "known", "ann@shop.test", "text/plain"))
        {
            await ProblemAssert.IsProblemAsync(text, HttpStatusCode.UnsupportedMediaType, "unsupported_media_type");
        }

        using (var unknown = await _env.MirrorAsync(tenant, "unknown", [Member("ann@shop.test")]))
        {
            await ProblemAssert.IsProblemAsync(unknown, HttpStatusCode.NotFound, "list_not_found");
        }

        using (var illegal = await _env.MirrorAsync(tenant, "bad$key", [Member("ann@shop.test")]))
        {
            var problem = await ProblemAssert.IsProblemAsync(illegal, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("key", out _), Is.True, problem.ToString());
        }

        using var client = _env.Hub.Client(tenant.ApiKey);
        Assert.That((await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).GetProperty("items").GetArrayLength(), Is.Zero);
    }

    private IDatabase RedisAsync() => _env.Hub.Redis.GetDatabase();

    private async Task<ReceivedWebhook> WaitForWebhookAsync(string eventType, string jobId)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            if (_env.Receiver.Received.FirstOrDefault(hook => hook.EventType == eventType && hook.AnsweredStatus == 200 && hook.Body.Contains(jobId, StringComparison.Ordinal)) is { } found)
            {
                return found;
            }

            await Task.Delay(50);
        }

        Assert.Fail($"No {eventType} webhook for job {jobId}.");
        throw new InvalidOperationException();
    }

    [Test]
    public async Task A_sync_never_changes_an_existing_contacts_status_and_still_updates_its_fields_and_tags()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "consent");
        // Pat was on the audience before Hub, waiting to confirm (double opt-in); Ann was added by Hub and then asked to
        // confirm again. Neither may become subscribed behind their back.
        await _env.Sandbox.SetMemberStatusAsync(audience, "pat@shop.test", "pending");
        AssertCounts(await _env.SyncAsync(tenant, "consent", [Member("ann@shop.test", "Ann")]), "succeeded", total: 1, added: 1);
        await _env.Sandbox.SetMemberStatusAsync(audience, "ann@shop.test", "pending");

        var job = await _env.SyncAsync(tenant, "consent",
            [Member("ann@shop.test", "Annie", ["vip"]), Member("pat@shop.test", "Pat", ["vip"]), Member("new@shop.test", "New")]);

        AssertCounts(job, "succeeded", total: 3, added: 2, updated: 1);
        var contacts = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(contacts["ann@shop.test"].Status, Is.EqualTo("pending"));
            Assert.That(contacts["ann@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("Annie"));
            Assert.That(contacts["ann@shop.test"].Tags, Does.Contain("vip"));
            Assert.That(contacts["pat@shop.test"].Status, Is.EqualTo("pending"));
            Assert.That(contacts["pat@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("Pat"));
            Assert.That(contacts["pat@shop.test"].Tags, Does.Contain("vip"));
            Assert.That(contacts["new@shop.test"].Status, Is.EqualTo("subscribed"));
        });
    }

    [Test]
    public async Task Existing_subscribed_contacts_are_updated_in_batches_and_the_others_one_by_one_without_a_status_change()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "resync");
        AssertCounts(await _env.SyncAsync(tenant, "resync", Members("m", 1_200)), "succeeded", total: 1_200, added: 1_200);
        await _env.Sandbox.SetMemberStatusAsync(audience, "m0@shop.test", "unsubscribed");
        await _env.Sandbox.SetMemberStatusAsync(audience, "m1@shop.test", "pending");
        await _env.Sandbox.SetMemberStatusAsync(audience, "m2@shop.test", "cleaned");
        await _env.Sandbox.ResetCountersAsync();

        var job = await _env.SyncAsync(tenant, "resync", Members("m", 1_200, firstName: "Changed"));

        AssertCounts(job, "succeeded", total: 1_200, updated: 1_200);
        var contacts = await _env.AudienceAsync(audience);
        var counters = await _env.Sandbox.GetCountersAsync();
        Assert.Multiple(() =>
        {
            Assert.That(contacts.Values.Count(contact => contact.MergeFields["FNAME"]?.ToString() == "Changed"), Is.EqualTo(1_200));
            Assert.That(contacts["m0@shop.test"].Status, Is.EqualTo("unsubscribed"));
            Assert.That(contacts["m1@shop.test"].Status, Is.EqualTo("pending"));
            Assert.That(contacts["m2@shop.test"].Status, Is.EqualTo("cleaned"));
            Assert.That(contacts.Values.Count(contact => contact.Status == "subscribed"), Is.EqualTo(1_197));
            // The audience is read once (its size, then two pages of statuses); the 1,197 subscribed contacts go out in
            // three batch calls, the three others each with its own PUT.
            Assert.That(counters.Calls.GetValueOrDefault("GET list"), Is.EqualTo(1), string.Join(", ", counters.Calls));
            Assert.That(counters.Calls.GetValueOrDefault("GET members"), Is.EqualTo(2), string.Join(", ", counters.Calls));
            Assert.That(counters.Calls.GetValueOrDefault("POST batch"), Is.EqualTo(3), string.Join(", ", counters.Calls));
            Assert.That(counters.Calls.GetValueOrDefault("PUT member"), Is.EqualTo(3), string.Join(", ", counters.Calls));
        });
    }

    [Test]
    public async Task A_row_that_is_not_readable_text_is_reported_and_the_rest_proceeds()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        await _env.LinkNewAudienceAsync(tenant, "text");
        // Half a surrogate pair parses as JSON but cannot be read as text (nor can invalid UTF-8).
        const string body = "{\"email\":\"ok@shop.test\"}\n{\"email\":\"odd@shop.test\",\"mergeFields\":{\"FNAME\":\"\\ud800\"}}\n";
        using var response = await _env.SendMirrorAsync(tenant, "text", body, "application/x-ndjson");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(System.Net.HttpStatusCode.Accepted), text);

        var job = await _env.WaitForJobAsync(tenant, JsonDocument.Parse(text).RootElement.GetProperty("jobId").GetString()!);

        AssertCounts(job, "partially_succeeded", total: 2, added: 1, failed: 1);
        Assert.That(job.GetProperty("errors")[0].GetProperty("reason").GetString(), Does.Contain("Not readable as text"));
    }

    internal static void AssertCounts(JsonElement job, string state, long total, long added = 0, long updated = 0, long removed = 0, long unchanged = 0, long failed = 0)
    {
        var counts = job.GetProperty("counts");
        var actual = (job.GetProperty("state").GetString(), counts.GetProperty("total").GetInt64(), counts.GetProperty("added").GetInt64(), counts.GetProperty("updated").GetInt64(),
            counts.GetProperty("removed").GetInt64(), counts.GetProperty("unchanged").GetInt64(), counts.GetProperty("failed").GetInt64());
        Assert.That(actual, Is.EqualTo((state, total, added, updated, removed, unchanged, failed)), job.ToString());
    }
}
