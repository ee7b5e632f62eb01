using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

/// <summary>
/// Input crafted to slip past the facade: dot segments that routing would resolve to another route,
/// keys that cannot be addressed, bodies that are not text. Each is a 400 and changes nothing.
/// </summary>
[TestFixture]
public sealed class HostileInputTests() : OneListFixture("l1")
{
    [OneTimeSetUp]
    public Task AddMemberAsync() => FacadeEnvironment.UpsertAsync(_tenant, "l1", new { email = "ann.lee@shop.test" });

    [TestCase("..")]
    [TestCase("%2e%2e")]
    [TestCase("%2E%2E")]
    [TestCase(".%2E")]
    [TestCase("%2e.")]
    [TestCase(".")]
    [TestCase("%2e")]
    public async Task A_dot_segment_in_a_member_path_is_refused_and_the_list_stays(string dots)
    {
        await AssertUnchangedAsync(async () =>
        {
            var response = await SendAsync("DELETE", $"/api/v1/lists/l1/members/{dots}?mode=permanent");
            AssertInvalidPath(response);
        });
        using var list = await _tenant.Client.GetAsync("/api/v1/lists/l1");
        Assert.That(list.StatusCode, Is.EqualTo(HttpStatusCode.OK), "the list is still linked");
        Assert.That((await list.JsonAsync()).GetProperty("memberCount").GetInt64(), Is.EqualTo(1), "its ledger is still there");
    }

    [Test]
    public async Task A_dot_segment_cannot_turn_a_write_to_one_audience_into_a_write_to_another()
    {
        var other = await FacadeEnvironment.CreateAudienceAsync(_tenant, "Other");
        await AssertUnchangedAsync(async () =>
        {
            foreach (var target in new[] { $"/api/v1/audiences/{_audienceId}/../{other}", $"/api/v1/audiences/{_audienceId}/%2e%2e/{other}" })
            {
                AssertInvalidPath(await SendAsync("PATCH", target, """{"name":"Renamed"}"""));
            }
        });
        var read = await _tenant.Client.GetFromJsonAsync<JsonElement>($"/api/v1/audiences/{other}");
        Assert.That(read.GetProperty("name").GetString(), Is.EqualTo("Other"));
    }

    [TestCase("GET", "/api/admin/tenants/x/..", "admin")]
    [TestCase("GET", "/api/v1/lists/..", "tenant")]
    [TestCase("GET", "/api/v1/lists/%2E%2e", null)]
    [TestCase("GET", "/health/./live", null)]
    [TestCase("GET", "/swagger/../health/live", null)]
    public async Task Dot_segments_are_refused_on_every_route_before_anything_else(string method, string target, string? key)
    {
        var response = await SendAsync(method, target, key: key switch { "admin" => _env.Hub.Settings.AdminKey, "tenant" => _tenant.Tenant.ApiKey, _ => null });
        AssertInvalidPath(response);
    }

    [Test]
    public async Task Dots_inside_a_segment_are_not_dot_segments()
    {
        using var member = await _tenant.Client.GetAsync("/api/v1/lists/l1/members/ann.lee@shop.test");
        Assert.That(member.StatusCode, Is.EqualTo(HttpStatusCode.OK), await member.Content.ReadAsStringAsync());
        var threeDots = await SendAsync("GET", "/api/v1/lists/...");
        Assert.That(threeDots.Status, Is.EqualTo(404), threeDots.Body);
        Assert.That(threeDots.Body, Does.Contain("urn:hub:problem:list_not_found"));
    }

    [TestCase(".")]
    [TestCase("..")]
    public async Task A_list_key_that_is_a_dot_segment_is_refused(string key)
    {
        await AssertUnchangedAsync(async () =>
        {
            using var linked = await _tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key, newAudience = new { name = "Unreachable" } });
            var problem = await ProblemAssert.IsProblemAsync(linked, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty("key", out _), Is.True, problem.ToString());
        });
    }

    public static IEnumerable<TestCaseData> UnreadableBodies()
    {
        yield return new TestCaseData(Bytes("""{"email":"a""", [0xff, 0xfe], """@shop.test"}""")).SetArgDisplayNames("invalid UTF-8 in the email");
        yield return new TestCaseData(Bytes("""{"email":"bo@shop.test","mergeFields":{"FNAME":"x""", [0xc3, 0x28], "\"}}")).SetArgDisplayNames("invalid UTF-8 in a merge field");
        yield return new TestCaseData(Bytes("""{"email":"bo@shop.test","mergeFields":{"F""", [0xed, 0xa0, 0x80], "\":\"x\"}}")).SetArgDisplayNames("invalid UTF-8 in a property name");
        yield return new TestCaseData(Bytes("""{"email":"bo@shop.test","tags":["\ud800"]}""", [], "")).SetArgDisplayNames("a lone surrogate escape");
    }

    [TestCaseSource(nameof(UnreadableBodies))]
    public async Task A_member_body_that_is_not_text_is_a_400(byte[] body)
    {
        await AssertUnchangedAsync(async () =>
        {
            using var upsert = await _tenant.Client.PostAsync("/api/v1/lists/l1/members", Json(body));
            await ProblemAssert.IsProblemAsync(upsert, HttpStatusCode.BadRequest, "validation");

            var batch = Encoding.UTF8.GetBytes("""{"add":[""").Concat(body).Concat(Encoding.UTF8.GetBytes("]}")).ToArray();
            using var batched = await _tenant.Client.PostAsync("/api/v1/lists/l1/members/batch", Json(batch));
            await ProblemAssert.IsProblemAsync(batched, HttpStatusCode.BadRequest, "validation");
        });
    }

    [Test]
    public async Task An_address_Mailchimp_refuses_as_fake_is_a_400_and_nothing_is_written()
    {
        var state = await _env.TenantStateAsync(_tenant);
        using var response = await _tenant.Client.PostAsJsonAsync("/api/v1/lists/l1/members", new { email = "fake.person@shop.test" });
        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "invalid_email");
        Assert.That(await _env.TenantStateAsync(_tenant), Is.EqualTo(state), "nothing stored");
    }

    private Task<RawHttp.Response> SendAsync(string method, string target, string? body = null, string? key = "")
    {
        key = key == "" ? _tenant.Tenant.ApiKey : key;
        return RawHttp.SendAsync(_env.Hub.BaseUrl, method, target, key is null ? [] : [$"Authorization: Bearer {key}"], body);
    }

    private static void AssertInvalidPath(RawHttp.Response response)
    {
        Assert.That(response.Status, Is.EqualTo(400), response.Headers + "\n" + response.Body);
        Assert.That(response.Headers, Does.Contain("application/problem+json"));
        Assert.That(response.Body, Does.Contain("urn:hub:problem:invalid_path"));
    }

    private static byte[] Bytes(string before, byte[] raw, string after) =>
        [.. Encoding.UTF8.GetBytes(before), .. raw, .. Encoding.UTF8.GetBytes(after)];

    private static ByteArrayContent Json(byte[] body) => new(body) { Headers = { ContentType = new("application/json") } };

    /// <summary>Runs <paramref name="act"/> and asserts that the sandbox saw no call and the tenant's Redis state did not change.</summary>
    private async Task AssertUnchangedAsync(Func<Task> act)
    {
        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(_tenant);
        await act();
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(_tenant), Is.EqualTo(state), "nothing stored");
        Assert.That((await _env.SandboxMemberAsync(_audienceId, "ann.lee@shop.test"))?.Status, Is.EqualTo("subscribed"), "the member is still there");
    }
}
