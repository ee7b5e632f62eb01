using System.Diagnostics;

namespace Hub.Bench;

/// <summary>Latency figures of one load run.</summary>
public sealed record LoadResult(string Name, int Requests, int Errors, double P50Ms, double P99Ms, double RequestsPerSecond);

/// <summary>
/// Drives HTTP load from this process. <see cref="OpenLoopAsync"/> sends at a fixed rate whatever the
/// answers (so queueing shows in the latency, no coordinated omission); <see cref="ClosedLoopAsync"/>
/// keeps N requests in flight to find the throughput ceiling.
/// </summary>
public static class LoadGenerator
{
    public static async Task<LoadResult> OpenLoopAsync(string name, int ratePerSecond, TimeSpan duration, Func<int, Task<bool>> send)
    {
        var block = await OpenLoopBlockAsync(ratePerSecond, duration, send, firstIndex: 0);
        return Result(name, [block]);
    }

    /// <summary>
    /// Two open loops at the same rate taking turns in blocks of <paramref name="block"/> until each has run
    /// for <paramref name="duration"/>, so slow drifts in the machine's load hit both alike. Only one loop
    /// sends at a time. <paramref name="beforeB"/> and <paramref name="afterB"/> bracket each block of B
    /// (e.g. to read a process's CPU time).
    /// </summary>
    public static async Task<(LoadResult A, LoadResult B)> AlternatingOpenLoopsAsync(
        string name, int ratePerSecond, TimeSpan duration, TimeSpan block, Func<int, Task<bool>> a, Func<int, Task<bool>> b, Action? beforeB = null, Action? afterB = null)
    {
        var blocksA = new List<Block>();
        var blocksB = new List<Block>();
        var perBlock = (int)(ratePerSecond * block.TotalSeconds);
        for (var done = TimeSpan.Zero; done < duration; done += block)
        {
            blocksA.Add(await OpenLoopBlockAsync(ratePerSecond, block, a, blocksA.Count * perBlock));
            beforeB?.Invoke();
            blocksB.Add(await OpenLoopBlockAsync(ratePerSecond, block, b, blocksB.Count * perBlock));
            afterB?.Invoke();
        }

        return (Result(name, blocksA), Result(name, blocksB));
    }

    private sealed record Block(double[] Latencies, int Errors, double Seconds);

    private static async Task<Block> OpenLoopBlockAsync(int ratePerSecond, TimeSpan duration, Func<int, Task<bool>> send, int firstIndex)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var errors = 0;
        var tasks = new Task[total];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < total; i++)
        {
            var due = TimeSpan.FromSeconds((double)i / ratePerSecond);
            var wait = due - clock.Elapsed;
            if (wait > TimeSpan.FromMilliseconds(1))
            {
                await Task.Delay(wait);
            }

            var index = i;
            var scheduled = due;
            tasks[i] = Task.Run(async () =>
            {
                var ok = await send(firstIndex + index);
                // Measured from when the request was due, so a late send counts against the system.
                latencies[index] = (clock.Elapsed - scheduled).TotalMilliseconds;
                if (!ok)
                {
                    Interlocked.Increment(ref errors);
                }
            });
        }

        await Task.WhenAll(tasks);
        return new Block(latencies, errors, clock.Elapsed.TotalSeconds);
    }

    private static LoadResult Result(string name, IReadOnlyList<Block> blocks)
    {
        var latencies = blocks.SelectMany(block => block.Latencies).ToArray();
        Array.Sort(latencies);
        return new LoadResult(name, latencies.Length, blocks.Sum(block => block.Errors), Percentile(latencies, 0.50), Percentile(latencies, 0.99),
            latencies.Length / blocks.Sum(block => block.Seconds));
    }

    public static async Task<LoadResult> ClosedLoopAsync(string name, int concurrency, TimeSpan duration, Func<Task<bool>> send)
    {
        var latencies = new List<double>[concurrency];
        var errors = 0;
        var clock = Stopwatch.StartNew();
        await Task.WhenAll(Enumerable.Range(0, concurrency).Select(worker => Task.Run(async () =>
        {
            var mine = latencies[worker] = new List<double>(4096);
            while (clock.Elapsed < duration)
            {
                var started = clock.Elapsed;
                if (!await send())
                {
                    Interlocked.Increment(ref errors);
                }

                mine.Add((clock.Elapsed - started).TotalMilliseconds);
            }
        })));
        var all = latencies.SelectMany(list => list).ToArray();
        Array.Sort(all);
        return new LoadResult(name, all.Length, errors, Percentile(all, 0.50), Percentile(all, 0.99), all.Length / clock.Elapsed.TotalSeconds);
    }

    private static double Percentile(double[] sorted, double quantile) =>
        sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(quantile * sorted.Length) - 1)];
}

/// <summary>Prints aligned Markdown tables.</summary>
public static class Table
{
    public static void Print(string title, string[] header, IEnumerable<string[]> rows)
    {
        var all = new List<string[]> { header };
        all.AddRange(rows);
        var widths = header.Select((_, column) => all.Max(row => row[column].Length)).ToArray();
        Console.WriteLine();
        Console.WriteLine($"### {title}");
        Console.WriteLine();
        for (var r = 0; r < all.Count; r++)
        {
            Console.WriteLine("| " + string.Join(" | ", all[r].Select((cell, column) => cell.PadRight(widths[column]))) + " |");
            if (r == 0)
            {
                Console.WriteLine("|" + string.Join("|", widths.Select(width => new string('-', width + 2))) + "|");
            }
        }
    }
}
