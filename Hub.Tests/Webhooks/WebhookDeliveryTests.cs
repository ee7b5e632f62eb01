using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;
using Hub.Tests.Infrastructure;
using Hub.Tests.OAuth;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Webhooks;

[TestFixture]
public sealed class WebhookDeliveryTests
{
    [Test]
    public async Task Webhooks_are_signed_with_the_tenant_secret_over_timestamp_and_body()
    {
        await using var env = await ConsentEnvironment.StartAsync();
        var tenant = await env.CreateTenantAsync();
        var publisher = env.Hub.Services.GetRequiredService<IWebhookPublisher>();
        var data = JsonDocument.Parse("""{"jobId":"j1","members":3}""").RootElement;
        await publisher.PublishAsync(TenantId.Parse(tenant.Id), "sync.completed", data, CancellationToken.None);

        var hook = await env.Receiver.WaitForAsync("sync.completed");
        var parts = hook.Signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(tenant.WebhookSigningSecret), Encoding.UTF8.GetBytes(parts["t"] + "." + hook.Body)));
        var body = JsonDocument.Parse(hook.Body).RootElement;
        Assert.Multiple(() =>
        {
            Assert.That(parts["v1"], Is.EqualTo(expected));
            Assert.That(long.Parse(parts["t"], System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(DateTimeOffset.UtcNow.ToUnixTimeSeconds()).Within(60));
            Assert.That(body.GetProperty("type").GetString(), Is.EqualTo("sync.completed"));
            Assert.That(body.GetProperty("tenantId").GetString(), Is.EqualTo(tenant.Id));
            Assert.That(body.GetProperty("id").GetString(), Does.StartWith("wh_"));
            Assert.That(body.GetProperty("data").GetProperty("members").GetInt32(), Is.EqualTo(3));
            Assert.That(WebhookSignature.Verify(new Core.Security.Secret("whsec_other"), hook.Signature, hook.Body, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), Is.False);
        });
    }

    [Test]
    public async Task Failed_deliveries_are_retried_with_backoff_and_every_attempt_is_recorded()
    {
        await using var env = await ConsentEnvironment.StartAsync();
        var tenant = await env.CreateTenantAsync();
        env.Receiver.FailNext(2);
        var publisher = env.Hub.Services.GetRequiredService<IWebhookPublisher>();
        var id = await publisher.PublishAsync(TenantId.Parse(tenant.Id), "sync.completed", JsonDocument.Parse("{}").RootElement, CancellationToken.None);

        await env.Receiver.WaitForAsync("sync.completed");
        var received = env.Receiver.Received.Where(h => h.EventType == "sync.completed").ToList();
        Assert.That(received.Select(h => h.AnsweredStatus), Is.EqualTo(new[] { 500, 500, 200 }));
        Assert.That(received[1].At - received[0].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(250)), "first retry after the initial delay (300 ms)");
        Assert.That(received[2].At - received[1].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(550)), "the second wait doubles");
        Assert.That(received.Select(h => h.Body).Distinct().Count(), Is.EqualTo(1), "every attempt sends the same body");

        using var client = env.Hub.Client(tenant.ApiKey);
        var deliveries = await PollDeliveredAsync(client, id!);
        var attempts = deliveries.GetProperty("attempts").EnumerateArray().ToList();
        Assert.Multiple(() =>
        {
            Assert.That(deliveries.GetProperty("status").GetString(), Is.EqualTo("delivered"));
            Assert.That(attempts.Select(a => a.GetProperty("attempt").GetInt32()), Is.EqualTo(new[] { 1, 2, 3 }));
            Assert.That(attempts.Select(a => a.GetProperty("statusCode").GetInt32()), Is.EqualTo(new[] { 500, 500, 200 }));
            Assert.That(attempts[0].GetProperty("error").GetString(), Does.Contain("500"));
        });
    }

    [Test]
    public async Task An_event_published_again_under_its_key_keeps_its_delivery_id_and_is_sent_once()
    {
        await using var env = await ConsentEnvironment.StartAsync();
        var tenant = await env.CreateTenantAsync();
        var publisher = env.Hub.Services.GetRequiredService<IWebhookPublisher>();
        var id = TenantId.Parse(tenant.Id);
        var first = await publisher.PublishAsync(id, "sync.completed", JsonDocument.Parse("""{"try":1}""").RootElement, "job_1", CancellationToken.None);
        var again = await publisher.PublishAsync(id, "sync.completed", JsonDocument.Parse("""{"try":2}""").RootElement, "job_1", CancellationToken.None);
        var other = await publisher.PublishAsync(id, "sync.completed", JsonDocument.Parse("""{"try":3}""").RootElement, "job_2", CancellationToken.None);

        await env.Receiver.WaitForAsync("sync.completed", count: 2);
        await Task.Delay(500);
        var bodies = env.Receiver.Received.Select(hook => JsonDocument.Parse(hook.Body).RootElement).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(again, Is.EqualTo(first));
            Assert.That(other, Is.Not.EqualTo(first));
            Assert.That(bodies.Select(body => body.GetProperty("id").GetString()), Is.EquivalentTo(new[] { first, other }), "one delivery per event");
            Assert.That(bodies.Single(body => body.GetProperty("id").GetString() == first).GetProperty("data").GetProperty("try").GetInt32(), Is.EqualTo(1), "the first publish's body is the one sent");
        });
    }

    [Test]
    public async Task Deliveries_page_newest_first_by_cursor_and_events_queued_meanwhile_shift_nothing()
    {
        await using var env = await ConsentEnvironment.StartAsync();
        var tenant = await env.CreateTenantAsync();
        var tenantId = TenantId.Parse(tenant.Id);
        var publisher = env.Hub.Services.GetRequiredService<IWebhookPublisher>();
        var published = new List<string>();
        for (var i = 0; i < 5; i++)
        {
            published.Add((await publisher.PublishAsync(tenantId, "sync.completed", JsonDocument.Parse($$"""{"n":{{i}}}""").RootElement, CancellationToken.None))!);
        }

        using var client = env.Hub.Client(tenant.ApiKey);
        var seen = new List<string>();
        var page = await client.GetFromJsonAsync<JsonElement>("/api/v1/webhooks/deliveries?limit=2");
        for (var pages = 0; pages < 10; pages++)
        {
            seen.AddRange(page.GetProperty("items").EnumerateArray().Select(delivery => delivery.GetProperty("id").GetString()!));
            Assert.That(page.GetProperty("total").ValueKind, Is.EqualTo(JsonValueKind.Null));
            // A new event while the host pages: it goes on top, before the first page.
            await publisher.PublishAsync(tenantId, "sync.completed", JsonDocument.Parse("{}").RootElement, CancellationToken.None);
            if (page.GetProperty("nextCursor").GetString() is not { } cursor)
            {
                break;
            }

            page = await client.GetFromJsonAsync<JsonElement>($"/api/v1/webhooks/deliveries?limit=2&cursor={cursor}");
        }

        // Events of one millisecond are ordered by id, so the order to expect is the one a single page shows.
        var whole = (await client.GetFromJsonAsync<JsonElement>("/api/v1/webhooks/deliveries?limit=200")).GetProperty("items").EnumerateArray()
            .Select(delivery => delivery.GetProperty("id").GetString()!).Where(published.Contains).ToList();
        Assert.That(seen, Is.EquivalentTo(published).And.Unique);
        Assert.That(seen, Is.EqualTo(whole), "newest first, each once");
        foreach (var (query, parameter) in new[] { ("cursor=abc", "cursor"), ("cursor=" + new string('A', 600), "cursor"), ("limit=0", "limit"), ("limit=201", "limit") })
        {
            using var refused = await client.GetAsync("/api/v1/webhooks/deliveries?" + query);
            var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "validation");
            Assert.That(problem.GetProperty("errors").TryGetProperty(parameter, out _), Is.True, query);
        }
    }

    [Test]
    public async Task Private_targets_are_refused_when_not_allowed()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var hub = await HubHost.StartAsync(new HubHostSettings
        {
            Configuration = new() { ["Hub:Webhooks:AllowPrivateTargets"] = "false", ["Hub:Webhooks:PollInterval"] = "00:00:00.050" },
        });
        using var admin = hub.Admin();
        using var refused = await admin.PostAsJsonAsync("/api/admin/tenants", new { name = "Private", webhookUrl = receiver.HookUrl });
        await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.BadRequest, "validation");

        // A URL stored before the rules changed (or behind a name that now resolves privately) is refused at delivery.
        var tenant = await hub.CreateTenantAsync();
        var id = TenantId.Parse(tenant.Id);
        await hub.Services.GetRequiredService<TenantStore>().UpdateAsync(id, new TenantChanges { WebhookUrl = receiver.HookUrl }, CancellationToken.None);
        var deliveryId = await hub.Services.GetRequiredService<IWebhookPublisher>().PublishAsync(id, "sync.completed", JsonDocument.Parse("{}").RootElement, CancellationToken.None);

        using var client = hub.Client(tenant.ApiKey);
        JsonElement delivery = default;
        for (var i = 0; i < 200; i++)
        {
            delivery = (await client.GetFromJsonAsync<JsonElement>("/api/v1/webhooks/deliveries")).GetProperty("items").EnumerateArray().Single(d => d.GetProperty("id").GetString() == deliveryId);
            if (delivery.GetProperty("status").GetString() != "pending")
            {
                break;
            }

            await Task.Delay(50);
        }

        Assert.Multiple(() =>
        {
            Assert.That(delivery.GetProperty("status").GetString(), Is.EqualTo("failed"));
            Assert.That(delivery.GetProperty("attempts")[0].GetProperty("error").GetString(), Does.Contain("refused"));
            Assert.That(receiver.Received, Is.Empty);
        });
    }

    [Test]
    public async Task A_delivery_claimed_by_a_replica_that_died_is_sent_after_its_lease()
    {
        await using var env = await ConsentEnvironment.StartAsync(new() { ["Hub:Webhooks:Lease"] = "00:00:01" });
        var tenant = await env.CreateTenantAsync();
        var store = env.Hub.Services.GetRequiredService<WebhookStore>();
        var db = env.Hub.Redis.GetDatabase();
        var shard = Hub.Core.Storage.RedisKeys.ShardOf(TenantId.Parse(tenant.Id));
        var queue = env.Hub.Keys.WebhookQueue(shard);
        var id = WebhookStore.NewId();

        // Enqueue as due in the future, claim it as a replica that then dies (never completes).
        await store.EnqueueAsync(TenantId.Parse(tenant.Id), "sync.completed", "{\"type\":\"sync.completed\"}", DateTimeOffset.UtcNow, id, CancellationToken.None);
        await db.SortedSetAddAsync(queue, id, DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeMilliseconds());
        var leaseUntil = DateTimeOffset.UtcNow.AddSeconds(1).ToUnixTimeMilliseconds();
        await db.HashSetAsync(env.Hub.Keys.WebhookDelivery(shard, id), "lease", "dead-replica");
        await db.SortedSetAddAsync(queue, id, leaseUntil);

        var hook = await env.Receiver.WaitForAsync("sync.completed", timeout: TimeSpan.FromSeconds(10));
        Assert.That(hook.Body, Is.EqualTo("{\"type\":\"sync.completed\"}"));
    }

    private static async Task<JsonElement> PollDeliveredAsync(HttpClient client, string deliveryId)
    {
        JsonElement delivery = default;
        for (var i = 0; i < 200; i++)
        {
            delivery = (await client.GetFromJsonAsync<JsonElement>("/api/v1/webhooks/deliveries?limit=10")).GetProperty("items").EnumerateArray().Single(d => d.GetProperty("id").GetString() == deliveryId);
            if (delivery.GetProperty("status").GetString() == "delivered")
            {
                break;
            }

            await Task.Delay(50);
        }

        return delivery;
    }
}
