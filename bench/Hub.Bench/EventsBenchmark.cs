using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Logging;

namespace Hub.Bench;

/// <summary>
/// Issue 14: changes made in Mailchimp coming back to the host. A sandbox and a Hub (list webhooks on, its public URL
/// the one it listens on), a tenant whose webhook URL is a receiver inside this process, 10,000 members synced and the
/// audience's list webhook registered. Then (1) 1,000 unsubscribes through the sandbox's control API at 50/s, open loop:
/// per event, the tenant's <c>member.unsubscribed</c> arrival minus the sandbox's delivery <c>at</c>; (2) 10,000 profile
/// changes as fast as 32 concurrent control calls go: how long until the sandbox has sent them all and the tenant has
/// every <c>member.profile_updated</c>. Each run starts fresh processes; HUB_BENCH_EVENTS_RUNS (3) runs, ranges reported.
/// </summary>
public static class EventsBenchmark
{
    private const string ListKey = "events";
    private const int Members = 10_000;
    private const int Unsubscribes = 1_000;
    private const int UnsubscribeRate = 50;
    private const int WarmUp = 20;
    private const int BurstConcurrency = 32;

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly int Runs = int.TryParse(Environment.GetEnvironmentVariable("HUB_BENCH_EVENTS_RUNS"), NumberStyles.Integer, Inv, out var runs) && runs > 0 ? runs : 3;

    public static async Task RunAsync()
    {
        Console.WriteLine($"Events benchmark on {Environment.ProcessorCount} cores; Redis {BenchEnvironment.RedisConnection}; {Runs} run(s), each with a fresh sandbox, Hub and receiver. " +
            "Times are UTC clock readings of the sandbox (delivery answered) and of the receiver (request arrived), on one machine.");
        var results = new List<RunResult>();
        for (var run = 1; run <= Runs; run++)
        {
            var result = await RunOnceAsync();
            results.Add(result);
            Console.Error.WriteLine($"[bench] run {run}: {result}");
        }

        Table.Print($"Latency: {Unsubscribes:N0} unsubscribes at {UnsubscribeRate}/s (open loop) to the tenant's member.unsubscribed (ms from the sandbox's delivery answered; every run)",
            ["run", "p50", "p90", "p99", "max", "arrived", "exactly once", "Hub answered the sandbox p50/p99", "control calls late p99"],
            results.Select((r, i) => (string[])[(i + 1).ToString(Inv), Ms(r.P50), Ms(r.P90), Ms(r.P99), Ms(r.Max), r.Arrived.ToString("N0", Inv), r.ExactlyOnce ? "yes" : $"NO ({r.LatencyDuplicates} dup, {r.LatencyMissing} missing)",
                $"{Ms(r.AnswerP50)}/{Ms(r.AnswerP99)}", Ms(r.SendLateP99)]));
        Table.Print($"Burst: {Members:N0} profile changes, {BurstConcurrency} concurrent control calls (seconds from the first call; every run)",
            ["run", "control calls answered", "sandbox sent all", "last tenant webhook", "events/s", "delivered (distinct)", "duplicates", "sandbox failed", "per-event delay p50/p99 (ms)", "Hub answered the sandbox p50/p99 (ms)"],
            results.Select((r, i) => (string[])[(i + 1).ToString(Inv), Seconds(r.CallsSeconds), Seconds(r.SandboxSeconds), Seconds(r.TenantSeconds), r.EventsPerSecond.ToString("N0", Inv),
                $"{r.Delivered:N0} ({r.DeliveredDistinct:N0})", r.BurstDuplicates.ToString(Inv), r.SandboxFailed.ToString(Inv), $"{Ms(r.BurstP50)}/{Ms(r.BurstP99)}", $"{Ms(r.BurstAnswerP50)}/{Ms(r.BurstAnswerP99)}"]));
        Table.Print($"Events from Mailchimp to the tenant: range over {results.Count} run(s)", ["Measure", "Range", "Target"],
            [
                ["Delay p50 (1,000 unsubscribes at 50/s)", Range(results, r => r.P50, Ms, " ms"), "-"],
                ["Delay p90", Range(results, r => r.P90, Ms, " ms"), "-"],
                ["Delay p99", Range(results, r => r.P99, Ms, " ms"), "within 5 s"],
                ["Delay max", Range(results, r => r.Max, Ms, " ms"), "within 5 s"],
                ["Unsubscribes delivered", Range(results, r => r.Arrived, n => n.ToString("N0", Inv), "") + (results.All(r => r.ExactlyOnce) ? ", each exactly once in every run" : ", NOT each exactly once"), "1,000, each once"],
                ["Burst: sandbox sent all 10,000", Range(results, r => r.SandboxSeconds, Tenths, " s"), "-"],
                ["Burst: last tenant webhook", Range(results, r => r.TenantSeconds, Tenths, " s"), "-"],
                ["Burst: events/s to the tenant", Range(results, r => r.EventsPerSecond, n => n.ToString("N0", Inv), ""), "-"],
                ["Burst: member.profile_updated delivered (distinct emails)", Range(results, r => r.DeliveredDistinct, n => n.ToString("N0", Inv), "") + $"; duplicates {Range(results, r => r.BurstDuplicates, n => n.ToString(Inv), "")}", "10,000, no duplicate"],
                ["Burst: Hub's answer to each sandbox POST, p50 / p99", $"{Range(results, r => r.BurstAnswerP50, Ms, " ms")} / {Range(results, r => r.BurstAnswerP99, Ms, " ms")}", "-"],
                ["Burst: sandbox deliveries failed", Range(results, r => r.SandboxFailed, n => n.ToString(Inv), ""), "0"],
            ]);
    }

    private static async Task<RunResult> RunOnceAsync()
    {
        await using var receiver = await TenantReceiver.StartAsync();
        await using var env = await BenchEnvironment.StartAsync(new Dictionary<string, string>
        {
            ["Hub__Events__Enabled"] = "true",
            // The tenant's webhook URL is the receiver on loopback, which Hub refuses outside Development otherwise.
            ["Hub__Webhooks__AllowPrivateTargets"] = "true",
        });
        var hub = await env.StartHubAsync();
        await env.CreateTenantAsync(hub, receiver.Url);
        var audience = await env.CreateListAsync(hub, ListKey);
        using var tenant = env.TenantClient(hub);
        var job = await env.WaitForJobAsync(() => env.TenantClient(hub), await SyncBenchmark.PutMembersAsync(tenant, ListKey, Members), TimeSpan.FromMinutes(5));
        if (job["state"]!.GetValue<string>() != "succeeded")
        {
            throw new InvalidOperationException($"The sync of {Members:N0} members did not succeed: {job.ToJsonString()}");
        }

        await WaitForRegistrationAsync(tenant, audience);
        var hook = await SandboxWebhookAsync(env, audience);
        var hookId = hook["id"]!.GetValue<string>();
        // Hub:PublicBaseUrl is the URL the Hub process listens on (BenchProcess sets it), so the sandbox reaches it.
        var hookUrl = hook["url"]!.GetValue<string>();
        if (!hookUrl.StartsWith($"{hub.BaseUrl.ToString().TrimEnd('/')}/mailchimp/events/", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The list webhook points at {hookUrl}, not at this Hub ({hub.BaseUrl}).");
        }

        using var control = new HttpClient { BaseAddress = env.Sandbox.BaseUrl, Timeout = TimeSpan.FromSeconds(30) };
        string Member(int i) => $"/_control/lists/{audience}/members/{Uri.EscapeDataString(NdjsonMembersStream.Email(i))}";
        var unsubscribe = new JsonObject { ["status"] = "unsubscribed", ["source"] = "user" };

        // Warm-up: a few unsubscribes of members outside the measured set, so the figures are not Hub's first JIT compilation.
        for (var i = Unsubscribes; i < Unsubscribes + WarmUp; i++)
        {
            await FacadeBenchmark.Send(control, HttpMethod.Put, Member(i), unsubscribe);
        }

        await WaitForArrivalsAsync(receiver, "member.unsubscribed", (Unsubscribes, Unsubscribes + WarmUp), TimeSpan.FromSeconds(60));

        // 1. Latency: 1,000 unsubscribes, evenly paced.
        var paced = await LoadGenerator.OpenLoopAsync("unsubscribe", UnsubscribeRate, TimeSpan.FromSeconds((double)Unsubscribes / UnsubscribeRate), i => FacadeBenchmark.Send(control, HttpMethod.Put, Member(i), unsubscribe));
        await WaitForArrivalsAsync(receiver, "member.unsubscribed", (0, Unsubscribes), TimeSpan.FromSeconds(60));
        await WaitForSandboxAsync(env, audience, TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(2)); // a late repeat would show up here
        var unsubscribed = Delivered(await DeliveriesAsync(env, hookId), "unsubscribe");
        var unsubscribedArrivals = receiver.Of("member.unsubscribed", 0, Unsubscribes);
        var delays = unsubscribedArrivals.GroupBy(arrival => arrival.Email)
            .Where(group => unsubscribed.ContainsKey(group.Key))
            .Select(group => (group.Min(arrival => arrival.At) - unsubscribed[group.Key].At).TotalMilliseconds).Order().ToArray();
        var answers = Enumerable.Range(0, Unsubscribes).Select(i => NdjsonMembersStream.Email(i)).Where(unsubscribed.ContainsKey).Select(email => unsubscribed[email].DurationMs).Order().ToArray();
        var arrivedDistinct = unsubscribedArrivals.Select(arrival => arrival.Email).Distinct().Count();

        // 2. Burst: a profile change per member, as fast as the control API takes them.
        var before = await WaitForSandboxAsync(env, audience, TimeSpan.FromSeconds(60));
        var hubCpu = BenchEnvironment.CpuSeconds(hub);
        var sandboxCpu = BenchEnvironment.CpuSeconds(env.Sandbox);
        var startedAt = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var next = -1;
        var errors = 0;
        await Task.WhenAll(Enumerable.Range(0, BurstConcurrency).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < Members)
            {
                var change = new JsonObject { ["mergeFields"] = new JsonObject { ["FNAME"] = $"Burst{i}" }, ["source"] = "user" };
                if (!await FacadeBenchmark.Send(control, HttpMethod.Patch, Member(i), change))
                {
                    Interlocked.Increment(ref errors);
                }
            }
        })));
        var callsSeconds = clock.Elapsed.TotalSeconds;
        var after = await WaitForSandboxAsync(env, audience, TimeSpan.FromMinutes(5));
        await WaitForArrivalsAsync(receiver, "member.profile_updated", (0, Members), TimeSpan.FromSeconds(60));
        await Task.Delay(TimeSpan.FromSeconds(2));
        var profiles = Delivered(await DeliveriesAsync(env, hookId), "profile");
        var profileArrivals = receiver.Of("member.profile_updated", 0, Members);
        var burstDelays = profileArrivals.GroupBy(arrival => arrival.Email).Where(group => profiles.ContainsKey(group.Key))
            .Select(group => (group.Min(arrival => arrival.At) - profiles[group.Key].At).TotalMilliseconds).Order().ToArray();
        var burstAnswers = profiles.Values.Select(delivery => delivery.DurationMs).Order().ToArray();
        var delivered = profileArrivals.Count;
        var distinct = profileArrivals.Select(arrival => arrival.Email).Distinct().Count();
        var sandboxSeconds = profiles.Count > 0 ? (profiles.Values.Max(delivery => delivery.At) - startedAt).TotalSeconds : double.NaN;
        var tenantSeconds = delivered > 0 ? (profileArrivals.Max(arrival => arrival.At) - startedAt).TotalSeconds : double.NaN;
        var others = receiver.Arrivals.Where(arrival => arrival.Type is not ("member.unsubscribed" or "member.profile_updated")).GroupBy(arrival => arrival.Type)
            .Select(group => $"{group.Key} x{group.Count()}");
        Console.Error.WriteLine($"[bench] burst: control errors {errors}, Hub CPU {BenchEnvironment.CpuSeconds(hub) - hubCpu:0.0} s, sandbox CPU {BenchEnvironment.CpuSeconds(env.Sandbox) - sandboxCpu:0.0} s, load average {File.ReadAllText("/proc/loadavg").Trim()}, sandbox attempts {after.Attempts - before.Attempts} for {after.Sent - before.Sent} sent; " +
            $"profile deliveries in the sandbox log {profiles.Count:N0}; other tenant webhooks: {string.Join(", ", others)}; unsubscribe control calls: errors {paced.Errors}, p99 {Ms(paced.P99Ms)} ms");

        return new RunResult(
            Percentile(delays, 0.50), Percentile(delays, 0.90), Percentile(delays, 0.99), delays.Length > 0 ? delays[^1] : double.NaN,
            unsubscribedArrivals.Count, unsubscribedArrivals.Count - arrivedDistinct, Unsubscribes - arrivedDistinct,
            Percentile(answers, 0.50), Percentile(answers, 0.99), paced.SendLateP99Ms,
            callsSeconds, sandboxSeconds, tenantSeconds, distinct / tenantSeconds, delivered, distinct, delivered - distinct, after.Failed - before.Failed,
            Percentile(burstDelays, 0.50), Percentile(burstDelays, 0.99), Percentile(burstAnswers, 0.50), Percentile(burstAnswers, 0.99));
    }

    private sealed record RunResult(
        double P50, double P90, double P99, double Max, int Arrived, int LatencyDuplicates, int LatencyMissing, double AnswerP50, double AnswerP99, double SendLateP99,
        double CallsSeconds, double SandboxSeconds, double TenantSeconds, double EventsPerSecond, int Delivered, int DeliveredDistinct, int BurstDuplicates, long SandboxFailed,
        double BurstP50, double BurstP99, double BurstAnswerP50, double BurstAnswerP99)
    {
        public bool ExactlyOnce => Arrived == Unsubscribes && LatencyDuplicates == 0 && LatencyMissing == 0;
    }

    private static async Task WaitForRegistrationAsync(HttpClient tenant, string audience)
    {
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (true)
        {
            var registration = await BenchEnvironment.ReadJsonAsync(await tenant.GetAsync($"/api/v1/audiences/{audience}/events"));
            if (registration["state"]!.GetValue<string>() == "registered")
            {
                return;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The list webhook on {audience} was not registered within 60 s: {registration.ToJsonString()}");
            }

            await Task.Delay(100);
        }
    }

    private static async Task<JsonNode> SandboxWebhookAsync(BenchEnvironment env, string audience)
    {
        var hooks = (await BenchEnvironment.ReadJsonAsync(await env.SandboxClient.GetAsync($"/_control/webhooks?listId={audience}"))).AsArray();
        return hooks.Count == 1 ? hooks[0]! : throw new InvalidOperationException($"Expected one list webhook on {audience}, found {hooks.Count}.");
    }

    private sealed record HookCounters(long Sent, long Failed, long Pending, long Attempts);

    /// <summary>Waits until the sandbox has nothing pending for the audience's webhook; returns its counters.</summary>
    private static async Task<HookCounters> WaitForSandboxAsync(BenchEnvironment env, string audience, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var hook = await SandboxWebhookAsync(env, audience);
            var counters = new HookCounters(hook["sent"]!.GetValue<long>(), hook["failed"]!.GetValue<long>(), hook["pending"]!.GetValue<long>(), hook["attempts"]!.GetValue<long>());
            if (counters.Pending == 0)
            {
                return counters;
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The sandbox still has {counters.Pending} deliveries pending after {timeout}.");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>
    /// Waits until the receiver holds a webhook of one type for every member in <paramref name="range"/>, or until
    /// <paramref name="timeout"/> passes with no new one (the shortfall is then reported).
    /// </summary>
    private static async Task WaitForArrivalsAsync(TenantReceiver receiver, string type, (int From, int To) range, TimeSpan timeout)
    {
        var expected = range.To - range.From;
        var seen = -1;
        var lastProgress = DateTime.UtcNow;
        while (true)
        {
            var now = receiver.Of(type, range.From, range.To).Select(arrival => arrival.Email).Distinct().Count();
            if (now >= expected)
            {
                return;
            }

            if (now != seen)
            {
                seen = now;
                lastProgress = DateTime.UtcNow;
            }
            else if (DateTime.UtcNow - lastProgress > timeout)
            {
                Console.Error.WriteLine($"[bench] only {now:N0} of {expected:N0} {type} webhooks arrived; nothing new for {timeout.TotalSeconds:0} s");
                return;
            }

            await Task.Delay(50);
        }
    }

    private sealed record SandboxDelivery(DateTimeOffset At, double DurationMs);

    private static async Task<JsonArray> DeliveriesAsync(BenchEnvironment env, string hookId) =>
        (await BenchEnvironment.ReadJsonAsync(await env.SandboxClient.GetAsync($"/_control/webhook-deliveries?limit=10000&webhookId={hookId}"))).AsArray();

    /// <summary>The sandbox's answered (2xx) deliveries of one event type, by the <c>data[email]</c> of their form body (lower-cased).</summary>
    private static Dictionary<string, SandboxDelivery> Delivered(JsonArray deliveries, string type)
    {
        var byEmail = new Dictionary<string, SandboxDelivery>(StringComparer.Ordinal);
        foreach (var delivery in deliveries)
        {
            if (delivery!["type"]!.GetValue<string>() != type || delivery["status_code"]?.GetValue<int>() is not (>= 200 and < 300))
            {
                continue;
            }

            var form = QueryHelpers.ParseQuery(delivery["body"]!.GetValue<string>());
            byEmail.TryAdd(form["data[email]"].ToString().ToLowerInvariant(),
                new SandboxDelivery(DateTimeOffset.Parse(delivery["at"]!.GetValue<string>(), Inv), delivery["duration_ms"]!.GetValue<double>()));
        }

        return byEmail;
    }

    private static double Percentile(double[] sorted, double quantile) => LoadGenerator.Percentile(sorted, quantile);

    private static string Range(IReadOnlyList<RunResult> results, Func<RunResult, double> figure, Func<double, string> format, string unit)
    {
        var values = results.Select(figure).ToArray();
        var (min, max) = (values.Min(), values.Max());
        return (format(min) == format(max) ? format(min) : $"{format(min)}-{format(max)}") + unit;
    }

    private static string Ms(double value) => value.ToString(value < 100 ? "0.0" : "0", Inv);

    private static string Seconds(double seconds) => Tenths(seconds) + " s";

    private static string Tenths(double value) => value.ToString("0.0", Inv);
}
