using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hub.Bench;

/// <summary>
/// Issue 12's fault benchmark: a full sync of 20,000 members (NDJSON PUT into an empty audience; sandbox 2 s per call
/// + 2 ms per member, cap 10) with one fault injected once the job has recorded progress, each against a fresh
/// sandbox, Hub and Redis (its own redis-server, append-only with fsync every second, in a temporary folder):
/// Redis shut down and restarted after 1-2 s or 8 s, Redis killed and restarted after 8 s, a Sentinel failover,
/// Hub killed and started again, and the sandbox failing 20% of calls with 429 and 5% with 500.
/// <c>faults [row numbers]...</c> runs a subset; HUB_BENCH_FAULTS_RUNS (2) sets the repetitions per row and
/// HUB_BENCH_FAULTS_N (20,000) the size. Job timings are short, as in the sync benchmark's failover part.
/// </summary>
public static class FaultsBenchmark
{
    private const int Cap = 10;
    private const int PerCallMs = 2000;
    private const int PerMemberMs = 2;
    private const string ListKey = "faults";
    private const string SentinelService = "hubbench";

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;
    private static readonly TimeSpan TriggerDeadline = TimeSpan.FromMinutes(2);
    private static readonly TimeSpan JobDeadline = TimeSpan.FromMinutes(5);

    /// <summary>Hub's settings besides the store: lease 3 s renewed every second, Mailchimp slots lapse after 5 s.</summary>
    private static readonly Dictionary<string, string> HubSettings = new()
    {
        ["Hub__Mailchimp__MaxConcurrentCallsPerAccount"] = Cap.ToString(Inv),
        ["Hub__Jobs__LeaseDuration"] = "00:00:03",
        ["Hub__Jobs__RenewInterval"] = "00:00:01",
        ["Hub__Mailchimp__ConcurrencyLeaseDuration"] = "00:00:05",
    };

    private static readonly Scenario[] Scenarios =
    [
        new("Redis SHUTDOWN, restarted after 1-2 s", false, rig => RedisOutageAsync(rig, kill: false, TimeSpan.FromSeconds(1 + Random.Shared.NextDouble()))),
        new("Redis SHUTDOWN, restarted after 8 s", false, rig => RedisOutageAsync(rig, kill: false, TimeSpan.FromSeconds(8))),
        new("Redis kill -9, restarted after 8 s", false, rig => RedisOutageAsync(rig, kill: true, TimeSpan.FromSeconds(8))),
        new("Sentinel failover (SENTINEL FAILOVER)", true, SentinelFailoverAsync),
        new("Hub kill -9, new Hub started at once", false, HubRestartAsync),
        new("Sandbox 20% 429 + 5% 500 (no Redis fault)", false, SandboxErrorsAsync),
    ];

    /// <summary>A fault: its row name, whether Redis runs under sentinels, and how to inject it.</summary>
    private sealed record Scenario(string Name, bool Sentinels, Func<Rig, Task<FaultWindow>> InjectAsync);

    /// <summary>What an injected fault did: when it ended and how long it lasted (for a fault that lasts until the job ends, when it began and null).</summary>
    private sealed record FaultWindow(string Description, DateTimeOffset? EndedAt, double? Seconds);

    /// <summary>One run's processes; <see cref="Hub"/> is the replica the harness talks to (replaced when it is killed).</summary>
    private sealed class Rig(BenchEnvironment env, BenchRedis redis, BenchProcess hub)
    {
        public BenchEnvironment Env { get; } = env;
        public BenchRedis Redis { get; } = redis;
        public BenchProcess Hub { get; set; } = hub;

        /// <summary>A client for the current replica that gives up after 10 s (Hub may hang while its store is away).</summary>
        public HttpClient Client()
        {
            var client = Env.TenantClient(Hub);
            client.Timeout = TimeSpan.FromSeconds(10);
            return client;
        }
    }

    /// <summary>One run's outcome. Counts are total, added, updated, unchanged, removed, failed.</summary>
    private sealed record RunResult(
        string Outcome, int? Attempts, long[]? Counts, int? Missing, int? Extra, double? FaultAt, long? ProgressAtFault, double? FaultSeconds, double? EndToFinished, string Notes)
    {
        public bool? AddsUp => Counts is [var total, .. var parts] ? parts.Sum() == total : null;
    }

    public static async Task RunAsync(string[] args)
    {
        var n = Setting("HUB_BENCH_FAULTS_N", 20_000);
        var repetitions = Setting("HUB_BENCH_FAULTS_RUNS", 2);
        var rows = args.Length == 0 ? Enumerable.Range(1, Scenarios.Length).ToArray() : args.Select(arg => int.Parse(arg, Inv)).ToArray();
        Console.WriteLine($"Fault benchmark on {Environment.ProcessorCount} cores: {n:N0}-member full sync, {repetitions} run(s) per fault, each on a fresh sandbox, Hub and redis-server. Single runs on a shared machine; timings are noisy.");

        var results = new List<(int Row, Scenario Scenario, List<RunResult> Runs)>();
        foreach (var row in rows)
        {
            var scenario = Scenarios[row - 1];
            var runs = new List<RunResult>();
            for (var i = 1; i <= repetitions; i++)
            {
                Console.Error.WriteLine($"[bench] faults {row}. {scenario.Name}, run {i}/{repetitions}");
                RunResult run;
                try
                {
                    run = await RunOnceAsync(scenario, n);
                }
                catch (Exception e)
                {
                    Console.Error.WriteLine($"[bench] run failed: {e}");
                    run = new RunResult($"harness error: {e.GetType().Name}: {e.Message}", null, null, null, null, null, null, null, null, "");
                }

                Console.Error.WriteLine($"[bench] {string.Join(" | ", Cells("run", [run]))} | {run.Notes}");
                runs.Add(run);
            }

            results.Add((row, scenario, runs));
        }

        string[] header = ["Fault", "Runs", "Job outcome (failureReason)", "Attempts", "Added / updated / unchanged / removed / failed (total)", "Add up", "Missing / extra in audience",
            "Fault at (members recorded)", "Fault lasted", "Fault end → job finished"];
        Table.Print($"Faults during a {n:N0}-member full sync (sandbox {PerCallMs} ms/call + {PerMemberMs} ms/member, cap {Cap}; job lease 3 s, renewed every 1 s; ranges over {repetitions} run(s))",
            header, results.Select(result => Cells($"{result.Row}. {result.Scenario.Name}", result.Runs)));
        Table.Print("Each run",
            [.. header, "Notes"], results.SelectMany(result => result.Runs.Select((run, i) => (string[])[.. Cells($"{result.Row}.{i + 1}", [run]), run.Notes])));
    }

    private static async Task<RunResult> RunOnceAsync(Scenario scenario, int n)
    {
        await using var redis = scenario.Sentinels ? await BenchRedis.StartWithSentinelsAsync(SentinelService) : await BenchRedis.StartStandaloneAsync();
        await using var env = await BenchEnvironment.StartAsync(new Dictionary<string, string>(HubSettings) { ["Hub__Redis__ConnectionString"] = redis.ConnectionString });
        var rig = new Rig(env, redis, await env.StartHubAsync());
        await env.CreateTenantAsync(rig.Hub);
        var audience = await env.CreateListAsync(rig.Hub, ListKey);
        await env.SetLatencyAsync(PerCallMs, PerMemberMs);
        await env.ResetCountersAsync();

        var clock = Stopwatch.StartNew();
        string jobId;
        using (var client = rig.Client())
        {
            client.Timeout = TimeSpan.FromMinutes(2);
            jobId = await SyncBenchmark.PutMembersAsync(client, ListKey, n);
        }

        // The fault comes once the job has recorded its first members (the first wave of batch calls has answered).
        long progress;
        while (true)
        {
            using var client = rig.Client();
            var job = await env.GetJobAsync(client, jobId);
            progress = SyncBenchmark.Processed(job);
            if (progress > 0)
            {
                break;
            }

            if (job["state"]!.GetValue<string>() is not ("queued" or "running"))
            {
                throw new InvalidOperationException($"The job finished ({job["state"]}) before it showed progress; no fault was injected.");
            }

            if (clock.Elapsed > TriggerDeadline)
            {
                throw new TimeoutException($"The job showed no progress within {TriggerDeadline.TotalMinutes} minutes; no fault was injected.");
            }

            await Task.Delay(100);
        }

        var faultAt = clock.Elapsed.TotalSeconds;
        var fault = await scenario.InjectAsync(rig);
        string outcome;
        JsonNode? last = null;
        try
        {
            last = await env.WaitForJobAsync(rig.Client, jobId, JobDeadline);
            outcome = last["state"]!.GetValue<string>() + (last["failureReason"]?.GetValue<string>() is { } reason ? $" ({reason})" : "");
        }
        catch (TimeoutException)
        {
            outcome = $"TIMEOUT: not finished {JobDeadline.TotalMinutes} min after the fault";
            try
            {
                using var client = rig.Client();
                last = await env.GetJobAsync(client, jobId);
                outcome += $", still {last["state"]}";
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                outcome += ", job unreadable";
            }
        }

        var finishedAt = last?["finishedAt"]?.GetValue<string>() is { } finished ? DateTimeOffset.Parse(finished, Inv) : (DateTimeOffset?)null;
        var counts = last?["counts"] is { } c
            ? new[] { "total", "added", "updated", "unchanged", "removed", "failed" }.Select(name => c[name]!.GetValue<long>()).ToArray()
            : null;
        var counters = await env.CountersAsync();
        var emails = await env.SubscribedEmailsAsync(audience);
        var desired = Enumerable.Range(0, n).Select(i => NdjsonMembersStream.Email(i)).ToHashSet(StringComparer.Ordinal);
        return new RunResult(outcome, last?["attempts"]?.GetValue<int>(), counts, desired.Count(email => !emails.Contains(email)), emails.Count(email => !desired.Contains(email)),
            faultAt, progress, fault.Seconds, finishedAt - fault.EndedAt is { } wait ? wait.TotalSeconds : null,
            $"{fault.Description}; job id {jobId}, {clock.Elapsed.TotalSeconds:0.0} s after the PUT; Mailchimp: {counters.CallsTo("POST batch")} batch calls, " +
            $"{counters.MembersWritten:N0} members written ({counters.MembersCreated:N0} created), {counters.FaultsInjected} faults injected, {counters.Throttled} over the connection limit");
    }

    private static async Task<FaultWindow> RedisOutageAsync(Rig rig, bool kill, TimeSpan down)
    {
        var clock = Stopwatch.StartNew();
        if (kill)
        {
            rig.Redis.Primary.Kill();
        }
        else
        {
            await rig.Redis.Primary.ShutdownAsync();
        }

        var stopped = clock.Elapsed.TotalSeconds;
        await Task.Delay(down);
        await rig.Redis.Primary.StartAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        return new FaultWindow($"redis-server {(kill ? "killed" : "shut down")} ({stopped:0.00} s), started again {down.TotalSeconds:0.0} s later, answering {seconds:0.00} s after the fault began",
            DateTimeOffset.UtcNow, seconds);
    }

    private static async Task<FaultWindow> SentinelFailoverAsync(Rig rig)
    {
        var clock = Stopwatch.StartNew();
        await rig.Redis.FailoverAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        return new FaultWindow($"the former replica was named primary by every sentinel and answered as one {seconds:0.00} s after SENTINEL FAILOVER", DateTimeOffset.UtcNow, seconds);
    }

    private static async Task<FaultWindow> HubRestartAsync(Rig rig)
    {
        var clock = Stopwatch.StartNew();
        rig.Hub.Kill();
        rig.Hub = await rig.Env.StartHubAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        return new FaultWindow($"Hub killed, a new Hub process was ready {seconds:0.00} s later", DateTimeOffset.UtcNow, seconds);
    }

    private static async Task<FaultWindow> SandboxErrorsAsync(Rig rig)
    {
        // The sandbox draws faults in order and the first that fires wins: 500 for 5% of calls, then 429 for 0.20/0.95 of the rest, 20% in all.
        await rig.Env.AddFaultAsync("*", "500", 0.05);
        await rig.Env.AddFaultAsync("*", "429", 0.20 / 0.95);
        return new FaultWindow("sandbox faults on every Mailchimp route from then on, until the job ended", DateTimeOffset.UtcNow, null);
    }

    /// <summary>A table row over one or more runs: each measure as the range seen.</summary>
    private static string[] Cells(string name, IReadOnlyList<RunResult> runs)
    {
        var outcomes = runs.GroupBy(run => run.Outcome).Select(group => runs.Count == 1 ? group.Key : $"{group.Key} ×{group.Count()}");
        var counts = Enumerable.Range(1, 5).Select(i => Range(runs.Select(run => (double?)run.Counts?[i]), "N0"));
        var total = Range(runs.Select(run => (double?)run.Counts?[0]), "N0");
        var addsUp = runs.Where(run => run.AddsUp is not null).Select(run => run.AddsUp == true ? "yes" : "NO").Distinct().ToArray();
        return
        [
            name,
            runs.Count.ToString(Inv),
            string.Join("; ", outcomes),
            Range(runs.Select(run => (double?)run.Attempts), "0"),
            $"{string.Join(" / ", counts)} ({total})",
            addsUp.Length == 0 ? "-" : string.Join("/", addsUp),
            $"{Range(runs.Select(run => (double?)run.Missing), "N0")} / {Range(runs.Select(run => (double?)run.Extra), "N0")}",
            $"{Range(runs.Select(run => run.FaultAt), "0.0")} s ({Range(runs.Select(run => (double?)run.ProgressAtFault), "N0")})",
            runs.All(run => run.FaultSeconds is null) ? "until the end" : Range(runs.Select(run => run.FaultSeconds), "0.0") + " s",
            FinishTimes(runs),
        ];
    }

    /// <summary>The range of times from the fault's end (or, for a fault that lasts, its start) to the job's end, and how many runs did not end.</summary>
    private static string FinishTimes(IReadOnlyList<RunResult> runs)
    {
        var unfinished = runs.Count(run => run.EndToFinished is null);
        var text = unfinished == runs.Count ? "-" : Range(runs.Select(run => run.EndToFinished), "0.0") + " s" + (runs.All(run => run.FaultSeconds is null) ? " after it began" : "");
        return unfinished == 0 ? text : $"{text} ({unfinished} not finished)";
    }

    /// <summary>"a" or "min–max" over the values that exist; "-" when none does.</summary>
    private static string Range(IEnumerable<double?> values, string format)
    {
        var seen = values.OfType<double>().ToArray();
        if (seen.Length == 0)
        {
            return "-";
        }

        var (min, max) = (seen.Min().ToString(format, Inv), seen.Max().ToString(format, Inv));
        return min == max ? min : $"{min}–{max}";
    }

    private static int Setting(string variable, int fallback) =>
        int.TryParse(Environment.GetEnvironmentVariable(variable), NumberStyles.Integer, Inv, out var value) && value > 0 ? value : fallback;
}
