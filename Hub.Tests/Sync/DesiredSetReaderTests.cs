using Hub.Core.Jobs;
using Hub.Core.Members;
using Hub.Core.Storage;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Hub.Tests.Jobs;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Hub.Tests.Sync;

[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class DesiredSetReaderTests(string backend) : BackendFixture(backend)
{
    private string _prefix = "";
    private IHost _host = null!;

    private DesiredSetReader Reader => _host.Services.GetRequiredService<DesiredSetReader>();
    private RedisKeys Keys => _host.Services.GetRequiredService<RedisKeys>();

    [SetUp]
    public async Task Start()
    {
        _prefix = TestRedis.NewPrefix();
        _host = await JobsTestKit.StartAsync(Backend.Connection, _prefix, new() { ["Hub:Jobs:WorkerEnabled"] = "false" }, start: false);
    }

    [TearDown]
    public void Stop() => _host.Dispose();

    private static readonly TenantId Tenant = TenantId.New();

    private static MemoryStream Body(string text) => new(System.Text.Encoding.UTF8.GetBytes(text));

    /// <summary>Members in the staged hash (its other fields, <c>#n</c>, number the chunks of the set's order).</summary>
    /// <summary>Members staged to be written: fields named by a subscriber hash with a member as value (not kept rows, whose value is empty).</summary>
    private async Task<long> StagedCountAsync(JobId id) =>
        (await Backend.Connection.GetDatabase().HashGetAllAsync(Keys.JobInput(Tenant, id))).Count(entry => entry.Name.ToString().Length == DesiredSetChunks.HashLength && !entry.Value.IsNullOrEmpty);

    [TestCase(true)]
    [TestCase(false)]
    public async Task Hundred_thousand_rows_are_streamed_into_redis_while_the_body_is_still_being_read(bool ndjson)
    {
        const int rows = 100_000;
        var redis = Backend.Connection;
        long stagedWhenHalfProduced = -1;
        var body = new GeneratedBodyStream(rows, ndjson, onRow: row =>
        {
            if (row == rows / 2)
            {
                // The body is generated on the fly; half of it does not exist yet, yet batches are already in Redis.
                var staging = TestRedis.KeysAsync(redis, _prefix).GetAwaiter().GetResult().Single();
                stagedWhenHalfProduced = redis.GetDatabase().HashLength(staging);
            }
        });

        var result = await Reader.StageAsync(Tenant, Hub.Core.Lists.ListKey.Parse("staged", null), body, DesiredSetFormat.Detect, default);

        Assert.That(result.IsStaged, Is.True);
        Assert.Multiple(async () =>
        {
            Assert.That(result.Staged!.Count, Is.EqualTo(rows));
            Assert.That(result.Staged.Rows, Is.EqualTo(rows));
            Assert.That(result.Staged.IssueCount, Is.Zero);
            Assert.That(await StagedCountAsync(result.Staged.Id), Is.EqualTo(rows));
            Assert.That(stagedWhenHalfProduced, Is.GreaterThan(rows / 4));
        });
    }

    [Test]
    public async Task Duplicates_and_invalid_members_are_reported_and_the_rest_is_staged()
    {
        var body = Body("""
            [
              {"email": "Ann@Example.com", "mergeFields": {"fname": "Ann"}, "tags": ["b", "a", "a"], "language": "en", "vip": true},
              {"email": "not-an-email"},
              {"email": "ann@example.com", "mergeFields": {"FNAME": "Second Ann"}},
              {"email": "bob@example.com", "vip": "yes"},
              {"email": "carl@example.com", "colour": "red"},
              {"mergeFields": {}},
              {"email": "dora@example.com", "status": "pending"}
            ]
            """);

        var result = await Reader.StageAsync(Tenant, Hub.Core.Lists.ListKey.Parse("staged", null), body, DesiredSetFormat.JsonArray, default);

        var staged = result.Staged!;
        var db = Backend.Connection.GetDatabase();
        var ann = DesiredMember.FromJson((await db.HashGetAsync(Keys.JobInput(Tenant, staged.Id), DesiredMember.SubscriberHashOf("ann@example.com"))).ToString());
        Assert.Multiple(async () =>
        {
            Assert.That(staged.Count, Is.EqualTo(2));
            Assert.That(staged.Rows, Is.EqualTo(7));
            Assert.That(staged.InvalidCount, Is.EqualTo(4));
            Assert.That(staged.IssueCount, Is.EqualTo(5));
            Assert.That(staged.Issues.Select(issue => issue.Email), Is.EquivalentTo(new[] { "not-an-email", "ann@example.com", "bob@example.com", "carl@example.com", "" }));
            Assert.That(staged.Issues.Single(issue => issue.Email == "ann@example.com").Reason, Does.Contain("Row 3").And.Contain("duplicate"));
            Assert.That(staged.Issues.Single(issue => issue.Email == "bob@example.com").Reason, Does.Contain("vip"));
            Assert.That(staged.Issues.Single(issue => issue.Email == "carl@example.com").Reason, Does.Contain("colour"));
            Assert.That(staged.Issues.All(issue => !issue.Retryable), Is.True);
            Assert.That(ann.Email, Is.EqualTo("Ann@Example.com"), "the first row wins");
            Assert.That(ann.MergeFields!.Keys, Is.EqualTo(new[] { "FNAME" }));
            Assert.That(ann.Tags, Is.EqualTo(new[] { "a", "b" }));
            Assert.That(await StagedCountAsync(staged.Id), Is.EqualTo(2));
            Assert.That(staged.ToJobRequest("sync", "list-1").InitialCounts, Is.EqualTo(new JobCounts(Total: 6, Failed: 4)));

            // Invalid rows whose address is readable are kept (an empty value): the sync neither writes nor removes them.
            foreach (var kept in new[] { "bob@example.com", "carl@example.com" })
            {
                var value = await db.HashGetAsync(Keys.JobInput(Tenant, staged.Id), DesiredMember.SubscriberHashOf(kept));
                Assert.That(value.IsNull, Is.False, kept);
                Assert.That(value.ToString(), Is.Empty, kept);
            }

            Assert.That(await db.HashExistsAsync(Keys.JobInput(Tenant, staged.Id), DesiredMember.SubscriberHashOf("not-an-email")), Is.False);
        });
    }

    [TestCase("[{\"email\":\"a@example.com\"},\n{\"email\": \"b@example.com\" oops}]", DesiredSetFormat.JsonArray, 2)]
    [TestCase("[{\"email\":\"a@example.com\"}", DesiredSetFormat.Detect, 1)]
    [TestCase("{\"email\":\"a@example.com\"}\n{\"email\":\"b@example.com\"}\n{\"email\": nope}\n", DesiredSetFormat.Ndjson, 3)]
    [TestCase("{\"email\":\"a@example.com\"}\n{\"email\":\"b@exa", DesiredSetFormat.Detect, 2)]
    public async Task A_malformed_body_is_an_error_value_and_leaves_nothing_staged(string text, DesiredSetFormat format, int line)
    {
        var result = await Reader.StageAsync(Tenant, Hub.Core.Lists.ListKey.Parse("staged", null), Body(text), format, default);

        Assert.Multiple(async () =>
        {
            Assert.That(result.IsStaged, Is.False);
            Assert.That(result.Error!.Line, Is.EqualTo(line));
            Assert.That(result.Error.Position, Is.GreaterThan(0));
            Assert.That(result.Error.Message, Does.Contain($"line {line}"));
            Assert.That(await TestRedis.KeysAsync(Backend.Connection, _prefix), Is.Empty);
        });
    }

    [Test]
    public async Task A_malformed_row_after_many_staged_batches_still_leaves_nothing_staged()
    {
        var body = new GeneratedBodyStream(5_000, ndjson: true, row: i => i == 4_321 ? "{\"email\":" : $$"""{"email":"m{{i}}@example.com"}""");

        var result = await Reader.StageAsync(Tenant, Hub.Core.Lists.ListKey.Parse("staged", null), body, DesiredSetFormat.Ndjson, default);

        Assert.Multiple(async () =>
        {
            Assert.That(result.Error, Is.Not.Null);
            Assert.That(await TestRedis.KeysAsync(Backend.Connection, _prefix), Is.Empty);
        });
    }

    [TestCase("[]", DesiredSetFormat.Detect)]
    [TestCase("", DesiredSetFormat.Ndjson)]
    [TestCase("  \n", DesiredSetFormat.Detect)]
    [TestCase("[{\"email\":\"broken\"}]", DesiredSetFormat.JsonArray)]
    public async Task An_empty_set_is_detected(string text, DesiredSetFormat format)
    {
        var result = await Reader.StageAsync(Tenant, Hub.Core.Lists.ListKey.Parse("staged", null), Body(text), format, default);

        Assert.Multiple(() =>
        {
            Assert.That(result.IsStaged, Is.True);
            Assert.That(result.Staged!.IsEmpty, Is.True);
        });
    }
}
