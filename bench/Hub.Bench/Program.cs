using Hub.Bench;

// bench/run.sh [name [parts...]|all]: runs one benchmark, or every one, and prints its tables.
// InAll: whether `all` runs it (the fault benchmark takes 10 minutes or more, so it runs only when named).
var benchmarks = new (string Name, string Description, Func<string[], Task> Run, bool InAll)[]
{
    ("facade", "member upsert and read through Hub versus straight to the sandbox; connection read throughput", _ => FacadeBenchmark.RunAsync(), true),
    ("sync", "first sync of 100k, no-change re-sync, 1M-row NDJSON memory, replica killed mid-sync (parts: first|memory|failover)", SyncBenchmark.RunAsync, true),
    ("faults", "Redis, Sentinel, Hub and Mailchimp faults during a 20k sync (parts: row numbers 1-6; not in all)", FaultsBenchmark.RunAsync, false),
    ("people", "erasing a person in 10 audiences: POST to succeeded (5 runs after a warm-up; HUB_BENCH_PEOPLE_LATENCY_MS sets the sandbox's latency)", _ => PeopleBenchmark.RunAsync(), true),
    ("fleet", "50 tenants x 2,000 members syncing at once, each its own account, on 1 and 2 replicas (parts: replica counts; not in all)", FleetBenchmark.RunAsync, false),
    ("events", "Mailchimp list-webhook events to the tenant: delay of 1,000 unsubscribes at 50/s, a burst of 10,000 profile changes (3 runs, about 4 min; not in all)", _ => EventsBenchmark.RunAsync(), false),
};

if (args is ["floor-server", ..])
{
    await FloorServer.RunAsync(args); // started by the facade benchmark as a process of its own
    return 0;
}

var wanted = args.Length > 0 ? args[0] : "all";
var selected = wanted == "all" ? benchmarks.Where(benchmark => benchmark.InAll).ToArray() : benchmarks.Where(benchmark => benchmark.Name == wanted).ToArray();
if (selected.Length == 0)
{
    Console.Error.WriteLine($"Unknown benchmark '{wanted}'. Usage: bench/run.sh [{string.Join('|', benchmarks.Select(b => b.Name))}|all]");
    foreach (var (name, description, _, _) in benchmarks)
    {
        Console.Error.WriteLine($"  {name,-8} {description}");
    }

    return 2;
}

foreach (var (name, _, run, _) in selected)
{
    Console.WriteLine($"## {name}");
    await run(wanted == "all" ? [] : args.Skip(1).ToArray());
}

return 0;
