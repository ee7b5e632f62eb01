using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;
using static Hub.Tests.Sync.MirrorSyncTests;
using static Hub.Tests.Sync.SyncEnvironment;

namespace Hub.Tests.Sync;

/// <summary>
/// Issue 15, part 1, through full syncs: a person the host keeps under its own id (<c>externalId</c>) keeps their Mailchimp
/// contact, status and history when their email changes, in audience and tag mode; conflicts are per-member errors and leave
/// the old contact as it was.
/// </summary>
[TestFixture]
public sealed class ExternalIdSyncTests() : EnvironmentFixture<SyncEnvironment>(() => SyncEnvironment.StartAsync())
{
    private static object Person(string email, string id, string? firstName = null) =>
        firstName is null ? new { email, externalId = id } : new { email, externalId = id, mergeFields = new Dictionary<string, string> { ["FNAME"] = firstName } };

    [Test]
    public async Task A_known_externalId_with_a_new_email_changes_the_contacts_address_and_it_keeps_its_status()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "crm");
        AssertCounts(await _env.SyncAsync(tenant, "crm", [Person("ann@shop.test", "c-1", "Ann"), Person("bob@shop.test", "c-2", "Bob"), Person("cy@shop.test", "c-3")]),
            "succeeded", total: 3, added: 3);
        await _env.Sandbox.SetMemberStatusAsync(audience, "bob@shop.test", "unsubscribed");

        var job = await _env.SyncAsync(tenant, "crm", [Person("ann.new@shop.test", "c-1", "Ann"), Person("bob.new@shop.test", "c-2", "Bob"), Person("cy@shop.test", "c-3")]);
        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
            Assert.That(job.GetProperty("counts").GetProperty("removed").GetInt64(), Is.Zero, "nobody archived");
            Assert.That(job.GetProperty("counts").GetProperty("added").GetInt64(), Is.Zero, "nobody created");
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "ann.new@shop.test", "bob.new@shop.test", "cy@shop.test" }), "one contact per person");
            Assert.That(members["ann.new@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["bob.new@shop.test"].Status, Is.EqualTo("unsubscribed"), "an unsubscribe stays with the person");
            Assert.That(members["ann.new@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("Ann"));
        });

        // The next sync of the same set changes nothing.
        await _env.Sandbox.ResetCountersAsync();
        var again = await _env.SyncAsync(tenant, "crm", [Person("ann.new@shop.test", "c-1", "Ann"), Person("bob.new@shop.test", "c-2", "Bob"), Person("cy@shop.test", "c-3")]);
        AssertCounts(again, "succeeded", total: 3, unchanged: 3);
        Assert.That((await _env.Sandbox.GetCountersAsync()).MembersWritten, Is.Zero);
    }

    [Test]
    public async Task A_new_address_that_is_another_contact_is_email_in_use_and_the_old_contact_stays()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "conflict");
        await _env.SyncAsync(tenant, "conflict", [Person("dee@shop.test", "p-1", "Dee"), Member("eve@shop.test", "Eve")]);

        // p-1 claims eve's address: changing dee's contact to it would merge two people.
        var job = await _env.SyncAsync(tenant, "conflict", [Person("eve@shop.test", "p-1", "Dee")]);
        var members = await _env.AudienceAsync(audience);
        var error = job.GetProperty("errors").EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"), job.ToString());
            Assert.That(error.GetProperty("email").GetString(), Is.EqualTo("eve@shop.test"));
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("email_in_use"));
            Assert.That(members["dee@shop.test"].Status, Is.EqualTo("subscribed"), "the old contact is neither changed nor archived");
            Assert.That(members["eve@shop.test"].Status, Is.EqualTo("subscribed"));
            Assert.That(members["eve@shop.test"].MergeFields["FNAME"]?.ToString(), Is.EqualTo("Eve"), "the other person's contact is not written with dee's data");
        });
    }

    [Test]
    public async Task Two_rows_with_the_same_externalId_are_reported_and_the_first_wins()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "twice");
        var job = await _env.SyncAsync(tenant, "twice", [Person("fay@shop.test", "x-1"), Person("gus@shop.test", "x-1")]);
        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "fay@shop.test" }));
            Assert.That(job.GetProperty("errors").EnumerateArray().Select(error => error.GetProperty("email").GetString() + ": " + error.GetProperty("reason").GetString()),
                Has.Some.StartsWith("gus@shop.test: Row 2: an earlier row has the same externalId"));
        });
    }

    [Test]
    public async Task In_tag_mode_and_in_the_other_lists_of_the_audience_the_person_keeps_their_contact()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "members", mode: "tag", tag: "member");
        await _env.LinkTagAsync(tenant, "vip", audience, "vip");
        await _env.SyncAsync(tenant, "members", [Person("hal@shop.test", "m-1", "Hal")]);
        await _env.SyncAsync(tenant, "vip", [Person("hal@shop.test", "m-1")]);

        var job = await _env.SyncAsync(tenant, "vip", [Person("hal.new@shop.test", "m-1")]);
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "hal.new@shop.test" }));
            Assert.That(members["hal.new@shop.test"].Tags, Is.SupersetOf(new[] { "member", "vip" }));
        });

        // The other list still lists the old address: it is written as the new one, neither re-added nor archived.
        var other = await _env.SyncAsync(tenant, "members", [Person("hal@shop.test", "m-1", "Hal")]);
        members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(other.GetProperty("counts").GetProperty("removed").GetInt64(), Is.Zero, other.ToString());
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "hal.new@shop.test" }));
            Assert.That(members["hal.new@shop.test"].Status, Is.EqualTo("subscribed"));
        });
    }

    [Test]
    public async Task A_change_Mailchimp_made_but_Hub_did_not_record_is_found_and_not_made_twice()
    {
        // As if Hub crashed after Mailchimp changed the address and before Hub recorded it: the next run finds the contact
        // under the new address and the old one gone, records the change, and writes no second contact.
        var (tenant, account) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkNewAudienceAsync(tenant, "crash");
        await _env.SyncAsync(tenant, "crash", [Person("ida@shop.test", "k-1", "Ida")]);
        using (var direct = _env.Sandbox.Marketing(account))
        {
            using var patched = await direct.PatchAsJsonAsync($"lists/{audience}/members/{Hub.Tests.Sandbox.SandboxTestKit.Hash("ida@shop.test")}", new { email_address = "ida.new@shop.test" });
            Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK), await patched.Content.ReadAsStringAsync());
        }

        var job = await _env.SyncAsync(tenant, "crash", [Person("ida.new@shop.test", "k-1", "Ida")]);
        var members = await _env.AudienceAsync(audience);
        Assert.Multiple(() =>
        {
            Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());
            Assert.That(members.Keys, Is.EquivalentTo(new[] { "ida.new@shop.test" }), "neither both nor neither");
            Assert.That(job.GetProperty("counts").GetProperty("removed").GetInt64(), Is.Zero);
        });
    }

    [Test]
    public async Task A_bad_externalId_is_the_rows_error()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        await _env.LinkNewAudienceAsync(tenant, "bad");
        var job = await _env.SyncAsync(tenant, "bad", [
            new { email = "ok@shop.test", externalId = "fine" }, new { email = "a@shop.test", externalId = new string('x', 101) },
            new { email = "b@shop.test", externalId = "" }, (object)new { email = "c@shop.test", externalId = 12 }, new { email = "d@shop.test", externalId = "tab\there" }]);
        var reasons = job.GetProperty("errors").EnumerateArray().Select(error => error.GetProperty("email").GetString()).ToList();
        Assert.That(reasons, Is.EquivalentTo(new[] { "a@shop.test", "b@shop.test", "c@shop.test", "d@shop.test" }), job.ToString());
    }
}
