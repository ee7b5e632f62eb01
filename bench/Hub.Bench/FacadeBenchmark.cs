using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using StackExchange.Redis;

namespace Hub.Bench;

/// <summary>
/// Issue 5: what Hub adds on top of Mailchimp. The same member upsert and member read go straight to
/// the sandbox and through Hub (which then calls the same sandbox), at a fixed rate, taking turns in
/// one-second blocks within one run on this machine; the same upsert through <see cref="FloorServer"/> (its I/O with no Hub code);
/// and <c>GET /api/v1/connection</c> under a closed loop for Hub's own throughput.
/// Settings come from the environment: HUB_BENCH_REDIS (127.0.0.1:6379), HUB_BENCH_RATE (500 req/s),
/// HUB_BENCH_SECONDS (10 per measurement), HUB_BENCH_RUNS (3; the median run is reported),
/// HUB_BENCH_CONCURRENCY (64, the connection read), HUB_BENCH_ONLY (run only the measurements whose name contains it).
/// </summary>
public static class FacadeBenchmark
{
    private const int PoolSize = 1000;
    private const string ListKey = "bench";
    private const string FloorRow = "floor: the upsert's I/O alone";
    private const string ConnectionRead = "connection read";

    private static readonly int Rate = Setting("HUB_BENCH_RATE", 500);
    private static readonly int Seconds = Setting("HUB_BENCH_SECONDS", 10);
    private static readonly int Runs = Math.Max(1, Setting("HUB_BENCH_RUNS", 3));
    private static readonly int Concurrency = Setting("HUB_BENCH_CONCURRENCY", 64);

    public static async Task RunAsync()
    {
        var redisEndpoint = Environment.GetEnvironmentVariable("HUB_BENCH_REDIS") is { Length: > 0 } configured ? configured : "127.0.0.1:6379";
        var prefix = $"bench:{Guid.NewGuid():N}:";
        var adminKey = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

        await using var sandbox = await BenchProcess.StartSandboxAsync();
        using var control = Client(sandbox.BaseUrl);
        var account = (await control.GetFromJsonAsync<JsonArray>("/_control/accounts"))![0]!;
        var accountId = (string)account["id"]!;
        var dc = (string)account["dc"]!;
        var mailchimpKey = (string)(await PostJson(control, $"/_control/accounts/{accountId}/api-keys", new JsonObject()))["api_key"]!;

        await using var hub = await BenchProcess.StartHubAsync(new Dictionary<string, string>
        {
            ["Hub__Redis__ConnectionString"] = redisEndpoint,
            ["Hub__Redis__KeyPrefix"] = prefix,
            ["Hub__Admin__ApiKey"] = adminKey,
            ["Hub__Encryption__Keys__k1"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
            ["Hub__Encryption__ActiveKeyId"] = "k1",
            ["Hub__Mailchimp__ApiBaseTemplate"] = $"http://127.0.0.1:{sandbox.BaseUrl.Port}/{{dc}}/3.0",
            ["Hub__RateLimit__PermitsPerSecond"] = "1000000",
            ["Hub__RateLimit__Burst"] = "1000000",
            // Hub's own log levels as shipped (appsettings.json), not the harness's quieter default.
            ["Logging__LogLevel__Default"] = "Information",
            ["Hub__DataDirectory"] = Path.Combine(Path.GetTempPath(), "hub-bench-" + Guid.NewGuid().ToString("N")),
        });

        try
        {
            await MeasureAsync(sandbox, hub, adminKey, dc, mailchimpKey, redisEndpoint, prefix);
        }
        finally
        {
            await ForgetAsync(redisEndpoint, prefix);
        }
    }

    private static async Task MeasureAsync(BenchProcess sandbox, BenchProcess hub, string adminKey, string dc, string mailchimpKey, string redisEndpoint, string prefix)
    {
        using var admin = Client(hub.BaseUrl, adminKey);
        var tenant = await PostJson(admin, "/api/admin/tenants", new JsonObject
        {
            ["name"] = "Bench Shop",
            ["defaultPermissionReminder"] = "You signed up at Bench Shop.",
            ["defaultContact"] = new JsonObject { ["company"] = "Bench Shop", ["address1"] = "1 Bench Street", ["city"] = "Berlin", ["country"] = "DE" },
            ["defaultCampaignDefaults"] = new JsonObject { ["fromName"] = "Bench Shop", ["fromEmail"] = "news@bench.test", ["subject"] = "News", ["language"] = "en" },
        });
        var tenantId = (string)tenant["tenant"]!["id"]!;
        var tenantKey = (string)(await PostJson(admin, $"/api/admin/tenants/{tenantId}/keys", new JsonObject { ["name"] = "bench" }))["key"]!;

        using var viaHub = Client(hub.BaseUrl, tenantKey);
        await PutJson(viaHub, "/api/v1/connection/api-key", new JsonObject { ["apiKey"] = mailchimpKey });
        var list = await PostJson(viaHub, "/api/v1/lists", new JsonObject { ["key"] = ListKey, ["newAudience"] = new JsonObject { ["name"] = "Bench audience" } });
        var audienceId = (string)list["audienceId"]!;

        using var direct = Client(sandbox.BaseUrl);
        var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("bench:" + mailchimpKey));
        direct.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", basic);
        var members = $"/{dc}/3.0/lists/{audienceId}/members/";

        // The floor: the upsert's I/O on the same stack with no Hub code (FloorServer), against the same sandbox and Redis.
        // Started only when its row runs, so that Hub's rows share the machine with the same processes as before it existed.
        await using var floor = Selected(FloorRow) ? await BenchProcess.StartFloorAsync(new Dictionary<string, string>
        {
            ["HUB_FLOOR_REDIS"] = redisEndpoint,
            ["HUB_FLOOR_PREFIX"] = prefix + "floor:",
            ["HUB_FLOOR_MEMBERS_URL"] = new Uri(sandbox.BaseUrl, members).ToString(),
            ["HUB_FLOOR_MAILCHIMP_AUTH"] = basic,
        }) : null;
        using var viaFloor = floor is null ? null : Client(floor.BaseUrl);

        // The pool: members Hub added, so the upserts below update them and the reads find them.
        await Parallel.ForEachAsync(Enumerable.Range(0, PoolSize), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, _) =>
            await PostJson(viaHub, $"/api/v1/lists/{ListKey}/members", new JsonObject { ["email"] = PoolEmail(i) }));

        var fresh = 0;
        Func<int, Task<bool>> upsertDirect = i => Send(direct, HttpMethod.Put, members + Hash(PoolEmail(i)), new JsonObject { ["email_address"] = PoolEmail(i), ["status_if_new"] = "subscribed" });
        var scenarios = new (string Name, Func<int, Task<bool>> Direct, Func<int, Task<bool>> Hub, BenchProcess Via)[]
        {
            ("upsert member (existing)", upsertDirect,
                i => Send(viaHub, HttpMethod.Post, $"/api/v1/lists/{ListKey}/members", new JsonObject { ["email"] = PoolEmail(i) }), hub),
            // The same upsert through the floor instead of Hub: the I/O Hub's upsert must do, with none of Hub's code. Its
            // CPU column is the floor process's.
            (FloorRow, upsertDirect,
                i => Send(viaFloor!, HttpMethod.Post, "/upsert", new JsonObject { ["email"] = PoolEmail(i) }), floor!),
            ("upsert member (new address)",
                _ =>
                {
                    var email = NewEmail("d", ref fresh);
                    return Send(direct, HttpMethod.Put, members + Hash(email), new JsonObject { ["email_address"] = email, ["status_if_new"] = "subscribed" });
                },
                _ => Send(viaHub, HttpMethod.Post, $"/api/v1/lists/{ListKey}/members", new JsonObject { ["email"] = NewEmail("h", ref fresh) }), hub),
            ("read member",
                i => Send(direct, HttpMethod.Get, members + Hash(PoolEmail(i)), null),
                i => Send(viaHub, HttpMethod.Get, $"/api/v1/lists/{ListKey}/members/{Uri.EscapeDataString(PoolEmail(i))}", null), hub),
            // No I/O on either side: what any request costs each process at this rate, the floor under the rows above.
            ("no I/O (ping, /health/live)",
                _ => Send(direct, HttpMethod.Get, $"/{dc}/3.0/ping", null),
                _ => Send(viaHub, HttpMethod.Get, "/health/live", null), hub),
        };

        scenarios = [.. scenarios.Where(scenario => Selected(scenario.Name))];

        Console.WriteLine($"Open loop at {Rate} req/s, direct and through Hub taking turns in 1 s blocks for {Seconds} s each per measurement, {Runs} run(s); Hub pid {hub.Id}, sandbox pid {sandbox.Id}, {Environment.ProcessorCount} cores.");
        foreach (var (name, toDirect, toHub, _) in scenarios)
        {
            await LoadGenerator.OpenLoopAsync(name + " warm-up", Rate, TimeSpan.FromSeconds(2), toDirect);
            await LoadGenerator.OpenLoopAsync(name + " warm-up", Rate, TimeSpan.FromSeconds(2), toHub);
        }

        var results = scenarios.ToDictionary(s => s.Name, _ => new List<(LoadResult Direct, LoadResult Hub, double HubCpuMicros, double SandboxCpuMicros, double ProbeMs)>());
        for (var run = 0; run < Runs; run++)
        {
            foreach (var (name, toDirect, toHub, via) in scenarios)
            {
                // Direct and through Hub take turns in one-second blocks, so both meet the same noise of this
                // shared machine; Hub's CPU time is counted over its own blocks only, the sandbox's over the direct blocks.
                var probe = await MachineProbe.MeasureAsync();
                var hubCpu = 0.0;
                var sandboxCpu = 0.0;
                var cpuBefore = 0.0;
                var (d, h) = await LoadGenerator.AlternatingOpenLoopsAsync(name, Rate, TimeSpan.FromSeconds(Seconds), TimeSpan.FromSeconds(1), toDirect, toHub,
                    beforeA: () => cpuBefore = CpuSeconds(sandbox.Id), afterA: () => sandboxCpu += CpuSeconds(sandbox.Id) - cpuBefore,
                    beforeB: () => cpuBefore = CpuSeconds(via.Id), afterB: () => hubCpu += CpuSeconds(via.Id) - cpuBefore);
                var cpuPerRequest = hubCpu / h.Requests * 1e6;
                var sandboxCpuPerRequest = sandboxCpu / d.Requests * 1e6;
                results[name].Add((d, h, cpuPerRequest, sandboxCpuPerRequest, probe));
                Console.Error.WriteLine($"  run {run + 1} {name}: direct p50 {Ms(d.P50Ms)} p99 {Ms(d.P99Ms)} | Hub p50 {Ms(h.P50Ms)} p99 {Ms(h.P99Ms)} | Hub CPU {cpuPerRequest:F0} µs/req | sandbox CPU (direct) {sandboxCpuPerRequest:F0} µs/req | errors {d.Errors}/{h.Errors} | sent late p99 {Ms(d.SendLateP99Ms)}/{Ms(h.SendLateP99Ms)} | machine probe {probe:0} ms");
            }
        }

        string[] header = ["scenario", "direct p50", "via Hub (or floor) p50", "added p50", "direct p99", "via Hub (or floor) p99", "added p99", "throughput", "Hub (or floor) CPU/req", "sandbox CPU/req (direct)", "sent late p99", "errors", "machine probe"];
        Table.Print($"Every run ({Rate} req/s open loop, direct and via Hub alternating in 1 s blocks, {Seconds} s each; ms)", ["run", .. header],
            results.SelectMany(scenario => scenario.Value.Select((pair, run) => (string[])[(run + 1).ToString(CultureInfo.InvariantCulture), .. Row(scenario.Key, pair)])));
        Table.Print($"Facade overhead: median run of {Runs} by added p99 ({Rate} req/s open loop, direct and via Hub alternating in 1 s blocks, {Seconds} s each; ms)", header,
            results.Select(scenario => Row(scenario.Key, scenario.Value.OrderBy(pair => pair.Hub.P99Ms - pair.Direct.P99Ms).ElementAt(scenario.Value.Count / 2))));

        if (!Selected(ConnectionRead))
        {
            return;
        }

        // Hub's own ceiling: reading the connection (authentication plus Redis, no Mailchimp call).
        await LoadGenerator.ClosedLoopAsync("connection warm-up", Concurrency, TimeSpan.FromSeconds(2), () => Send(viaHub, HttpMethod.Get, "/api/v1/connection", null));
        var reads = new List<(LoadResult Result, double HubCores)>();
        for (var run = 0; run < Runs; run++)
        {
            var cpuBefore = CpuSeconds(hub.Id);
            var started = DateTime.UtcNow;
            var result = await LoadGenerator.ClosedLoopAsync("GET /api/v1/connection", Concurrency, TimeSpan.FromSeconds(Seconds), () => Send(viaHub, HttpMethod.Get, "/api/v1/connection", null));
            var cores = (CpuSeconds(hub.Id) - cpuBefore) / (DateTime.UtcNow - started).TotalSeconds;
            reads.Add((result, cores));
            Console.Error.WriteLine($"  run {run + 1} connection read: {result.RequestsPerSecond:F0} req/s, p50 {Ms(result.P50Ms)} p99 {Ms(result.P99Ms)}, Hub CPU {cores:F2} cores, errors {result.Errors}");
        }

        Table.Print($"Connection read: closed loop, {Concurrency} in flight, {Seconds} s; median run of {Runs} by throughput", ["scenario", "throughput", "p50", "p99", "Hub CPU (cores)", "Hub CPU/req", "errors"],
            [ConnectionRow(reads.OrderBy(r => r.Result.RequestsPerSecond).ElementAt(reads.Count / 2))]);
        Console.WriteLine();
        Console.WriteLine($"Targets: Hub adds at most 1 ms at p50 and 5 ms at p99 at 500 req/s; the connection read serves at least 5,000 req/s on 2 cores. Hub peak memory {hub.PeakMemoryMiB():F0} MiB.");
    }

    /// <summary>Whether a measurement runs: all of them, or with <c>HUB_BENCH_ONLY</c> those whose name contains its text.</summary>
    private static bool Selected(string name) =>
        Environment.GetEnvironmentVariable("HUB_BENCH_ONLY") is not { Length: > 0 } only || name.Contains(only, StringComparison.OrdinalIgnoreCase);

    private static string[] Row(string name, (LoadResult Direct, LoadResult Hub, double HubCpuMicros, double SandboxCpuMicros, double ProbeMs) pair)
    {
        var (d, h, cpu, sandboxCpu, probe) = pair;
        return [name, Ms(d.P50Ms), Ms(h.P50Ms), Ms(h.P50Ms - d.P50Ms), Ms(d.P99Ms), Ms(h.P99Ms), Ms(h.P99Ms - d.P99Ms),
            $"{h.RequestsPerSecond:F0} req/s", $"{cpu:F0} µs", $"{sandboxCpu:F0} µs", $"{Ms(d.SendLateP99Ms)}/{Ms(h.SendLateP99Ms)}", $"{d.Errors}/{h.Errors}", $"{probe:0} ms"];
    }

    private static string[] ConnectionRow((LoadResult Result, double HubCores) read) =>
        ["GET /api/v1/connection", $"{read.Result.RequestsPerSecond:F0} req/s", Ms(read.Result.P50Ms), Ms(read.Result.P99Ms),
            read.HubCores.ToString("F2", CultureInfo.InvariantCulture), $"{read.HubCores / read.Result.RequestsPerSecond * 1e6:F0} µs",
            read.Result.Errors.ToString(CultureInfo.InvariantCulture)];

    private static string PoolEmail(int i) => $"bench{i % PoolSize}@shop.test";

    private static string NewEmail(string side, ref int counter) => $"new-{side}{Interlocked.Increment(ref counter)}@shop.test";

    private static string Hash(string email) => Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(email.ToLowerInvariant())));

    internal static async Task<bool> Send(HttpClient client, HttpMethod method, string path, JsonObject? body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
        try
        {
            using var response = await client.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (!response.IsSuccessStatusCode)
            {
                ReportFirstFailure(client, $"{method} {path} answered {(int)response.StatusCode}: {text}");
            }

            return response.IsSuccessStatusCode;
        }
        catch (HttpRequestException e)
        {
            ReportFirstFailure(client, $"{method} {path} failed: {e.Message}");
            return false;
        }
    }

    private static readonly HashSet<HttpClient> Reported = [];

    /// <summary>Prints the first failure of each client, so an error count in the table has a reason beside it.</summary>
    private static void ReportFirstFailure(HttpClient client, string failure)
    {
        lock (Reported)
        {
            if (Reported.Add(client))
            {
                Console.Error.WriteLine($"  first failure: {failure}");
            }
        }
    }

    private static Task<JsonObject> PostJson(HttpClient client, string path, JsonObject body) => SendJson(client, HttpMethod.Post, path, body);

    private static Task<JsonObject> PutJson(HttpClient client, string path, JsonObject body) => SendJson(client, HttpMethod.Put, path, body);

    private static async Task<JsonObject> SendJson(HttpClient client, HttpMethod method, string path, JsonObject body)
    {
        using var request = new HttpRequestMessage(method, path) { Content = JsonContent.Create(body) };
        using var response = await client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"{method} {path} answered {(int)response.StatusCode}: {text}");
        }

        return JsonNode.Parse(text)!.AsObject();
    }

    private static HttpClient Client(Uri baseUrl, string? bearer = null)
    {
        var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = Timeout.InfiniteTimeSpan, MaxConnectionsPerServer = int.MaxValue })
        {
            BaseAddress = baseUrl,
            Timeout = TimeSpan.FromSeconds(30),
        };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    /// <summary>User plus system CPU time of a process, from /proc/{pid}/stat.</summary>
    private static double CpuSeconds(int pid)
    {
        var stat = File.ReadAllText($"/proc/{pid}/stat");
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
        return ticks / 100.0;
    }

    /// <summary>Removes every key this run wrote (only its own fresh prefix).</summary>
    private static async Task ForgetAsync(string endpoint, string prefix)
    {
        try
        {
            await using var redis = await ConnectionMultiplexer.ConnectAsync(endpoint);
            var server = redis.GetServer(redis.GetEndPoints()[0]);
            var doomed = new List<RedisKey>();
            await foreach (var key in server.KeysAsync(pattern: prefix + "*", pageSize: 1000))
            {
                doomed.Add(key);
            }

            foreach (var chunk in doomed.Chunk(500))
            {
                await redis.GetDatabase().KeyDeleteAsync(chunk);
            }
        }
        catch (RedisException e)
        {
            Console.Error.WriteLine($"Could not remove the benchmark's keys under '{prefix}': {e.Message}");
        }
    }

    private static string Ms(double value) => value.ToString("F2", CultureInfo.InvariantCulture);

    private static int Setting(string name, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(name), NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0 ? value : fallback;
}
