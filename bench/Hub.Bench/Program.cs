using Hub.Bench;

// bench/run.sh [name|all]: runs one benchmark, or every one that exists, and prints its tables.
// A benchmark is an entry here; one still to be written is listed with a null runner so `all`
// names it as skipped and asking for it alone says so.
var benchmarks = new (string Name, string Description, Func<Task>? Run)[]
{
    ("facade", "member upsert and read through Hub versus straight to the sandbox; connection read throughput", FacadeBenchmark.RunAsync),
    ("sync", "full sync of a desired set (not written yet)", null),
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

var exitCode = 0;
foreach (var (name, _, run) in selected)
{
    if (run is null)
    {
        Console.WriteLine($"## {name}: not written yet, skipped.");
        exitCode = wanted == name ? 2 : exitCode;
        continue;
    }

    Console.WriteLine($"## {name}");
    await run();
}

return exitCode;
