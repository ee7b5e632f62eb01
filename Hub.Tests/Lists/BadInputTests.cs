using System.Net;
using System.Net.Http.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

/// <summary>Bad input is a 4xx problem+json; nothing reaches Mailchimp and nothing is stored.</summary>
[TestFixture]
public sealed class BadInputTests() : OneListFixture("list")
{
    public static IEnumerable<TestCaseData> BadMembers()
    {
        yield return new TestCaseData("""{"email":"not-an-email"}""").SetArgDisplayNames("invalid email");
        yield return new TestCaseData("""{"email":"a b@shop.test"}""").SetArgDisplayNames("space in email");
        yield return new TestCaseData("""{}""").SetArgDisplayNames("no email");
        yield return new TestCaseData("""{"email":"ann@shop.test","status":"archived"}""").SetArgDisplayNames("status archived");
        yield return new TestCaseData("""{"email":"ann@shop.test","status":"SUBSCRIBED"}""").SetArgDisplayNames("status wrong case");
        yield return new TestCaseData("""{"email":"ann@shop.test","mergeFields":["FNAME"]}""").SetArgDisplayNames("merge fields array");
        yield return new TestCaseData("""{"email":"ann@shop.test","mergeFields":{"F NAME":"x"}}""").SetArgDisplayNames("merge tag with space");
        yield return new TestCaseData("""{"email":"ann@shop.test","mergeFields":{"FNAME":true}}""").SetArgDisplayNames("merge value bool");
        yield return new TestCaseData("""{"email":"ann@shop.test","mergeFields":{"FNAME":["a"]}}""").SetArgDisplayNames("merge value array");
        yield return new TestCaseData("""{"email":"ann@shop.test","tags":"gold"}""").SetArgDisplayNames("tags string");
        yield return new TestCaseData("""{"email":"ann@shop.test","language":"klingon"}""").SetArgDisplayNames("language");
        yield return new TestCaseData("""{"email":"ann@shop.test","vip":"yes"}""").SetArgDisplayNames("vip string");
        yield return new TestCaseData("""{"email":"ann@shop.test","unknown":1}""").SetArgDisplayNames("unknown property");
        yield return new TestCaseData("""[1,2]""").SetArgDisplayNames("array body");
        yield return new TestCaseData("""{"email":""").SetArgDisplayNames("broken json");
    }

    [TestCaseSource(nameof(BadMembers))]
    public async Task A_bad_member_is_a_validation_problem(string json)
    {
        await AssertRefusedAsync(async () =>
        {
            using var response = await _tenant.Client.PostAsync("/api/v1/lists/list/members", new StringContent(json, System.Text.Encoding.UTF8, "application/json"));
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        });
    }

    [TestCase("bad%20key")]
    [TestCase("bad$key")]
    [TestCase("k%C3%A9y")]
    [TestCase("kkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkkk")]
    public async Task A_list_key_with_illegal_characters_is_a_validation_problem(string key)
    {
        await AssertRefusedAsync(async () =>
        {
            foreach (var (method, path, body) in new (string, string, object?)[]
            {
                ("GET", $"/api/v1/lists/{key}", null),
                ("PATCH", $"/api/v1/lists/{key}", new { name = "x" }),
                ("DELETE", $"/api/v1/lists/{key}", null),
                ("POST", $"/api/v1/lists/{key}/members", new { email = "ann@shop.test" }),
                ("GET", $"/api/v1/lists/{key}/members", null),
                ("GET", $"/api/v1/lists/{key}/members/ann@shop.test", null),
                ("DELETE", $"/api/v1/lists/{key}/members/ann@shop.test", null),
                ("POST", $"/api/v1/lists/{key}/members/batch", new { add = new[] { new { email = "ann@shop.test" } } }),
            })
            {
                using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = body is null ? null : JsonContent.Create(body) };
                using var response = await _tenant.Client.SendAsync(request);
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
                Assert.That(problem.GetProperty("errors").TryGetProperty("key", out _), Is.True, $"{method} {path}");
            }

            using var link = await _tenant.Client.PostAsJsonAsync("/api/v1/lists", new { key = Uri.UnescapeDataString(key), newAudience = new { name = "x" } });
            await ProblemAssert.IsProblemAsync(link, HttpStatusCode.BadRequest, "validation");
        });
    }

    [Test]
    public async Task An_invalid_email_in_the_path_is_a_validation_problem()
    {
        await AssertRefusedAsync(async () =>
        {
            using var read = await _tenant.Client.GetAsync("/api/v1/lists/list/members/not-an-email");
            await ProblemAssert.IsProblemAsync(read, HttpStatusCode.BadRequest, "validation");
            using var removed = await _tenant.Client.DeleteAsync("/api/v1/lists/list/members/not-an-email");
            await ProblemAssert.IsProblemAsync(removed, HttpStatusCode.BadRequest, "validation");
        });
    }

    [Test]
    public async Task Bad_link_requests_are_validation_problems()
    {
        await AssertRefusedAsync(async () =>
        {
            foreach (var body in new object[]
            {
                new { key = "a", mode = "folder", newAudience = new { name = "x" } },
                new { key = "a", audienceId = _audienceId, newAudience = new { name = "x" } },
                new { key = "a" },
                new { key = "a", mode = "audience", tag = "t", newAudience = new { name = "x" } },
                new { key = "a", newAudience = new { name = "" } },
                new { key = "a", newAudience = new { name = "x" }, defaultStatus = "unsubscribed" },
                new { key = "a", newAudience = new { name = "x", contact = new { company = "Only" } } },
            })
            {
                using var response = await _tenant.Client.PostAsJsonAsync("/api/v1/lists", body);
                await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest, "validation");
            }
        });
    }

    [Test]
    public async Task A_body_over_one_MiB_is_413()
    {
        var big = new string('x', 1024 * 1024 + 10);
        await AssertRefusedAsync(async () =>
        {
            foreach (var path in new[] { "/api/v1/lists/list/members", "/api/v1/lists/list/members/batch", "/api/v1/mailchimp/lists/" + _audienceId + "/members" })
            {
                using var response = await _tenant.Client.PostAsync(path, new StringContent($$"""{"email":"{{big}}@shop.test"}""", System.Text.Encoding.UTF8, "application/json"));
                await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
            }
        });
    }

    [Test]
    public async Task A_body_many_times_the_limit_still_gets_its_413_and_the_connection_closes()
    {
        // 15 MiB is more than the kernel and Kestrel buffer: without Hub reading the rest after its
        // answer, the client would be reset while it is still sending, and never see the 413.
        await AssertRefusedAsync(async () =>
        {
            using var response = await _tenant.Client.PostAsync("/api/v1/lists/list/members", new ByteArrayContent(new byte[15 * 1024 * 1024])
            {
                Headers = { ContentType = new("application/json") },
            });
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("The request body is larger than the 1 MiB this endpoint accepts."));
            Assert.That(response.Headers.ConnectionClose, Is.True);
        });
        Assert.That(_env.Hub.Logs.All, Does.Contain("Refused the body of POST /api/v1/lists/{key}/members/: over the 1048576-byte limit."));
    }

    [TestCase("/api/v1/lists/list/members")]
    [TestCase("/api/v1/lists/list/members/batch")]
    [TestCase("/api/v1/mailchimp/lists/{audience}/members")]
    public async Task A_chunked_body_over_the_limit_gets_its_413(string path)
    {
        // JsonContent has no length, so HttpClient sends it chunked and Hub only finds out while reading.
        await AssertRefusedAsync(async () =>
        {
            using var response = await _tenant.Client.PostAsJsonAsync(path.Replace("{audience}", _audienceId), new { email = new string('x', 8 * 1024 * 1024) + "@shop.test" });
            Assert.That(response.RequestMessage!.Headers.TransferEncodingChunked, Is.True);
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("The request body is larger than the 1 MiB this endpoint accepts."));
            Assert.That(response.Headers.ConnectionClose, Is.True);
        });
    }

    [Test]
    public async Task A_client_that_accepts_no_json_gets_the_413_as_text()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/lists/list/members") { Content = new ByteArrayContent(new byte[2 * 1024 * 1024]) };
        request.Headers.Accept.ParseAdd("text/html");

        using var response = await _tenant.Client.SendAsync(request);

        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("The request body is larger than the 1 MiB this endpoint accepts."));
    }

    [Test]
    public async Task A_client_that_expects_100_continue_gets_the_413_without_sending_the_body()
    {
        using var client = new HttpClient(new SocketsHttpHandler { Expect100ContinueTimeout = TimeSpan.FromSeconds(30) }) { BaseAddress = _env.Hub.BaseUrl };
        var body = new RecordingContent(2 * 1024 * 1024);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/v1/lists/list/members") { Content = body };
        request.Headers.Authorization = new("Bearer", _tenant.Tenant.ApiKey);
        request.Headers.ExpectContinue = true;

        using var response = await client.SendAsync(request);

        await ProblemAssert.IsProblemAsync(response, HttpStatusCode.RequestEntityTooLarge, "payload_too_large");
        Assert.That(body.Sent, Is.False, "the body was never sent");
    }

    /// <summary>A JSON body of a declared length that records whether HttpClient sent it.</summary>
    private sealed class RecordingContent : HttpContent
    {
        private readonly int _length;

        public RecordingContent(int length)
        {
            _length = length;
            Headers.ContentType = new("application/json");
        }

        public bool Sent { get; private set; }

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context)
        {
            Sent = true;
            await stream.WriteAsync(new byte[_length]);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = _length;
            return true;
        }
    }

    [Test]
    public async Task CR_or_LF_in_a_header_value_is_refused_by_Kestrel()
    {
        await AssertRefusedAsync(async () =>
        {
            var response = await RawHttp.SendAsync(_env.Hub.BaseUrl, "POST", "/api/v1/lists/list/members",
                [$"Authorization: Bearer {_tenant.Tenant.ApiKey}", "X-Note: one\rTwo: injected"], """{"email":"ann@shop.test"}""");
            Assert.That(response.Status, Is.EqualTo(400), response.Headers);
            var passthrough = await RawHttp.SendAsync(_env.Hub.BaseUrl, "PUT", $"/api/v1/mailchimp/lists/{_audienceId}/members/ann@shop.test",
                [$"Authorization: Bearer {_tenant.Tenant.ApiKey}", "Content-Language: en\rX-Injected: 1"], """{"email_address":"ann@shop.test","status_if_new":"subscribed"}""");
            Assert.That(passthrough.Status, Is.EqualTo(400), passthrough.Headers);
        });
    }

    /// <summary>Runs <paramref name="act"/> and asserts that the sandbox saw no call and the tenant's Redis state did not change.</summary>
    private async Task AssertRefusedAsync(Func<Task> act)
    {
        var calls = await _env.MarketingCallsAsync();
        var state = await _env.TenantStateAsync(_tenant);
        await act();
        Assert.That(await _env.MarketingCallsAsync(), Is.EqualTo(calls), "nothing sent to Mailchimp");
        Assert.That(await _env.TenantStateAsync(_tenant), Is.EqualTo(state), "nothing stored");
        Assert.That(await _env.Sandbox.GetMembersAsync(_audienceId), Is.Empty);
    }
}
