using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;

namespace Hub.Bench;

/// <summary>
/// Issue 6's sync benchmarks, each against a fresh sandbox and Hub process:
/// 1. first sync of 100,000 members (sandbox 100 ms per call + 1 ms per member, cap 10; after a 10,000-member warm-up sync) against the physical
///    limit and a naive one-PUT-per-member client; 2. a re-sync with no change; 3. a 1,000,000-member NDJSON
///    body streamed through Hub (its peak memory); 4. two replicas, the one running the job killed mid-sync.
/// <c>sync [first|resync|memory|failover]...</c> runs a subset (first and resync run together); sizes can be
/// overridden with HUB_BENCH_SYNC_N, HUB_BENCH_MEMORY_N, HUB_BENCH_NAIVE_SAMPLE, HUB_BENCH_FAILOVER_N.
/// </summary>
public static class SyncBenchmark
{
    private const int Cap = 10;
    private const int PerCallMs = 100;
    private const int PerMemberMs = 1;
    private const int BatchSize = 500;
    private const int NaiveConnections = 9;
    // The runtime compiles a method again, optimized, once it has been called 30 times: the warm-up makes 50 batch calls
    // (at 10,000 members, 20, the code of each Mailchimp call was still compiled during the timed sync: 1.3-1.6 s of CPU).
    private const int WarmUpMembers = 25_000;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    // List webhooks off (Hub:Events:Enabled is on by default): registering one is a Mailchimp call of its own
    // (POST /lists/{id}/webhooks, plus retries when it fails), which the call counts in these tables would include.
    // The events benchmark measures them.
    private static readonly Dictionary<string, string> HubSettings = new()
    {
        ["Hub__Mailchimp__MaxConcurrentCallsPerAccount"] = Cap.ToString(Inv),
        ["Hub__Events__Enabled"] = "false",
    };

    public static async Task RunAsync(string[] args)
    {
        var which = args.Length == 0 ? ["first", "memory", "failover"] : args.Select(arg => arg.ToLowerInvariant()).ToArray();
        Console.WriteLine($"Sync benchmarks on {Environment.ProcessorCount} cores; Redis {BenchEnvironment.RedisConnection}. Figures are single runs on a shared machine and noisy.");
        if (which.Contains("first") || which.Contains("resync"))
        {
            await FirstSyncAndResyncAsync(Size("HUB_BENCH_SYNC_N", 100_000), Size("HUB_BENCH_NAIVE_SAMPLE", 2_000));
        }

        if (which.Contains("memory"))
        {
            await MemoryAsync(Size("HUB_BENCH_MEMORY_N", 1_000_000));
        }

        if (which.Contains("failover"))
        {
            await FailoverAsync(Size("HUB_BENCH_FAILOVER_N", 100_000));
        }
    }

    /// <summary>A size from an environment variable, or <paramref name="fallback"/>.</summary>
    internal static int Size(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, Inv, out var n) && n > 0 ? n : fallback;

    private static async Task FirstSyncAndResyncAsync(int n, int naiveSample)
    {
        await using var env = await BenchEnvironment.StartAsync(HubSettings);
        var hub = await env.StartHubAsync();
        await env.CreateTenantAsync(hub);
        var audience = await env.CreateListAsync(hub, "first");

        // Warm-up, as for any benchmark of a long-running service: a small sync into another audience, so the
        // timed run measures Hub's steady state rather than its first minute of JIT compilation.
        // Two syncs: the runtime starts counting calls only once it has compiled nothing new for 100 ms, which during the first
        // one's staging it never does, so the code that reads and stages a body is made hot by the second.
        await env.CreateListAsync(hub, "warm-up");
        await env.CreateListAsync(hub, "warm-up-2");
        // At the timed run's latency: with calls in flight up to the cap, Hub waits for slots and answers in other orders than
        // against an instant sandbox, and those paths are compiled too.
        await env.SetLatencyAsync(PerCallMs, PerMemberMs);
        await SyncAsync(env, hub, "warm-up", WarmUpMembers, TimeSpan.FromMinutes(5));
        var warmUpJob = await SyncAsync(env, hub, "warm-up-2", WarmUpMembers / 2, TimeSpan.FromMinutes(5));

        // And the path of a request, as a serving Hub has it hot: the timed run's polls (each on a new connection) would
        // otherwise get it compiled during the sync (about 1,000 methods, 0.5 s of CPU).
        for (var i = 0; i < 100; i++)
        {
            using var poller = env.TenantClient(hub);
            await env.GetJobAsync(poller, warmUpJob.JobId);
        }

        var settled = await BenchEnvironment.WaitForJitToSettleAsync(hub, TimeSpan.FromSeconds(30)); // what the warm-up made hot, compiled

        // 1. First sync into the empty audience, with what it costs Hub's Redis (used_memory before and after: the ledger
        //    Hub keeps per member, its staged input already deleted) and Hub's CPU (user + system, staging and job).
        await env.ResetCountersAsync();
        var memoryBefore = await BenchEnvironment.RedisUsedMemoryAsync();
        var cpuBefore = BenchEnvironment.CpuSeconds(hub);
        var jitBefore = BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread);
        var first = await SyncAsync(env, hub, "first", n, TimeSpan.FromMinutes(30));
        var hubCpu = BenchEnvironment.CpuSeconds(hub) - cpuBefore;
        var jitCpu = BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread) - jitBefore;
        var bytesPerMember = (double)(await BenchEnvironment.RedisUsedMemoryAsync() - memoryBefore) / n;
        var firstCounters = await env.CountersAsync();
        var subscribed = (await env.SubscribedEmailsAsync(audience)).Count;
        var calls = (n + BatchSize - 1) / BatchSize;
        var physical = calls * (PerCallMs + (double)BatchSize * PerMemberMs) / 1000 / Cap;

        // The naive client: one PUT per member straight to the sandbox over 9 connections, on a second audience.
        var naiveAudience = await env.CreateListAsync(hub, "naive");
        await env.ResetCountersAsync();
        var naive = await NaiveAsync(env, naiveAudience, naiveSample);
        var naiveCounters = await env.CountersAsync();
        var naiveExtrapolated = naive.TotalSeconds * n / naiveSample;

        Table.Print($"1. First sync of {n:N0} members{(NdjsonMembersStream.WithExternalIds ? " (each with externalId and 3 merge fields)" : "")} into an empty audience (sandbox {PerCallMs} ms/call + {PerMemberMs} ms/member in a batch, cap {Cap})",
            ["Client", "Wall time", "vs physical limit", "Mailchimp calls", "Max concurrent", "Notes"],
            [
                ["Physical limit", Seconds(physical), "1.00x", calls.ToString("N0", Inv), Cap.ToString(Inv), $"ceil({n:N0}/{BatchSize}) x ({PerCallMs} ms + {BatchSize} x {PerMemberMs} ms) / {Cap}"],
                ["Hub (PUT NDJSON → job)", Seconds(first.Wall.TotalSeconds), Ratio(first.Wall.TotalSeconds, physical), firstCounters.Calls.Values.Sum().ToString("N0", Inv), firstCounters.MaxConcurrent.ToString(Inv),
                    $"staging {Seconds(first.Staging.TotalSeconds)}, job {Seconds(first.JobSeconds)}; {first.State}, added {first.Added:N0}; sandbox holds {subscribed:N0} subscribed; target ≤ 1.25x"],
                ["Naive (1 PUT/member, 9 conns)", Seconds(naiveExtrapolated), Ratio(naiveExtrapolated, physical), n.ToString("N0", Inv), naiveCounters.MaxConcurrent.ToString(Inv),
                    $"extrapolated linearly from a measured sample of {naiveSample:N0} members in {Seconds(naive.TotalSeconds)} ({naiveCounters.Throttled} 429s retried)"],
            ]);
        Table.Print($"1b. What the first sync of {n:N0} members costs Hub",
            ["Measure", "Value", "Target", "Notes"],
            [
                ["Redis bytes per synced member", $"{bytesPerMember:N0} B", "≤ 100 B", "used_memory after the job minus before the PUT, over the members (the list's ledger: fingerprint and hub-added mark per member)"],
                ["Hub CPU per member", $"{hubCpu * 1e6 / n:0.0} µs", "≤ 20 µs", $"{hubCpu:0.00} s user + system over staging and the job (and the harness's polling of the job, twice a second); after warm-up syncs of {WarmUpMembers:N0} and {WarmUpMembers / 2:N0} members and {settled.TotalSeconds:0} s for the runtime's compiler to settle"],
                ["of which the runtime's compiler", $"{jitCpu * 1e6 / n:N0} µs", "", $"{jitCpu:0.00} s on its background thread (tiered compilation of what became hot only now)"],
            ]);

        // 2. Re-sync of the same set, nothing changed.
        await env.ResetCountersAsync();
        var again = await SyncAsync(env, hub, "first", n, TimeSpan.FromMinutes(30));
        var againCounters = await env.CountersAsync();
        Table.Print($"2. Re-sync of the same {n:N0} members, no change",
            ["Measure", "Value", "Target", "Notes"],
            [
                ["Mailchimp member writes", againCounters.MembersWritten.ToString("N0", Inv), "0", $"sandbox counters; batch calls {againCounters.CallsTo("POST batch"):N0}, all calls {againCounters.Calls.Values.Sum():N0}"],
                ["Wall time (PUT → job finished)", Seconds(again.Wall.TotalSeconds), "≤ 5 s", $"staging {Seconds(again.Staging.TotalSeconds)}, job {Seconds(again.JobSeconds)}; {again.State}, unchanged {again.Unchanged:N0}"],
            ]);
    }

    private static async Task MemoryAsync(int n)
    {
        await using var env = await BenchEnvironment.StartAsync(HubSettings);
        var hub = await env.StartHubAsync();
        await env.CreateTenantAsync(hub);
        await env.CreateListAsync(hub, "big");
        await env.SetLatencyAsync(0, 0);
        var idle = hub.PeakMemoryMiB();
        await env.ResetCountersAsync();
        var run = await SyncAsync(env, hub, "big", n, TimeSpan.FromMinutes(60));
        var peak = hub.PeakMemoryMiB();
        var counters = await env.CountersAsync();
        Table.Print($"3. {n:N0}-member NDJSON sync (body generated and streamed by the harness, chunked; sandbox latency 0)",
            ["Measure", "Value", "Target", "Notes"],
            [
                ["Hub peak memory (VmHWM)", $"{peak:N0} MiB", "≤ 300 MB", $"VmHWM after start-up and setup: {idle:N0} MiB"],
                ["Wall time (PUT → job finished)", Seconds(run.Wall.TotalSeconds), "-", $"staging {Seconds(run.Staging.TotalSeconds)}, job {Seconds(run.JobSeconds)}; {run.State}, added {run.Added:N0}"],
                ["Mailchimp batch calls", counters.CallsTo("POST batch").ToString("N0", Inv), "-", $"members written {counters.MembersWritten:N0}; max concurrent {counters.MaxConcurrent}"],
            ]);
    }

    private static async Task FailoverAsync(int n)
    {
        await using var env = await BenchEnvironment.StartAsync(new Dictionary<string, string>(HubSettings)
        {
            ["Hub__Jobs__LeaseDuration"] = "00:00:03",
            ["Hub__Jobs__RenewInterval"] = "00:00:01",
            ["Hub__Mailchimp__ConcurrencyLeaseDuration"] = "00:00:05",
        });

        // Replica A starts alone so that it is the one that claims the job; B joins while the job runs.
        var a = await env.StartHubAsync();
        await env.CreateTenantAsync(a);
        var audience = await env.CreateListAsync(a, "failover");
        await env.SetLatencyAsync(PerCallMs, PerMemberMs);
        await env.ResetCountersAsync();

        var clock = Stopwatch.StartNew();
        string jobId;
        using (var client = env.TenantClient(a))
        {
            jobId = await PutMembersAsync(client, "failover", n);
        }

        var b = await env.StartHubAsync();
        long progressAtKill;
        using (var client = env.TenantClient(a))
        {
            while (true)
            {
                var job = await env.GetJobAsync(client, jobId);
                progressAtKill = Processed(job);
                if (progressAtKill >= n * 3L / 10 || job["state"]!.GetValue<string>() is not ("queued" or "running"))
                {
                    break;
                }

                await Task.Delay(50);
            }
        }

        a.Kill();
        var killedAt = clock.Elapsed;
        var finished = await env.WaitForJobAsync(() => env.TenantClient(b), jobId, TimeSpan.FromMinutes(30));
        var wall = clock.Elapsed;
        var counters = await env.CountersAsync();
        var emails = await env.SubscribedEmailsAsync(audience);
        var desired = Enumerable.Range(0, n).Select(i => NdjsonMembersStream.Email(i)).ToHashSet(StringComparer.Ordinal);
        var equal = emails.SetEquals(desired);
        Table.Print($"4. Two replicas, the one running the job killed mid-sync ({n:N0} members, sandbox {PerCallMs} ms/call + {PerMemberMs} ms/member, cap {Cap})",
            ["Measure", "Value", "Target", "Notes"],
            [
                ["Job state", finished["state"]!.GetValue<string>(), "succeeded", $"attempts {finished["attempts"]}; replica A killed at {Seconds(killedAt.TotalSeconds)} with {progressAtKill:N0} members recorded; finished on B at {Seconds(wall.TotalSeconds)}"],
                ["Audience equals desired set", equal ? "yes" : "NO", "yes", $"{emails.Count:N0} subscribed in the sandbox, {desired.Count:N0} desired, {emails.Except(desired).Count()} extra, {desired.Except(emails).Count()} missing"],
                ["Max concurrent calls (account)", counters.MaxConcurrent.ToString(Inv), $"≤ {Cap}", $"sandbox counter; throttled (429) {counters.Throttled}"],
                ["Members written", counters.MembersWritten.ToString("N0", Inv), $"≥ {n:N0}", $"created {counters.MembersCreated:N0}, re-sent after the crash (updates, no change) {counters.MembersUpdated:N0}"],
            ]);
    }

    internal static long Processed(JsonNode job)
    {
        var counts = job["counts"]!;
        return counts["added"]!.GetValue<long>() + counts["updated"]!.GetValue<long>() + counts["unchanged"]!.GetValue<long>() + counts["failed"]!.GetValue<long>();
    }

    private sealed record SyncRun(string JobId, TimeSpan Wall, TimeSpan Staging, double JobSeconds, string State, long Added, long Unchanged);

    /// <summary>PUTs <paramref name="n"/> generated members as NDJSON and waits for the job; times staging (until the 202) and the whole.</summary>
    private static async Task<SyncRun> SyncAsync(BenchEnvironment env, BenchProcess hub, string listKey, int n, TimeSpan timeout)
    {
        using var client = env.TenantClient(hub);
        var hubCpu = BenchEnvironment.CpuSeconds(hub);
        var sandboxCpu = BenchEnvironment.CpuSeconds(env.Sandbox);
        var redisCpu = await BenchEnvironment.RedisCpuSecondsAsync();
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var jobId = await PutMembersAsync(client, listKey, n);
        var staging = clock.Elapsed;
        // The wall time ends at the job's finishedAt (Hub and the harness share this machine's clock), so the polling can be
        // sparse: each poll is a request (and a connection) Hub serves, and its CPU is counted as the sync's.
        var job = await env.WaitForJobAsync(() => env.TenantClient(hub), jobId, timeout, TimeSpan.FromMilliseconds(500));
        var wall = DateTimeOffset.Parse(job["finishedAt"]!.GetValue<string>(), Inv) - started;
        var counters = await env.CountersAsync();
        Console.Error.WriteLine($"[bench] {listKey} x{n}: wall {wall.TotalSeconds:0.00} s, Hub CPU {BenchEnvironment.CpuSeconds(hub) - hubCpu:0.00} s, sandbox CPU {BenchEnvironment.CpuSeconds(env.Sandbox) - sandboxCpu:0.00} s, " +
            $"Redis CPU {await BenchEnvironment.RedisCpuSecondsAsync() - redisCpu:0.00} s, " +
            $"throttled {counters.Throttled}, calls {string.Join(", ", counters.Calls.Select(pair => $"{pair.Key}={pair.Value}"))}");
        return new SyncRun(jobId, wall, staging, job["durationSeconds"]?.GetValue<double>() ?? double.NaN, job["state"]!.GetValue<string>() + (job["failureReason"] is { } reason ? $" ({reason})" : ""),
            job["counts"]!["added"]!.GetValue<long>(), job["counts"]!["unchanged"]!.GetValue<long>());
    }

    /// <summary>PUTs <paramref name="n"/> generated members (<see cref="NdjsonMembersStream"/>) to a list; returns the job's id.</summary>
    internal static async Task<string> PutMembersAsync(HttpClient client, string listKey, int n)
    {
        using var request = new HttpRequestMessage(HttpMethod.Put, $"/api/v1/lists/{listKey}/members") { Content = NdjsonMembersStream.Content(n) };
        var accepted = await BenchEnvironment.ReadJsonAsync(await client.SendAsync(request));
        return accepted["jobId"]!.GetValue<string>();
    }

    /// <summary>One PUT per member straight to the sandbox (what a client without batch subscribe does), over <see cref="NaiveConnections"/> connections.</summary>
    private static async Task<TimeSpan> NaiveAsync(BenchEnvironment env, string audienceId, int count)
    {
        var dc = env.SandboxApiKey[(env.SandboxApiKey.LastIndexOf('-') + 1)..];
        using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = NaiveConnections }) { BaseAddress = env.Sandbox.BaseUrl };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("naive:" + env.SandboxApiKey)));
        var next = -1;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, NaiveConnections).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < count)
            {
                var email = NdjsonMembersStream.Email(i, "naive.test");
                var hash = Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(Encoding.UTF8.GetBytes(email)));
                while (true)
                {
                    using var response = await client.PutAsJsonAsync($"/{dc}/3.0/lists/{audienceId}/members/{hash}", new
                    {
                        email_address = email,
                        status_if_new = "subscribed",
                        merge_fields = new Dictionary<string, string> { ["FNAME"] = $"First{i}", ["LNAME"] = $"Last{i}" },
                    });
                    if (response.StatusCode == System.Net.HttpStatusCode.TooManyRequests)
                    {
                        // A real client backs off and tries again; counted by the sandbox as throttled.
                        await Task.Delay(10);
                        continue;
                    }

                    response.EnsureSuccessStatusCode();
                    break;
                }
            }
        })));
        return clock.Elapsed;
    }

    internal static string Seconds(double seconds) => seconds.ToString(seconds < 10 ? "0.00" : "0.0", Inv) + " s";

    private static string Ratio(double value, double baseline) => (value / baseline).ToString("0.00", Inv) + "x";
}
