using System.Runtime.InteropServices;

namespace Hub.Bench;

/// <summary>
/// How fast the machine is at the moment: the CPU time one thread spends on a fixed piece of work (sorting the same
/// pseudo-random numbers). The development machine is a guest on shared hardware whose speed has phases: minutes apart, the
/// same loop took 0.44 and 0.63 s of CPU, and every process's CPU per member moved with it. Printed beside a measurement,
/// it tells the machine's phase from a change in Hub: compare figures only between runs whose probes agree.
/// </summary>
internal static partial class MachineProbe
{
    private const int ClockThreadCpuTime = 3; // CLOCK_THREAD_CPUTIME_ID
    private const int Numbers = 200_000;
    private const int Rounds = 5;

    private static int _warmedUp;

    /// <summary>Milliseconds of this thread's CPU for the fixed work (about 65 ms on the development machine in a fast phase).</summary>
    public static double Milliseconds()
    {
        if (!OperatingSystem.IsLinux())
        {
            throw new PlatformNotSupportedException("The machine probe reads Linux's CLOCK_THREAD_CPUTIME_ID.");
        }

        var source = new int[Numbers];
        var work = new int[Numbers];
        var state = 2463534242u;
        for (var i = 0; i < source.Length; i++)
        {
            // xorshift32: the same numbers on every run.
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            source[i] = (int)state;
        }

        var before = ThreadCpuNanoseconds();
        for (var round = 0; round < Rounds; round++)
        {
            source.CopyTo(work, 0);
            Array.Sort(work);
        }

        return (ThreadCpuNanoseconds() - before) / 1e6;
    }

    /// <summary>
    /// Runs the probe on a thread of its own, so that the CPU it reads is the work's alone. The first call in a process
    /// runs it once more first: the sort starts as precompiled code that the runtime compiles again once it is hot.
    /// </summary>
    public static Task<double> MeasureAsync() => Task.Factory.StartNew(() =>
    {
        if (Interlocked.Exchange(ref _warmedUp, 1) == 0)
        {
            Milliseconds();
        }

        return Milliseconds();
    }, TaskCreationOptions.LongRunning);

    private static long ThreadCpuNanoseconds()
    {
        if (clock_gettime(ClockThreadCpuTime, out var now) != 0)
        {
            throw new InvalidOperationException($"clock_gettime(CLOCK_THREAD_CPUTIME_ID) failed: {Marshal.GetLastPInvokeError()}.");
        }

        return (now.Seconds * 1_000_000_000) + now.Nanoseconds;
    }

    [LibraryImport("libc", SetLastError = true)]
    private static partial int clock_gettime(int clock, out Timespec time);
}
