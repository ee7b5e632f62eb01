using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using StackExchange.Redis;

namespace Hub.Bench;

/// <summary>
/// The facade benchmark's floor: a process that does the I/O of Hub's member upsert on the same stack (Kestrel,
/// StackExchange.Redis, HttpClient) and nothing else. Per <c>POST /upsert</c> (<c>{"email": ...}</c>) it makes Hub's first
/// Redis round trip (the same seven commands Hub sends, the slot taken by Hub's own <c>acquire_slot.lua</c>), the member PUT to
/// the sandbox, and Hub's last round trip (a ledger script making the Redis calls Hub's makes for one member, and the slot's
/// release), each round trip awaited once. No validation, authentication, tracing, logging or resilience: what is left is
/// what the I/O alone costs a process at the benchmark's rate, the floor under any implementation of the upsert.
/// Started by the facade benchmark as <c>Hub.Bench floor-server --port N</c> with the runtime settings Hub ships.
/// </summary>
public static class FloorServer
{
    // The Redis calls Hub's ledger script (ledger_apply.lua) makes for one applied member of a list with no refused member:
    // the member is written only when its stored value differs (an upsert that changes nothing writes nothing).
    private const string LedgerScript = """
        redis.call('SADD', KEYS[2], ARGV[1])
        redis.call('EXISTS', KEYS[3])
        local was = redis.call('HGET', KEYS[1], ARGV[2])
        if was ~= ARGV[3] then redis.call('HSET', KEYS[1], ARGV[2], ARGV[3]) end
        return was
        """;

    private const int SlotCap = 8; // Hub's default Hub:Mailchimp:MaxConcurrentCallsPerAccount (MailchimpOptions)

    /// <summary>Runtime settings of Hub.Api's build (Hub.Api.csproj and the Web SDK's default), as environment variables.</summary>
    public static readonly IReadOnlyDictionary<string, string> HubRuntimeSettings = new Dictionary<string, string>
    {
        ["DOTNET_gcServer"] = "1",
        ["DOTNET_TieredPGO"] = "0",
        ["DOTNET_ThreadPool_UnfairSemaphoreSpinLimit"] = "20",
    };

    public static async Task RunAsync(string[] args)
    {
        var port = int.Parse(args[Array.IndexOf(args, "--port") + 1], System.Globalization.CultureInfo.InvariantCulture);
        var prefix = Required("HUB_FLOOR_PREFIX");
        var members = new Uri(Required("HUB_FLOOR_MEMBERS_URL")); // .../3.0/lists/{list_id}/members/
        await using var redis = await ConnectionMultiplexer.ConnectAsync(Required("HUB_FLOOR_REDIS"));
        var db = redis.GetDatabase();
        // Hub's script, with the locals Hub's RedisScript puts before it for its header's names (checked: a changed header stops the floor).
        var acquireSource = File.ReadAllText(Path.Combine(BenchProcess.RepositoryRoot(), "Hub.Core", "Mailchimp", "Lua", "acquire_slot.lua"));
        if (!acquireSource.Contains("-- KEYS: holders\n", StringComparison.Ordinal) || !acquireSource.Contains("-- ARGV: now, cap, lease_expires, holder, key_ttl\n", StringComparison.Ordinal))
        {
            throw new InvalidOperationException("acquire_slot.lua's KEYS or ARGV header changed: update FloorServer's locals to match.");
        }

        var acquire = "local holders = KEYS[1]\nlocal now, cap, lease_expires, holder, key_ttl = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]\n" + acquireSource;

        // The tenant's records, sized like Hub's: a list, a connection, secrets, one managed audience.
        RedisKey lists = prefix + "lists", connection = prefix + "connection", secrets = prefix + "secrets", managed = prefix + "managed",
            ledger = prefix + "ledger", synced = prefix + "synced", refused = prefix + "refused", slots = prefix + "slots";
        await db.HashSetAsync(lists, "bench", new string('l', 420));
        await db.HashSetAsync(connection, [new("state", "connected"), new("mode", "api_key"), new("dc", "us21"), new("accountId", "0123456789abcdef")]);
        await db.HashSetAsync(secrets, [new("mailchimp-api-key", new string('k', 96)), new("person-hash-key", new string('p', 60))]);
        await db.SetAddAsync(managed, "abcdef1234");

        using var mailchimp = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan }) { BaseAddress = members };
        mailchimp.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Required("HUB_FLOOR_MAILCHIMP_AUTH"));

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        if (Environment.GetEnvironmentVariable("HUB_FLOOR_INLINE") == "1")
        {
            // Requests run on the socket threads (with DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1): the fewest thread hops Kestrel allows.
            builder.WebHost.UseSockets(sockets => sockets.UnsafePreferInlineScheduling = true);
        }

        var app = builder.Build();
        app.MapGet("/health", () => Results.Ok());
        app.MapPost("/upsert", async (HttpContext http) =>
        {
            string email;
            using (var body = await JsonDocument.ParseAsync(http.Request.Body))
            {
                email = body.RootElement.GetProperty("email").GetString()!;
            }

            var hash = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())));
            var holder = Guid.NewGuid().ToString("N");
            var now = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var hubAdded = db.HashGetAsync(ledger, hash);
            var personKey = db.HashGetAsync(secrets, "person-hash-key");
            var slot = db.ScriptEvaluateAsync(acquire, [slots], [now, SlotCap, now + 30_000, holder, 60_000]);
            var list = db.HashGetAsync(lists, "bench");
            var state = db.HashGetAsync(connection, ["state", "mode", "dc", "accountId"]);
            var key = db.HashGetAsync(secrets, ["mailchimp-api-key", "mailchimp-access-token"]);
            var audiences = db.SetMembersAsync(managed);
            await Task.WhenAll(hubAdded, personKey, slot, list, state, key, audiences);
            if ((long)await slot != 1)
            {
                return Results.StatusCode(StatusCodes.Status503ServiceUnavailable); // every slot taken: counted as an error, not waited for
            }

            using var put = new HttpRequestMessage(HttpMethod.Put, hash)
            {
                Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, string> { ["email_address"] = email, ["status_if_new"] = "subscribed" }), Encoding.UTF8, "application/json"),
            };
            using var answer = await mailchimp.SendAsync(put);
            using var member = await JsonDocument.ParseAsync(await answer.Content.ReadAsStreamAsync());
            var status = member.RootElement.TryGetProperty("status", out var value) ? value.GetString() : null;

            await Task.WhenAll(
                db.ScriptEvaluateAsync(LedgerScript, [ledger, synced, refused], ["bench", hash, "0123456789abcdef"]),
                db.SortedSetRemoveAsync(slots, holder));
            return answer.IsSuccessStatusCode ? Results.Json(new Dictionary<string, string?> { ["email"] = email, ["status"] = status }) : Results.StatusCode((int)answer.StatusCode);
        });
        await app.RunAsync();
    }

    private static string Required(string name) =>
        Environment.GetEnvironmentVariable(name) is { Length: > 0 } value ? value : throw new InvalidOperationException($"{name} is not set.");
}
