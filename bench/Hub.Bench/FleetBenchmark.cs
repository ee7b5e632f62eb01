using System.Diagnostics;
using System.Globalization;
using System.Text.Json.Nodes;

namespace Hub.Bench;

/// <summary>
/// Issue 16's fleet benchmark: many tenants syncing at the same moment, each with its own sandbox account (so its own
/// Mailchimp limits: the fleet's physical limit is that of one tenant). Sandbox 100 ms per call + 1 ms per member, cap 10
/// per account. Per replica count (default 1 and 2): one tenant alone, then every tenant at once (each PUT through the
/// replicas in turn, as a load balancer would). Reports wall time from the first PUT to the last job's <c>finishedAt</c>,
/// the ratio to the physical limit, Hub's CPU, the most concurrent calls any account saw, and Hub's peak memory.
/// <c>fleet [replicas...]</c>; sizes from HUB_BENCH_FLEET_TENANTS (50) and HUB_BENCH_FLEET_N (2,000).
/// </summary>
public static class FleetBenchmark
{
    private const int Cap = 10;
    private const int PerCallMs = 100;
    private const int PerMemberMs = 1;
    private const int BatchSize = 500;
    // Per replica: 40 jobs of 2,000 members, past the 30 calls after which the runtime compiles a method again, optimized,
    // both for what runs per batch call (160 calls) and for what runs once per job (claim, plan, finish). With 10 jobs, the
    // per-job code was still compiled during the timed run of 50 (0.5-0.9 s of the compiler's CPU).
    private const int WarmUpTenantsPerReplica = 40;
    private const int WarmUpRounds = 3;
    private const double QuietWarmUpRound = 0.1; // seconds of the replicas' compiler in one warm-up round

    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    private static readonly Dictionary<string, string> HubSettings = new()
    {
        ["Hub__Mailchimp__MaxConcurrentCallsPerAccount"] = Cap.ToString(Inv),
        ["Hub__Events__Enabled"] = "false",
        ["Hub__Jobs__PollInterval"] = "00:00:01", // the default: a job must not wait for a poll to be picked up
        // Each tenant's webhook URL is the receiver on loopback (Hub refuses private targets otherwise).
        ["Hub__Webhooks__AllowPrivateTargets"] = "true",
    };

    public static async Task RunAsync(string[] args)
    {
        var tenants = SyncBenchmark.Size("HUB_BENCH_FLEET_TENANTS", 50);
        var n = SyncBenchmark.Size("HUB_BENCH_FLEET_N", 2_000);
        var replicaCounts = args.Length == 0 ? [1, 2] : args.Select(arg => int.Parse(arg, Inv)).ToArray();
        var calls = (n + BatchSize - 1) / BatchSize;
        var callSeconds = (PerCallMs + (double)Math.Min(n, BatchSize) * PerMemberMs) / 1000;
        var physical = Math.Ceiling(calls / (double)Cap) * callSeconds;
        Console.WriteLine($"Fleet benchmark on {Environment.ProcessorCount} cores; Redis {BenchEnvironment.RedisConnection}. Single runs on a shared machine: noisy.");

        var rows = new List<string[]>();
        foreach (var replicas in replicaCounts)
        {
            await using var env = await BenchEnvironment.StartAsync(HubSettings);
            await using var receiver = await TenantReceiver.StartAsync();
            var hubs = new List<BenchProcess>();
            for (var i = 0; i < replicas; i++)
            {
                hubs.Add(await env.StartHubAsync());
            }

            // Setup (not timed): a tenant per account, each with a list in a new audience; tenant 0 has a second list for the solo run.
            var keys = new List<string>();
            for (var i = 0; i < tenants + WarmUpTenantsPerReplica * replicas; i++)
            {
                var key = await env.CreateTenantWithAccountAsync(hubs[0], $"Fleet {i}", receiver.Url);
                await env.CreateListAsync(hubs[0], "fleet", key);
                keys.Add(key);
            }

            await env.CreateListAsync(hubs[0], "solo", keys[0]);

            // Warm-up on every replica (JIT, connection pools) at the timed runs' latency, until the runtime has compiled what it made hot.
            // A round syncs the warm-up tenants into a new list each; rounds go on (at most WarmUpRounds) until one leaves the
            // replicas' compiler with little to do: the runtime counts a method's calls only once it has compiled nothing new
            // for 100 ms, which during the first round's start it seldom does, so what runs once per job can need two rounds
            // to be made hot, as it is in a Hub that has run jobs for a while.
            await env.SetLatencyAsync(PerCallMs, PerMemberMs);
            var warmUpTenants = keys.Skip(tenants).ToList();
            for (var round = 1; round <= WarmUpRounds; round++)
            {
                var list = round == 1 ? "fleet" : $"warm-up-{round}";
                if (round > 1)
                {
                    foreach (var key in warmUpTenants)
                    {
                        await env.CreateListAsync(hubs[0], list, key);
                    }
                }

                var jitBefore = hubs.Sum(hub => BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread));
                await SyncAllAsync(env, receiver, hubs, warmUpTenants, list, 2_000);
                await Task.WhenAll(hubs.Select(hub => BenchEnvironment.WaitForJitToSettleAsync(hub, TimeSpan.FromSeconds(30))));
                var jit = Math.Max(0, hubs.Sum(hub => BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread)) - jitBefore);
                Console.Error.WriteLine($"[bench] warm-up round {round}: the replicas' compiler used {jit:0.00} s");
                if (jit < QuietWarmUpRound)
                {
                    break;
                }
            }

            rows.Add(await MeasureAsync(env, receiver, hubs, [keys[0]], "solo", n, physical, $"1 x {n:N0}", replicas, target: 1.5));
            rows.Add(await MeasureAsync(env, receiver, hubs, [.. keys.Take(tenants)], "fleet", n, physical, $"{tenants} x {n:N0}", replicas, target: 5));
        }

        Table.Print($"Fleet: tenants syncing at once, each its own account (sandbox {PerCallMs} ms/call + {PerMemberMs} ms/member, cap {Cap} per account; physical limit {SyncBenchmark.Seconds(physical)} = ceil({calls} calls / {Cap}) x {SyncBenchmark.Seconds(callSeconds)})",
            ["Replicas", "Tenants x members", "Wall time", "vs physical limit", "Target", "Hub CPU", "Sandbox CPU", "Redis CPU", "Max concurrent per account", "Jobs", "Hub peak memory", "Machine probe"],
            rows);
    }

    private static async Task<string[]> MeasureAsync(
        BenchEnvironment env, TenantReceiver receiver, List<BenchProcess> hubs, IReadOnlyList<string> keys, string list, int n, double physical, string label, int replicas, double target)
    {
        await env.ResetCountersAsync();
        var probe = await MachineProbe.MeasureAsync();
        var cpu = hubs.Sum(BenchEnvironment.CpuSeconds);
        var jit = hubs.Sum(hub => BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread));
        var sandboxCpu = BenchEnvironment.CpuSeconds(env.Sandbox);
        var redisCpu = await BenchEnvironment.RedisCpuSecondsAsync();
        var harnessCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var hubCpu = double.NaN;
        var redisCpuAtEnd = Task.FromResult(double.NaN);
        var (wall, states) = await SyncAllAsync(env, receiver, hubs, keys, list, n, ended: () =>
        {
            // Read before the harness reads each job once: those reads are the harness's, not the run's.
            hubCpu = hubs.Sum(BenchEnvironment.CpuSeconds) - cpu;
            // The runtime ends an idle compiler thread and starts another when there is work: one that ended takes its time
            // with it, so the difference can come out below zero, which is read as nothing compiled.
            jit = Math.Max(0, hubs.Sum(hub => BenchEnvironment.ThreadCpuSeconds(hub, BenchEnvironment.JitThread)) - jit);
            sandboxCpu = BenchEnvironment.CpuSeconds(env.Sandbox) - sandboxCpu;
            harnessCpu = Process.GetCurrentProcess().TotalProcessorTime - harnessCpu;
            redisCpuAtEnd = BenchEnvironment.RedisCpuSecondsAsync();
        });
        redisCpu = await redisCpuAtEnd - redisCpu;
        var counters = await env.CountersAsync();
        var jobs = string.Join(", ", states.GroupBy(state => state).Select(group => $"{group.Count()} {group.Key}"));
        Console.Error.WriteLine($"[bench] fleet {label} on {replicas}: wall {wall:0.00} s, Hub CPU {hubCpu:0.0} s, harness CPU {harnessCpu.TotalSeconds:0.00} s, {jobs}, throttled {counters.Throttled}, machine probe {probe:0} ms");
        return
        [
            replicas.ToString(Inv), label, SyncBenchmark.Seconds(wall), (wall / physical).ToString("0.00", Inv) + "x", $"≤ {target:0.0}x",
            $"{hubCpu:0.0} s ({hubCpu * 1e6 / ((double)n * keys.Count):0} µs/member; compiler {jit:0.00} s)", $"{sandboxCpu:0.0} s", $"{redisCpu:0.0} s", $"{counters.MaxConcurrent} (cap {Cap}; {counters.Throttled} 429s)", jobs,
            string.Join(" / ", hubs.Select(hub => $"{hub.PeakMemoryMiB():N0} MiB")), $"{probe:0} ms",
        ];
    }

    /// <summary>
    /// PUTs <paramref name="n"/> members to each tenant's list at once (tenant i through replica i mod count); waits for every
    /// job's <c>sync.completed</c> or <c>sync.failed</c> webhook, as a host would; then calls <paramref name="ended"/> (where the
    /// caller reads the processes' CPU) and reads each job once; returns the seconds from the first PUT to the last finishedAt.
    /// Polling 50 jobs every 100 ms cost the replicas hundreds of job reads a second during the run (a host told by webhook
    /// reads none). A job whose webhook has not come is read every 5 s; the jobs found ended that way are counted as
    /// <c>without webhook</c> in the states, so a lost delivery shows.
    /// </summary>
    private static async Task<(double Wall, List<string> States)> SyncAllAsync(
        BenchEnvironment env, TenantReceiver receiver, List<BenchProcess> hubs, IReadOnlyList<string> keys, string list, int n, Action? ended = null)
    {
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var jobIds = await Task.WhenAll(keys.Select(async (key, i) =>
        {
            using var client = env.TenantClient(hubs[i % hubs.Count], key);
            return await SyncBenchmark.PutMembersAsync(client, list, n);
        }));
        var staged = clock.Elapsed.TotalSeconds;

        async Task<JsonNode> JobAsync(int i)
        {
            using var client = env.TenantClient(hubs[i % hubs.Count], keys[i]);
            return await env.GetJobAsync(client, jobIds[i]);
        }

        var done = new bool[keys.Count];
        var read = Stopwatch.StartNew();
        while (true)
        {
            var told = receiver.Ended(jobIds);
            for (var i = 0; i < keys.Count; i++) done[i] |= told[i];
            if (done.All(job => job)) break;
            if (read.Elapsed > TimeSpan.FromSeconds(5))
            {
                for (var i = 0; i < keys.Count; i++)
                {
                    done[i] |= !done[i] && (await JobAsync(i))["state"]!.GetValue<string>() is not ("queued" or "running");
                }

                read.Restart();
            }

            if (clock.Elapsed > TimeSpan.FromMinutes(10))
            {
                throw new TimeoutException($"{done.Count(job => !job)} jobs did not finish within 10 minutes.");
            }

            await Task.Delay(20);
        }

        ended?.Invoke();
        var withoutWebhook = receiver.Ended(jobIds).Count(told => !told);
        var finished = await Task.WhenAll(Enumerable.Range(0, keys.Count).Select(JobAsync));
        var last = finished.Max(job => DateTimeOffset.Parse(job!["finishedAt"]!.GetValue<string>(), Inv));
        double Since(string field, Func<IEnumerable<double>, double> pick) =>
            pick(finished.Select(job => (DateTimeOffset.Parse(job![field]!.GetValue<string>(), Inv) - started).TotalSeconds));
        Console.Error.WriteLine($"[bench]   {keys.Count} jobs: every PUT answered at {staged:0.00} s; started {Since("startedAt", Enumerable.Min):0.00}-{Since("startedAt", Enumerable.Max):0.00} s; " +
            $"finished {Since("finishedAt", Enumerable.Min):0.00}-{Since("finishedAt", Enumerable.Max):0.00} s; each ran {finished.Min(job => job!["durationSeconds"]!.GetValue<double>()):0.00}-{finished.Max(job => job!["durationSeconds"]!.GetValue<double>()):0.00} s");
        var states = finished.Select(job => job["state"]!.GetValue<string>()).ToList();
        if (withoutWebhook > 0)
        {
            Console.Error.WriteLine($"[bench]   {withoutWebhook} jobs ended without their sync webhook (found by reading the job)");
            states.AddRange(Enumerable.Repeat("without webhook", withoutWebhook));
        }

        return ((last - started).TotalSeconds, states);
    }
}
