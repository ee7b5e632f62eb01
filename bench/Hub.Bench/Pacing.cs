using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Hub.Bench;

/// <summary>
/// Sleeps until a <see cref="Stopwatch"/> timestamp with the kernel's high-resolution timers. Task.Delay
/// and Thread.Sleep work in whole milliseconds and wake up to a millisecond late, which at 500 requests/s
/// (one every 2 ms) sends requests in bursts. On Linux, Stopwatch timestamps are CLOCK_MONOTONIC
/// nanoseconds, so an absolute clock_nanosleep on that clock wakes within tens of microseconds.
/// </summary>
internal static partial class Pacing
{
    private const int ClockMonotonic = 1;
    private const int TimerAbsoluteTime = 1;
    private const int Interrupted = 4; // EINTR

    public static void SleepUntil(long timestamp)
    {
        if (!OperatingSystem.IsLinux() || Stopwatch.Frequency != 1_000_000_000)
        {
            throw new PlatformNotSupportedException("The benchmark paces requests with Linux's clock_nanosleep on CLOCK_MONOTONIC.");
        }

        var until = new Timespec(timestamp / 1_000_000_000, timestamp % 1_000_000_000);
        int error;
        while ((error = clock_nanosleep(ClockMonotonic, TimerAbsoluteTime, in until, IntPtr.Zero)) == Interrupted)
        {
        }

        if (error != 0)
        {
            // A sleep that failed would send every request at once without saying so.
            throw new InvalidOperationException($"clock_nanosleep failed with error {error}.");
        }
    }

    // Returns the error number itself (not -1 and errno).
    [LibraryImport("libc")]
    private static partial int clock_nanosleep(int clock, int flags, in Timespec request, IntPtr remain);
}

/// <summary>Linux's <c>struct timespec</c> on 64-bit: seconds and nanoseconds (<see cref="Pacing"/>, <see cref="MachineProbe"/>).</summary>
[StructLayout(LayoutKind.Sequential)]
internal readonly record struct Timespec(long Seconds, long Nanoseconds);
