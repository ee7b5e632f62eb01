using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

/// <summary>Issue 15, part 1, through the facade: <c>PATCH …/members/{email}</c> and single upserts that carry <c>externalId</c>.</summary>
[TestFixture]
public sealed class MemberEmailChangeTests() : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    private Task<(FacadeTenant Tenant, string AudienceId)> AudienceListAsync(string key = "people") => _env.TenantWithAudienceListAsync(key);

    private async Task<List<string>> EmailsAsync(string audienceId) =>
        [.. (await _env.Sandbox.GetMembersAsync(audienceId)).Select(member => member.EmailAddress.ToLowerInvariant()).Order(StringComparer.Ordinal)];

    [Test]
    public async Task Patch_changes_the_address_of_the_same_contact_and_keeps_its_status()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "ann@shop.test", mergeFields = new { FNAME = "Ann" } });
        await _env.Sandbox.SetMemberStatusAsync(audienceId, "ann@shop.test", "unsubscribed");

        using var patched = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/people/members/ann@shop.test", new { email = "ann.lee@shop.test" });
        var body = await patched.Content.ReadAsStringAsync();
        Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var member = JsonDocument.Parse(body).RootElement;
        Assert.Multiple(async () =>
        {
            Assert.That(member.GetProperty("email").GetString(), Is.EqualTo("ann.lee@shop.test"));
            Assert.That(member.GetProperty("status").GetString(), Is.EqualTo("unsubscribed"));
            Assert.That(await EmailsAsync(audienceId), Is.EqualTo(new[] { "ann.lee@shop.test" }));
        });

        // Hub's ledger followed: removing the member by its new address works as for any member Hub added.
        using var removed = await tenant.Client.DeleteAsync("/api/v1/lists/people/members/ann.lee@shop.test");
        Assert.That(removed.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }

    [Test]
    public async Task Patch_refuses_an_address_of_another_contact_an_unknown_member_and_bad_input_and_changes_nothing()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "bob@shop.test" });
        await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "cy@shop.test" });

        await ProblemAssert.IsProblemAsync(await tenant.Client.PatchAsJsonAsync("/api/v1/lists/people/members/bob@shop.test", new { email = "CY@shop.test" }), HttpStatusCode.Conflict, "email_in_use");
        await ProblemAssert.IsProblemAsync(await tenant.Client.PatchAsJsonAsync("/api/v1/lists/people/members/nobody@shop.test", new { email = "new@shop.test" }), HttpStatusCode.NotFound, "member_not_in_list");
        foreach (var bad in new object[] { new { email = "not-an-address" }, new { email = "" }, new { }, new { email = 5 } })
        {
            using var refused = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/people/members/bob@shop.test", bad);
            Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), JsonSerializer.Serialize(bad));
            Assert.That(refused.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        }

        using var badPath = await tenant.Client.PatchAsJsonAsync("/api/v1/lists/people/members/not-an-address", new { email = "x@shop.test" });
        Assert.That(badPath.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        using var notJson = await tenant.Client.PatchAsync("/api/v1/lists/people/members/bob@shop.test", new StringContent("{", System.Text.Encoding.UTF8, "application/json"));
        Assert.That(notJson.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(await EmailsAsync(audienceId), Is.EqualTo(new[] { "bob@shop.test", "cy@shop.test" }));
    }

    [Test]
    public async Task An_upsert_with_a_known_externalId_and_a_new_email_moves_the_contact()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "dee@shop.test", externalId = "crm-7", mergeFields = new { FNAME = "Dee" } });
        var moved = await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "dee@new.test", externalId = "crm-7", mergeFields = new { FNAME = "Dee" } });
        Assert.That(moved.GetProperty("email").GetString(), Is.EqualTo("dee@new.test"));
        Assert.That(await EmailsAsync(audienceId), Is.EqualTo(new[] { "dee@new.test" }));

        // The same id with an address another contact has: refused, both stay.
        await FacadeEnvironment.UpsertAsync(tenant, "people", new { email = "eve@shop.test" });
        using var conflict = await tenant.Client.PostAsJsonAsync("/api/v1/lists/people/members", new { email = "eve@shop.test", externalId = "crm-7" });
        await ProblemAssert.IsProblemAsync(conflict, HttpStatusCode.Conflict, "email_in_use");
        Assert.That(await EmailsAsync(audienceId), Is.EqualTo(new[] { "dee@new.test", "eve@shop.test" }));
    }

    [Test]
    public async Task An_inline_batch_moves_contacts_by_externalId_and_reports_conflicts_per_member()
    {
        var (tenant, audienceId) = await AudienceListAsync();
        using var _ = tenant;
        using (var first = await tenant.Client.PostAsJsonAsync("/api/v1/lists/people/members/batch", new
        {
            add = new object[] { new { email = "fay@shop.test", externalId = "b-1" }, new { email = "gus@shop.test", externalId = "b-2" }, new { email = "hal@shop.test" } },
        }))
        {
            Assert.That(first.StatusCode, Is.EqualTo(HttpStatusCode.OK), await first.Content.ReadAsStringAsync());
        }

        using var second = await tenant.Client.PostAsJsonAsync("/api/v1/lists/people/members/batch", new
        {
            add = new object[]
            {
                new { email = "fay@new.test", externalId = "b-1" },
                new { email = "hal@shop.test", externalId = "b-2" },
                new { email = "ivy@shop.test", externalId = "b-1" },
            },
        });
        var text = await second.Content.ReadAsStringAsync();
        Assert.That(second.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        var results = JsonDocument.Parse(text).RootElement.GetProperty("results").EnumerateArray()
            .ToDictionary(result => result.GetProperty("email").GetString()!, result => result);
        Assert.Multiple(async () =>
        {
            Assert.That(results["hal@shop.test"].GetProperty("error").GetProperty("type").GetString(), Does.EndWith("email_in_use"), text);
            Assert.That(results["ivy@shop.test"].GetProperty("result").GetString(), Is.EqualTo("failed"), text);
            Assert.That(await EmailsAsync(audienceId), Is.EqualTo(new[] { "fay@new.test", "gus@shop.test", "hal@shop.test" }));
        });
    }
}
