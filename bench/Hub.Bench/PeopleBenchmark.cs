using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json.Nodes;

namespace Hub.Bench;

/// <summary>
/// Issue 19: how long erasing a person takes when they are in 10 managed audiences. A fresh sandbox (its default latency
/// unless HUB_BENCH_PEOPLE_LATENCY_MS says otherwise) and Hub process; the tenant has 10 lists, each on its own audience.
/// Per run a new address is written to every list (a single upsert each), then timed from <c>POST /api/v1/people/erasures</c>
/// until <c>GET /api/v1/people/erasures/{id}</c> (polled every 10 ms) says succeeded; also the job's own times (queued until
/// a worker claimed it, then running). HUB_BENCH_PEOPLE_RUNS (5) sets the runs; the table shows each run and the range.
/// </summary>
public static class PeopleBenchmark
{
    private const int Audiences = 10;

    private static readonly int Runs = int.TryParse(Environment.GetEnvironmentVariable("HUB_BENCH_PEOPLE_RUNS"), out var runs) ? Math.Max(1, runs) : 5;
    private static readonly int LatencyMs = int.TryParse(Environment.GetEnvironmentVariable("HUB_BENCH_PEOPLE_LATENCY_MS"), out var latency) ? latency : -1;

    public static async Task RunAsync()
    {
        await using var env = await BenchEnvironment.StartAsync();
        var hub = await env.StartHubAsync();
        await env.CreateTenantAsync(hub);
        if (LatencyMs >= 0)
        {
            await env.SetLatencyAsync(LatencyMs, 0);
        }

        var lists = new List<string>();
        for (var i = 0; i < Audiences; i++)
        {
            await env.CreateListAsync(hub, $"people-{i}");
            lists.Add($"people-{i}");
        }

        using var tenant = env.TenantClient(hub);
        var rows = new List<(double Wall, double Queued, double Running)>();
        for (var run = 0; run <= Runs; run++)
        {
            var address = $"Person.{run}+{Guid.NewGuid().ToString("N")[..8]}@Bench.test";
            foreach (var list in lists)
            {
                (await tenant.PostAsJsonAsync($"/api/v1/lists/{list}/members", new { email = address })).EnsureSuccessStatusCode();
            }

            var clock = Stopwatch.StartNew();
            var started = await BenchEnvironment.ReadJsonAsync(await tenant.PostAsJsonAsync("/api/v1/people/erasures", new { email = address }));
            var id = started["erasureId"]!.GetValue<string>();
            JsonNode erasure;
            while (true)
            {
                erasure = await BenchEnvironment.ReadJsonAsync(await tenant.GetAsync($"/api/v1/people/erasures/{id}"));
                if (erasure["state"]!.GetValue<string>() is not ("queued" or "running"))
                {
                    break;
                }

                await Task.Delay(10);
            }

            var wall = clock.Elapsed.TotalSeconds;
            var state = erasure["state"]!.GetValue<string>();
            var deleted = erasure["audiences"]!.AsArray().Count(entry => entry!["state"]!.GetValue<string>() == "deleted");
            if (state != "succeeded" || deleted != Audiences)
            {
                throw new InvalidOperationException($"Erasure {id} ended {state} with {deleted} of {Audiences} audiences deleted: {erasure.ToJsonString()}");
            }

            var created = erasure["createdAt"]!.GetValue<DateTimeOffset>();
            var startedAt = erasure["startedAt"]!.GetValue<DateTimeOffset>();
            var finished = erasure["finishedAt"]!.GetValue<DateTimeOffset>();
            if (run == 0)
            {
                continue; // warm-up: the first erasure pays for JIT compilation
            }

            rows.Add((wall, (startedAt - created).TotalSeconds, (finished - startedAt).TotalSeconds));
        }

        var latencyText = LatencyMs >= 0 ? $"{LatencyMs} ms per call" : "the sandbox's default latency (0)";
        Console.WriteLine($"Erasure of a person in {Audiences} audiences, {latencyText}, {Runs} runs after one warm-up (Hub:Jobs:PollInterval {env.HubEnvironment["Hub__Jobs__PollInterval"]}):");
        Console.WriteLine();
        Console.WriteLine("| run | POST to succeeded | queued (created to started) | running (started to finished) |");
        Console.WriteLine("|---|---|---|---|");
        for (var i = 0; i < rows.Count; i++)
        {
            Console.WriteLine($"| {i + 1} | {Ms(rows[i].Wall)} | {Ms(rows[i].Queued)} | {Ms(rows[i].Running)} |");
        }

        Console.WriteLine($"| range | {Ms(rows.Min(r => r.Wall))}-{Ms(rows.Max(r => r.Wall))} | {Ms(rows.Min(r => r.Queued))}-{Ms(rows.Max(r => r.Queued))} | {Ms(rows.Min(r => r.Running))}-{Ms(rows.Max(r => r.Running))} |");
    }

    private static string Ms(double seconds) => (seconds * 1000).ToString("F0", CultureInfo.InvariantCulture) + " ms";
}
