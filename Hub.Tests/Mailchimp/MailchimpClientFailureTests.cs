using System.Diagnostics;
using System.Net.Http.Json;
using Hub.Core.Mailchimp;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Hub.Tests.Mailchimp;

/// <summary>Mailchimp's errors become Hub codes; retries happen only where they are safe.</summary>
public class MailchimpClientFailureTests
{
    private SandboxHost _sandbox = null!;
    private IConnectionMultiplexer _redis = null!;
    private ServiceProvider _services = null!;
    private MailchimpClient _client = null!;
    private RecordingAuthFailureHandler _authFailures = null!;
    private MailchimpCredential _credential = null!;
    private SandboxCredential _key = null!;
    private string _listId = "";

    [OneTimeSetUp]
    public async Task Start()
    {
        _redis = await TestRedis.ConnectAsync();
        _sandbox = await SandboxHost.StartAsync(o => o.HangDuration = TimeSpan.FromSeconds(20));
    }

    [OneTimeTearDown]
    public async Task Stop() => await _sandbox.DisposeAsync();

    [SetUp]
    public async Task NewAccount()
    {
        _authFailures = new RecordingAuthFailureHandler();
        _services = MailchimpTestKit.Replica(_sandbox, _redis, TestRedis.NewPrefix(), authFailures: _authFailures);
        _client = _services.Client();
        _key = await _sandbox.CreateAccountAsync("Shop " + Guid.NewGuid().ToString("N")[..6]);
        _credential = MailchimpTestKit.ApiKey(_key);
        _listId = await _sandbox.CreateListAsync(_key);
        await _sandbox.ClearFaultsAsync();
        await _sandbox.ResetCountersAsync();
    }

    [TearDown]
    public async Task Cleanup()
    {
        await _sandbox.ClearFaultsAsync();
        await _services.DisposeAsync();
    }

    private Task<MailchimpResult<MailchimpMember>> Upsert(string email, string statusIfNew = "subscribed", string? status = null) =>
        _client.UpsertMemberAsync(_credential, _listId, new MailchimpMemberUpsert(email, statusIfNew, status), CancellationToken.None);

    [Test]
    public async Task Creating_a_contact_that_exists_is_member_exists()
    {
        await Upsert("ann@shop.test");
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri($"lists/{_listId}/members", UriKind.Relative))
        {
            Content = JsonContent.Create(new Dictionary<string, string> { ["email_address"] = "ann@shop.test", ["status"] = "subscribed" }),
        };

        var sent = await _client.SendAsync(_credential, request, CancellationToken.None);
        using var response = sent.Value!;
        var error = await MailchimpErrorMapper.FromResponseAsync(response, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(error.Code, Is.EqualTo(MailchimpErrorCodes.MemberExists));
            Assert.That(error.Status, Is.EqualTo(400));
            Assert.That(error.Detail, Does.Contain("ann@shop.test is already a list member"));
        });
    }

    [Test]
    public async Task Subscribing_an_unsubscribed_contact_is_member_in_compliance_state()
    {
        await Upsert("ann@shop.test");
        await _sandbox.SetMemberStatusAsync(_listId, "ann@shop.test", "unsubscribed");

        var result = await Upsert("ann@shop.test", status: "subscribed");

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MemberInComplianceState));
        Assert.That(result.Error!.Detail, Does.Contain("compliance state"));
    }

    [Test]
    public async Task Re_adding_a_permanently_deleted_contact_is_forgotten_email()
    {
        await Upsert("ann@shop.test");
        await _client.DeleteMemberPermanentlyAsync(_credential, _listId, SubscriberHash.FromEmail("ann@shop.test"), CancellationToken.None);

        var result = await Upsert("ann@shop.test");

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.ForgottenEmail));
        Assert.That(result.Error!.Title, Is.EqualTo("Forgotten Email Not Subscribed"));
    }

    [Test]
    public async Task A_fake_address_is_invalid_email_and_is_not_retried()
    {
        var result = await Upsert("fake.person@shop.test");
        var counters = await _sandbox.GetCountersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.InvalidEmail));
            Assert.That(result.Error!.Detail, Does.Contain("looks fake or invalid"));
            Assert.That(counters.Calls("PUT member"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task A_missing_required_merge_field_is_invalid_resource_with_field_errors()
    {
        await _client.CreateMergeFieldAsync(_credential, _listId, new MailchimpMergeFieldCreate("Customer number", "number", Tag: "CUSTNO", Required: true), CancellationToken.None);

        var result = await Upsert("ann@shop.test");

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.InvalidResource));
        Assert.That(result.Error!.Detail, Is.EqualTo("Your merge fields were invalid."));
        Assert.That(result.Error.FieldErrors.Select(e => e.Field), Does.Contain("CUSTNO"));
    }

    [Test]
    public async Task A_second_audience_on_a_one_audience_plan_is_plan_limit()
    {
        await _sandbox.SetAccountLimitsAsync(_key.AccountId, audienceLimit: 1);

        var result = await _client.CreateListAsync(_credential, MailchimpTestKit.NewList("Second"), CancellationToken.None);

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.PlanLimit));
        Assert.That(result.Error!.Status, Is.EqualTo(403));
    }

    [Test]
    public async Task A_revoked_credential_is_reauthorization_required_and_the_hook_runs_once()
    {
        await _sandbox.RevokeAsync(_key.Secret);

        var result = await _client.GetListAsync(_credential, _listId, CancellationToken.None);

        Assert.Multiple(() =>
        {
            Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.ReauthorizationRequired));
            Assert.That(result.Error!.Status, Is.EqualTo(401));
            Assert.That(_authFailures.Calls, Has.Count.EqualTo(1));
            Assert.That(_authFailures.Calls[0].AccountKey, Is.EqualTo(_credential.AccountKey));
        });
    }

    [Test]
    public async Task An_unknown_member_is_not_found()
    {
        var result = await _client.GetMemberAsync(_credential, _listId, SubscriberHash.FromEmail("nobody@shop.test"), CancellationToken.None);

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.NotFound));
        Assert.That(result.Error!.Status, Is.EqualTo(404));
    }

    [Test]
    public async Task Archiving_a_pending_contact_is_rejected_not_a_server_error()
    {
        await Upsert("ann@shop.test", statusIfNew: "pending");

        var result = await _client.ArchiveMemberAsync(_credential, _listId, SubscriberHash.FromEmail("ann@shop.test"), CancellationToken.None);

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MailchimpRejected));
        Assert.That(result.Error!.Status, Is.EqualTo(405));
    }

    [TestCase("429")]
    [TestCase("500")]
    public async Task An_idempotent_upsert_is_retried_until_it_succeeds(string fault)
    {
        await _sandbox.InjectFaultAsync("PUT member", fault, times: 2);

        var result = await Upsert("ann@shop.test");
        var counters = await _sandbox.GetCountersAsync();

        Assert.That(result.IsSuccess, Is.True, result.ToString());
        Assert.That(counters.Calls("PUT member"), Is.EqualTo(3));
        Assert.That(counters.RouteStatuses.GetValueOrDefault($"PUT member {fault}"), Is.EqualTo(2));
    }

    [Test]
    public async Task Reads_tag_updates_and_batches_are_retried()
    {
        await Upsert("ann@shop.test");
        await _sandbox.InjectFaultAsync("GET list", "500", times: 1);
        await _sandbox.InjectFaultAsync("POST tags", "429", times: 1);
        await _sandbox.InjectFaultAsync("POST batch", "500", times: 1);

        var list = await _client.GetListAsync(_credential, _listId, CancellationToken.None);
        var tags = await _client.UpdateMemberTagsAsync(_credential, _listId, SubscriberHash.FromEmail("ann@shop.test"), [MailchimpTagUpdate.Active("vip")], false, CancellationToken.None);
        // Create-only, as Hub sends it: a repeat meets what the first attempt created as ERROR_CONTACT_EXISTS, which
        // the member writer then updates as an existing contact, so retrying it is safe.
        var batch = await _client.BatchSubscribeAsync(_credential, _listId, new MailchimpBatchSubscribe([new MailchimpBatchMember("bob@shop.test", Status: "subscribed")], UpdateExisting: false), CancellationToken.None);
        var counters = await _sandbox.GetCountersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(list.IsSuccess && tags.IsSuccess && batch.IsSuccess, Is.True, $"{list} {tags} {batch}");
            Assert.That(counters.Calls("GET list"), Is.EqualTo(2));
            Assert.That(counters.Calls("POST tags"), Is.EqualTo(2));
            Assert.That(counters.Calls("POST batch"), Is.EqualTo(2));
        });
    }

    [Test]
    public async Task Non_idempotent_posts_are_not_retried()
    {
        await _sandbox.InjectFaultAsync("POST merge-fields", "500", times: 1);
        await _sandbox.InjectFaultAsync("POST lists", "429", times: 1);

        var field = await _client.CreateMergeFieldAsync(_credential, _listId, new MailchimpMergeFieldCreate("Points", "number"), CancellationToken.None);
        var list = await _client.CreateListAsync(_credential, MailchimpTestKit.NewList("Second"), CancellationToken.None);
        var counters = await _sandbox.GetCountersAsync();

        Assert.Multiple(() =>
        {
            Assert.That(field.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MailchimpUnavailable));
            Assert.That(field.Error?.Status, Is.EqualTo(500));
            Assert.That(list.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MailchimpUnavailable));
            Assert.That(list.Error?.Status, Is.EqualTo(429));
            Assert.That(counters.Calls("POST merge-fields"), Is.EqualTo(1));
            Assert.That(counters.Calls("POST lists"), Is.EqualTo(1));
        });
    }

    [Test]
    public async Task Faults_that_outlast_the_retries_are_mailchimp_unavailable()
    {
        await _sandbox.InjectFaultAsync("GET list", "500");

        var result = await _client.GetListAsync(_credential, _listId, CancellationToken.None);
        var counters = await _sandbox.GetCountersAsync();

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MailchimpUnavailable));
        Assert.That(counters.Calls("GET list"), Is.EqualTo(4), "the first attempt and three retries");
    }

    [Test]
    public async Task A_hang_past_the_configured_timeout_ends_as_mailchimp_unavailable()
    {
        await using var services = MailchimpTestKit.Replica(_sandbox, _redis, TestRedis.NewPrefix(), new Dictionary<string, string?>
        {
            ["Hub:Mailchimp:Timeout"] = "00:00:01.5",
            ["Hub:Mailchimp:AttemptTimeout"] = "00:00:00.5",
        });
        await _sandbox.InjectFaultAsync("GET ping", "hang");
        var stopwatch = Stopwatch.StartNew();

        var result = await services.Client().PingAsync(_credential, CancellationToken.None);

        Assert.That(result.Error?.Code, Is.EqualTo(MailchimpErrorCodes.MailchimpUnavailable));
        Assert.That(result.Error!.Detail, Is.EqualTo("Mailchimp did not answer in time."));
        Assert.That(stopwatch.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
    }

    [Test]
    public async Task The_callers_cancellation_is_not_turned_into_an_error()
    {
        await _sandbox.InjectFaultAsync("GET ping", "hang");
        using var cancel = new CancellationTokenSource(TimeSpan.FromMilliseconds(300));

        Assert.That(async () => await _client.PingAsync(_credential, cancel.Token), Throws.InstanceOf<OperationCanceledException>());
    }
}
