using System.Diagnostics;

namespace Hub.Bench;

/// <summary>Latency figures of one load run. <see cref="SendLateP99Ms"/>: how late the open loop started its requests (p99); NaN for a closed loop.</summary>
public sealed record LoadResult(string Name, int Requests, int Errors, double P50Ms, double P99Ms, double RequestsPerSecond, double SendLateP99Ms = double.NaN);

/// <summary>
/// Drives HTTP load from this process. <see cref="OpenLoopAsync"/> sends at a fixed, evenly spaced rate
/// whatever the answers (so queueing shows in the latency, no coordinated omission) and reports how late
/// it started its requests, so a reader can see the load was the load asked for; <see cref="ClosedLoopAsync"/>
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
        string name, int ratePerSecond, TimeSpan duration, TimeSpan block, Func<int, Task<bool>> a, Func<int, Task<bool>> b,
        Action? beforeA = null, Action? afterA = null, Action? beforeB = null, Action? afterB = null)
    {
        var blocksA = new List<Block>();
        var blocksB = new List<Block>();
        var perBlock = (int)(ratePerSecond * block.TotalSeconds);
        for (var done = TimeSpan.Zero; done < duration; done += block)
        {
            beforeA?.Invoke();
            blocksA.Add(await OpenLoopBlockAsync(ratePerSecond, block, a, blocksA.Count * perBlock));
            afterA?.Invoke();
            beforeB?.Invoke();
            blocksB.Add(await OpenLoopBlockAsync(ratePerSecond, block, b, blocksB.Count * perBlock));
            afterB?.Invoke();
        }

        return (Result(name, blocksA), Result(name, blocksB));
    }

    private sealed record Block(double[] Latencies, double[] Lateness, int Errors, double Seconds);

    /// <summary>
    /// One open-loop block. A dedicated thread sleeps until each request is due (an absolute high-resolution
    /// sleep, no CPU spent waiting) and starts it there, so requests leave evenly spaced instead of in the
    /// bursts a millisecond timer makes. Latency counts from when the request was due.
    /// </summary>
    private static async Task<Block> OpenLoopBlockAsync(int ratePerSecond, TimeSpan duration, Func<int, Task<bool>> send, int firstIndex)
    {
        var total = (int)(ratePerSecond * duration.TotalSeconds);
        var latencies = new double[total];
        var lateness = new double[total];
        var errors = 0;
        var tasks = new Task[total];
        var started = Stopwatch.GetTimestamp();
        var paced = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var pacer = new Thread(() =>
        {
            try
            {
                for (var i = 0; i < total; i++)
                {
                    var due = started + (long)((double)i * Stopwatch.Frequency / ratePerSecond);
                    Pacing.SleepUntil(due);
                    lateness[i] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
                    tasks[i] = Measure(i, due);
                }

                paced.SetResult();
            }
            catch (Exception e)
            {
                paced.SetException(e);
            }
        }) { IsBackground = true, Name = "open-loop pacer" };
        pacer.Start();
        await paced.Task;
        await Task.WhenAll(tasks);
        return new Block(latencies, lateness, errors, Stopwatch.GetElapsedTime(started).TotalSeconds);

        async Task Measure(int index, long due)
        {
            var ok = await send(firstIndex + index);
            latencies[index] = Stopwatch.GetElapsedTime(due).TotalMilliseconds;
            if (!ok)
            {
                Interlocked.Increment(ref errors);
            }
        }
    }

    private static LoadResult Result(string name, IReadOnlyList<Block> blocks)
    {
        var latencies = blocks.SelectMany(block => block.Latencies).ToArray();
        var lateness = blocks.SelectMany(block => block.Lateness).ToArray();
        Array.Sort(latencies);
        Array.Sort(lateness);
        return new LoadResult(name, latencies.Length, blocks.Sum(block => block.Errors), Percentile(latencies, 0.50), Percentile(latencies, 0.99),
            latencies.Length / blocks.Sum(block => block.Seconds), Percentile(lateness, 0.99));
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

    internal static double Percentile(double[] sorted, double quantile) =>
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
