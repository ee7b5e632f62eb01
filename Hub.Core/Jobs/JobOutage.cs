namespace Hub.Core.Jobs;

/// <summary>
/// One kind of outage a running job waits out (the store, or a dependency its handler calls): since when it lasts, and
/// the pause before the next try, which starts at <c>first</c> and doubles up to <c>max</c>. Once the outage has lasted
/// <c>limit</c> there is no next pause: the job fails. One per run of a job on a worker (see <see cref="JobWorker"/>).
/// </summary>
internal sealed class JobOutage(TimeSpan first, TimeSpan max, TimeSpan limit, TimeProvider time)
{
    private DateTimeOffset? _since;
    private TimeSpan _pause;

    /// <summary>Notes one more failure. False when the outage has lasted the limit (<paramref name="waited"/>); else the pause to wait before trying again.</summary>
    public bool TryNextPause(out TimeSpan pause, out TimeSpan waited)
    {
        _since ??= time.GetUtcNow();
        waited = time.GetUtcNow() - _since.Value;
        if (waited >= limit)
        {
            pause = TimeSpan.Zero;
            return false;
        }

        _pause = _pause == TimeSpan.Zero ? first : TimeSpan.FromTicks(Math.Min(_pause.Ticks * 2, max.Ticks));
        pause = _pause;
        return true;
    }

    /// <summary>It answered again: a later failure starts a new outage, timed from then (the pauses keep growing until <see cref="ResetPause"/>).</summary>
    public void Ended() => _since = null;

    /// <summary>The job got further: the next pause starts small again.</summary>
    public void ResetPause() => _pause = TimeSpan.Zero;
}
