using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Events;
using Hub.Tests.Infrastructure;
using static Hub.Tests.People.PeopleEnvironment;

namespace Hub.Tests.People;

/// <summary>
/// A person's rights over real HTTP, with the sandbox as Mailchimp and a real Redis: finding everything held of an address,
/// erasing it everywhere for one tenant (and only that tenant), and that no later write brings it back.
/// </summary>
public class PersonErasureTests() : EnvironmentFixture<EventsEnvironment>(() => EventsEnvironment.StartAsync())
{
    [Test]
    public async Task An_erasure_leaves_the_person_in_no_audience_and_in_no_form_in_Redis_and_a_later_sync_reports_them_erased()
    {
        var address = NewAddress();
        var (tenant, _) = await _env.ConnectedTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        var audienceA = await _env.LinkRegisteredAudienceAsync(tenant, "crm-a");
        var audienceB = await _env.LinkRegisteredAudienceAsync(tenant, "crm-b");
        using var created = await client.PostAsJsonAsync("/api/v1/audiences", new { name = "Shared" });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        var audienceC = (await created.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        await HubEnvironment.LinkListAsync(client, new { key = "crm-vip", mode = "tag", audienceId = audienceC, tag = "vip" });

        var person = new { email = address, externalId = "cand-17", mergeFields = new { FNAME = "Ann" } };
        var bob = new { email = $"bob-{Guid.NewGuid():N}@example.com" };
        // The person listed twice: the job keeps an error naming them ("duplicate of an earlier row").
        await _env.SyncAsync(tenant, "crm-a", [person, bob, new { email = address.ToUpperInvariant() }]);
        await _env.SyncAsync(tenant, "crm-b", [person]);
        await _env.SyncAsync(tenant, "crm-vip", [person]);
        // A change in Mailchimp: a member event, a webhook delivery and a refusal, each naming the person.
        await _env.SetStatusInMailchimpAsync(audienceB, address, "unsubscribed");
        await WaitUntilAsync(() => _env.MemberWebhooks(tenant, "member.unsubscribed").Count > 0);

        // Tenant B holds the same address in its own account.
        var (other, _) = await _env.ConnectedTenantAsync();
        using var otherClient = _env.Hub.Client(other.ApiKey);
        var otherAudience = (await HubEnvironment.LinkListAsync(otherClient, new { key = "crm-a", mode = "audience", newAudience = new { name = "B" } })).GetProperty("audienceId").GetString()!;
        await _env.SyncAsync(other, "crm-a", [new { email = address }]);

        var found = await FindAsync(client, "  " + address.ToUpperInvariant() + " ");
        Assert.Multiple(() =>
        {
            Assert.That(found.GetProperty("email").GetString(), Is.EqualTo(address.ToLowerInvariant()));
            var audiences = found.GetProperty("audiences").EnumerateArray().ToDictionary(audience => audience.GetProperty("audienceId").GetString()!);
            Assert.That(audiences[audienceA].GetProperty("found").GetBoolean(), Is.True);
            Assert.That(Strings(audiences[audienceC].GetProperty("tags")), Does.Contain("vip"));
            Assert.That(Strings(audiences[audienceA].GetProperty("lists")), Is.EqualTo(new[] { "crm-a" }));
            Assert.That(Strings(audiences[audienceC].GetProperty("lists")), Is.EqualTo(new[] { "crm-vip" }));
            Assert.That(audiences[audienceA].GetProperty("mergeFields").GetProperty("FNAME").GetString(), Is.EqualTo("Ann"));
            Assert.That(audiences[audienceB].GetProperty("status").GetString(), Is.EqualTo("unsubscribed"));
            var lists = found.GetProperty("lists").EnumerateArray().ToDictionary(list => list.GetProperty("key").GetString()!);
            Assert.That(lists.Keys, Is.EquivalentTo(new[] { "crm-a", "crm-b", "crm-vip" }));
            Assert.That(Strings(lists["crm-a"].GetProperty("externalIds")), Is.EqualTo(new[] { "cand-17" }));
            Assert.That(lists["crm-a"].GetProperty("lastSync").GetProperty("state").GetString(), Is.EqualTo("succeeded"));
            var records = found.GetProperty("records");
            Assert.That(Strings(records.GetProperty("ledger")), Is.EquivalentTo(new[] { "crm-a", "crm-b", "crm-vip" }));
            Assert.That(Strings(records.GetProperty("refused")), Is.EqualTo(new[] { "crm-b" }));
            Assert.That(records.GetProperty("jobErrors").GetArrayLength(), Is.EqualTo(1));
            Assert.That(records.GetProperty("webhookDeliveries").GetArrayLength(), Is.GreaterThanOrEqualTo(1));
            Assert.That(records.GetProperty("events").GetArrayLength(), Is.EqualTo(1));
            Assert.That(found.GetProperty("erasureId").ValueKind, Is.EqualTo(JsonValueKind.Null));
        });
        Assert.That(await KeysHoldingAsync(_env.Hub.Redis, address), Is.Not.Empty, "the scan finds the address before the erasure");

        // Another case and surrounding spaces: the same person.
        var started = await StartErasureAsync(client, " " + address.ToUpperInvariant() + "  ", "Asked by e-mail on 2026-12-01");
        var erasureId = started.GetProperty("erasureId").GetString()!;
        var erasure = await WaitForErasureAsync(client, erasureId);
        Assert.Multiple(() =>
        {
            Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("succeeded"), erasure.ToString());
            Assert.That(erasure.GetProperty("recordsForgotten").GetBoolean(), Is.True);
            Assert.That(erasure.GetProperty("reason").GetString(), Is.EqualTo("Asked by e-mail on 2026-12-01"));
            var states = erasure.GetProperty("audiences").EnumerateArray().ToDictionary(audience => audience.GetProperty("audienceId").GetString()!, audience => audience.GetProperty("state").GetString());
            Assert.That(states, Is.EquivalentTo(new Dictionary<string, string?> { [audienceA] = "deleted", [audienceB] = "deleted", [audienceC] = "deleted" }));
        });

        Assert.That(await _env.AudienceAsync(audienceA), Does.Not.ContainKey(address.ToLowerInvariant()));
        Assert.That(await _env.AudienceAsync(audienceB), Does.Not.ContainKey(address.ToLowerInvariant()));
        Assert.That(await _env.AudienceAsync(audienceC), Does.Not.ContainKey(address.ToLowerInvariant()));
        await WaitUntilAsync(() => _env.Receiver.Received.Any(hook => hook.EventType == "person.erased" && hook.Body.Contains(erasureId, StringComparison.Ordinal)));
        var erased = _env.Receiver.Received.Single(hook => hook.EventType == "person.erased" && hook.Body.Contains(erasureId, StringComparison.Ordinal));
        var data = JsonDocument.Parse(erased.Body).RootElement.GetProperty("data");
        Assert.Multiple(() =>
        {
            Assert.That(data.EnumerateObject().Select(property => property.Name), Is.EquivalentTo(new[] { "erasureId", "personHash" }));
            Assert.That(data.GetProperty("personHash").GetString(), Is.EqualTo(started.GetProperty("personHash").GetString()));
            Assert.That(FormsOf(address).Any(form => erased.Body.Contains(form, StringComparison.OrdinalIgnoreCase)), Is.False);
        });

        Assert.That(await KeysHoldingAsync(_env.Hub.Redis, address, allowedTenant: other.Id), Is.Empty, "Redis holds the address in some form");
        var after = await FindAsync(client, address);
        Assert.Multiple(() =>
        {
            Assert.That(after.GetProperty("erasureId").GetString(), Is.EqualTo(erasureId));
            Assert.That(after.GetProperty("lists").GetArrayLength(), Is.Zero);
            Assert.That(after.GetProperty("audiences").EnumerateArray().Select(audience => audience.GetProperty("found").GetBoolean()), Is.All.False);
        });

        // The host still lists the person: a full sync writes everybody else and reports them erased, without the address.
        var resync = await _env.SyncToEndAsync(tenant, "crm-a", [person, bob]);
        Assert.Multiple(() =>
        {
            Assert.That(resync.GetProperty("state").GetString(), Is.EqualTo("partially_succeeded"), resync.ToString());
            Assert.That(resync.GetProperty("counts").GetProperty("failed").GetInt64(), Is.EqualTo(1));
            var error = resync.GetProperty("errors").EnumerateArray().Single();
            Assert.That(error.GetProperty("code").GetString(), Is.EqualTo("erased"));
            Assert.That(error.GetProperty("reason").GetString(), Does.Contain(erasureId));
        });
        Assert.That(await _env.AudienceAsync(audienceA), Does.Not.ContainKey(address.ToLowerInvariant()));

        // Also when the person's row is invalid (here an unknown property): reported as erased, never by the address.
        var invalidRow = await _env.SyncToEndAsync(tenant, "crm-a", [new { email = address.ToUpperInvariant(), colour = "red" }, bob]);
        Assert.Multiple(() =>
        {
            Assert.That(invalidRow.GetProperty("counts").GetProperty("failed").GetInt64(), Is.EqualTo(1), invalidRow.ToString());
            Assert.That(invalidRow.GetProperty("errors").EnumerateArray().Single().GetProperty("code").GetString(), Is.EqualTo("erased"));
            Assert.That(FormsOf(address).Any(form => invalidRow.ToString().Contains(form, StringComparison.OrdinalIgnoreCase)), Is.False, invalidRow.ToString());
        });

        // A single upsert and an inline batch: a clear answer per member, never a write.
        using var upsert = await client.PostAsJsonAsync("/api/v1/lists/crm-b/members", person);
        var problem = await upsert.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(upsert.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), problem);
            Assert.That(JsonDocument.Parse(problem).RootElement.GetProperty("type").GetString(), Is.EqualTo("urn:hub:problem:erased"));
            Assert.That(FormsOf(address).Any(form => problem.Contains(form, StringComparison.OrdinalIgnoreCase)), Is.False, problem);
        });
        using var batch = await client.PostAsJsonAsync("/api/v1/lists/crm-vip/members/batch", new { add = new object[] { person, bob } });
        var results = (await batch.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("results").EnumerateArray()
            .ToDictionary(result => result.GetProperty("email").GetString()!.ToLowerInvariant(), result => result.GetProperty("result").GetString());
        Assert.That(results[address.ToLowerInvariant()], Is.EqualTo("erased"));
        Assert.That(await _env.AudienceAsync(audienceA), Does.Not.ContainKey(address.ToLowerInvariant()));
        Assert.That(await _env.AudienceAsync(audienceB), Does.Not.ContainKey(address.ToLowerInvariant()));
        Assert.That(await _env.AudienceAsync(audienceC), Does.Not.ContainKey(address.ToLowerInvariant()));
        Assert.That(await KeysHoldingAsync(_env.Hub.Redis, address, allowedTenant: other.Id), Is.Empty, "a later write put the address back in Redis");

        // Tenant B's copy is untouched, in Mailchimp and in Hub.
        Assert.That(await _env.AudienceAsync(otherAudience), Does.ContainKey(address.ToLowerInvariant()));
        var otherFound = await FindAsync(otherClient, address);
        Assert.Multiple(() =>
        {
            Assert.That(otherFound.GetProperty("erasureId").ValueKind, Is.EqualTo(JsonValueKind.Null));
            Assert.That(Strings(otherFound.GetProperty("records").GetProperty("ledger")), Is.EqualTo(new[] { "crm-a" }));
            Assert.That(otherFound.GetProperty("personHash").GetString(), Is.Not.EqualTo(started.GetProperty("personHash").GetString()));
        });
        await _env.SyncAsync(other, "crm-a", [new { email = address, mergeFields = new { FNAME = "Still here" } }]);
    }

    [Test]
    public async Task Erasing_an_address_Hub_never_saw_answers_202_and_finishes_with_nothing_to_do()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        var audience = await _env.LinkRegisteredAudienceAsync(tenant, "crm");
        var before = await _env.AudienceAsync(audience);

        var started = await StartErasureAsync(client, NewAddress("Nobody"));
        var erasure = await WaitForErasureAsync(client, started.GetProperty("erasureId").GetString()!);
        Assert.Multiple(() =>
        {
            Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("succeeded"), erasure.ToString());
            Assert.That(erasure.GetProperty("audiences").EnumerateArray().Select(entry => entry.GetProperty("state").GetString()), Is.EqualTo(new[] { "not_in_audience" }));
        });
        Assert.That((await _env.AudienceAsync(audience)).Keys, Is.EquivalentTo(before.Keys));
    }

    [Test]
    public async Task A_second_erasure_of_the_same_person_while_one_runs_joins_it()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        await _env.LinkRegisteredAudienceAsync(tenant, "crm");
        var address = NewAddress();
        await _env.Sandbox.SetLatencyAsync(TimeSpan.FromSeconds(1));
        try
        {
            var first = await StartErasureAsync(client, address);
            var second = await StartErasureAsync(client, address.ToUpperInvariant());
            Assert.Multiple(() =>
            {
                Assert.That(second.GetProperty("erasureId").GetString(), Is.EqualTo(first.GetProperty("erasureId").GetString()));
                Assert.That(first.GetProperty("joined").GetBoolean(), Is.False);
                Assert.That(second.GetProperty("joined").GetBoolean(), Is.True);
            });
            var erasure = await WaitForErasureAsync(client, first.GetProperty("erasureId").GetString()!);
            Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("succeeded"), erasure.ToString());
        }
        finally
        {
            await _env.Sandbox.ClearFaultsAndLatencyAsync();
        }

        // Once it ended, a new request is a new erasure.
        var again = await StartErasureAsync(client, address);
        Assert.That(again.GetProperty("joined").GetBoolean(), Is.False);
        await WaitForErasureAsync(client, again.GetProperty("erasureId").GetString()!);
    }

    [Test]
    public async Task Mailchimp_failing_is_retried_and_never_reported_as_done()
    {
        var (_, held, audience, address) = await PersonInOneAudienceAsync();
        using var client = held;
        // More 500s than the client retries: the job pauses, shows the audience as retrying, and tries again.
        await _env.Sandbox.InjectFaultAsync("POST delete-permanent", "500", times: 5);
        try
        {
            var started = await StartErasureAsync(client, address);
            var id = started.GetProperty("erasureId").GetString()!;
            await WaitUntilAsync(async () => (await client.GetFromJsonAsync<JsonElement>($"/api/v1/people/erasures/{id}")).GetProperty("audiences")
                .EnumerateArray().Any(entry => entry.GetProperty("state").GetString() == "retrying"));
            Assert.That(await _env.AudienceAsync(audience), Does.ContainKey(address.ToLowerInvariant()), "still there while Mailchimp fails");
            var erasure = await WaitForErasureAsync(client, id);
            var entry = erasure.GetProperty("audiences").EnumerateArray().Single();
            Assert.Multiple(() =>
            {
                Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("succeeded"), erasure.ToString());
                Assert.That(entry.GetProperty("state").GetString(), Is.EqualTo("deleted"));
                Assert.That(entry.GetProperty("attempts").GetInt32(), Is.GreaterThan(1));
            });
        }
        finally
        {
            await _env.Sandbox.ClearFaultsAndLatencyAsync();
        }

        Assert.That(await _env.AudienceAsync(audience), Does.Not.ContainKey(address.ToLowerInvariant()));
    }

    [Test]
    public async Task A_refused_credential_fails_the_erasure_and_says_where()
    {
        var (account, held, audience, address) = await PersonInOneAudienceAsync();
        using var client = held;
        await _env.Sandbox.RevokeAsync(account.Secret);

        var erasure = await WaitForErasureAsync(client, (await StartErasureAsync(client, address)).GetProperty("erasureId").GetString()!);
        var entry = erasure.GetProperty("audiences").EnumerateArray().Single();
        Assert.Multiple(() =>
        {
            Assert.That(erasure.GetProperty("state").GetString(), Is.EqualTo("failed"), erasure.ToString());
            Assert.That(erasure.GetProperty("failureReason").GetString(), Is.EqualTo("audiences_failed"));
            Assert.That(entry.GetProperty("audienceId").GetString(), Is.EqualTo(audience));
            Assert.That(entry.GetProperty("state").GetString(), Is.EqualTo("failed"));
            Assert.That(entry.GetProperty("code").GetString(), Is.EqualTo("reauthorization_required"));
        });
        await WaitUntilAsync(() => _env.Receiver.Received.Any(hook => hook.EventType == "person.erasure_failed" && hook.Body.Contains(erasure.GetProperty("erasureId").GetString()!, StringComparison.Ordinal)));
    }

    [TestCase("not-an-address")]
    [TestCase("ann@@example.com")]
    [TestCase("ann@example")]
    [TestCase("")]
    [TestCase("   ")]
    public async Task A_malformed_address_is_a_validation_problem_on_every_route(string email)
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        using var erase = await PostErasureAsync(client, new { email });
        await ProblemAssert.IsProblemAsync(erase, HttpStatusCode.BadRequest, "validation");
        if (email.Trim().Length > 0)
        {
            using var find = await client.GetAsync($"/api/v1/people/{Uri.EscapeDataString(email)}");
            var body = await find.Content.ReadAsStringAsync();
            Assert.That(find.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
            Assert.That(JsonDocument.Parse(body).RootElement.GetProperty("instance").GetString(), Is.EqualTo("/api/v1/people/{email}"));
        }

        Assert.That((await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).GetProperty("items").GetArrayLength(), Is.Zero, "bad input queued a job");
    }

    [Test]
    public async Task Hostile_bodies_and_ids_are_clear_problems_and_change_nothing()
    {
        var (tenant, _) = await _env.ConnectedTenantAsync();
        using var client = _env.Hub.Client(tenant.ApiKey);
        var address = NewAddress();

        using (var inReason = await PostErasureAsync(client, new { email = address, reason = $"erase {address.ToLowerInvariant()} please" }))
        {
            var body = await inReason.Content.ReadAsStringAsync();
            Assert.That(inReason.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
            Assert.That(FormsOf(address).Any(form => body.Contains(form, StringComparison.OrdinalIgnoreCase)), Is.False, body);
        }

        using (var longReason = await PostErasureAsync(client, new { email = address, reason = new string('x', 501) }))
        {
            await ProblemAssert.IsProblemAsync(longReason, HttpStatusCode.BadRequest, "validation");
        }

        using (var lineBreak = await PostErasureAsync(client, new { email = address, reason = "a\nb" }))
        {
            await ProblemAssert.IsProblemAsync(lineBreak, HttpStatusCode.BadRequest, "validation");
        }

        using (var notJson = await client.PostAsync("/api/v1/people/erasures", new StringContent("{\"email\":", System.Text.Encoding.UTF8, "application/json")))
        {
            await ProblemAssert.IsProblemAsync(notJson, HttpStatusCode.BadRequest, "validation");
        }

        using (var wrongType = await client.PostAsync("/api/v1/people/erasures", new StringContent("{\"email\":[1,2]}", System.Text.Encoding.UTF8, "application/json")))
        {
            await ProblemAssert.IsProblemAsync(wrongType, HttpStatusCode.BadRequest, "validation");
        }

        foreach (var id in new[] { "job_aaaaaaaaaaaaaaaaaaaa", "nope", "%2e%2e", "job_" + new string('z', 300) })
        {
            using var read = await client.GetAsync($"/api/v1/people/erasures/{id}");
            Assert.That((int)read.StatusCode, Is.InRange(400, 404), id);
        }

        // Another tenant's erasure is not this tenant's to read.
        var (other, _) = await _env.ConnectedTenantAsync();
        using var otherClient = _env.Hub.Client(other.ApiKey);
        var theirs = await StartErasureAsync(otherClient, address);
        using var foreign = await client.GetAsync($"/api/v1/people/erasures/{theirs.GetProperty("erasureId").GetString()}");
        await ProblemAssert.IsProblemAsync(foreign, HttpStatusCode.NotFound, "erasure_not_found");
        Assert.That((await client.GetFromJsonAsync<JsonElement>("/api/v1/jobs")).GetProperty("items").GetArrayLength(), Is.Zero);
        Assert.That((await FindAsync(client, address)).GetProperty("erasureId").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    /// <summary>A connected tenant (its sandbox account and a client with its key) with one list on its own audience, holding a new address.</summary>
    private async Task<(SandboxCredential Account, HttpClient Client, string AudienceId, string Address)> PersonInOneAudienceAsync()
    {
        var (tenant, account) = await _env.ConnectedTenantAsync();
        var audience = await _env.LinkRegisteredAudienceAsync(tenant, "crm");
        var address = NewAddress();
        await _env.SyncAsync(tenant, "crm", [new { email = address }]);
        return (account, _env.Hub.Client(tenant.ApiKey), audience, address);
    }

    private static Task WaitUntilAsync(Func<bool> condition) => WaitUntilAsync(() => Task.FromResult(condition()));

    private static async Task WaitUntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!await condition())
        {
            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), "timed out waiting");
            await Task.Delay(50);
        }
    }
}
