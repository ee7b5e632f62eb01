using Hub.Bench;

// bench/run.sh [name [parts...]|all]: runs one benchmark, or every one, and prints its tables.
var benchmarks = new (string Name, string Description, Func<string[], Task> Run)[]
{
    ("facade", "member upsert and read through Hub versus straight to the sandbox; connection read throughput", _ => FacadeBenchmark.RunAsync()),
    ("sync", "first sync of 100k, no-change re-sync, 1M-row NDJSON memory, replica killed mid-sync (parts: first|memory|failover)", SyncBenchmark.RunAsync),
};

var wanted = args.Length > 0 ? args[0] : "all";
var selected = wanted == "all" ? benchmarks : benchmarks.Where(benchmark => benchmark.Name == wanted).ToArray();
if (selected.Length == 0)
{
    Console.Error.WriteLine($"Unknown benchmark '{wanted}'. Usage: bench/run.sh [{string.Join('|', benchmarks.Select(b => b.Name))}|all]");
    foreach (var (name, description, _) in benchmarks)
    {
        Console.Error.WriteLine($"  {name,-8} {description}");
    }

    return 2;
}

foreach (var (name, _, run) in selected)
{
    Console.WriteLine($"## {name}");
    await run(wanted == "all" ? [] : args.Skip(1).ToArray());
}

return 0;
