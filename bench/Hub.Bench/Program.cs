using Hub.Bench;

// Minimal dispatcher: `sync [first|memory|failover]...`. (The facade benchmark's dispatcher is merged in separately.)
var command = args.Length > 0 ? args[0] : "all";
switch (command)
{
    case "sync":
    case "all":
        await SyncBenchmark.RunAsync(args.Skip(1).ToArray());
        break;
    default:
        Console.Error.WriteLine($"Unknown benchmark '{command}'. Use: sync [first|memory|failover]...");
        return 2;
}

return 0;
