using System.Collections.Concurrent;
using System.Globalization;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;

namespace Hub.Core.Members;

/// <summary>
/// Which contacts of an audience were <c>subscribed</c> when a sync run read it, so that contacts that already exist can be
/// written in batches (batch subscribe with <c>update_existing</c> and the status they have) instead of one PUT each.
/// <para>Read at most once per run, in pages of <see cref="PageSize"/> of subscribed contacts (the <c>status</c> filter)
/// carrying only each contact's address and status, and only once the contacts the run has written one by one would have cost as many calls as the read: a run that meets a
/// few existing contacts never reads a large audience. Pages are read side by side, up to the run's connection cap.</para>
/// <para>Why it is safe: a contact read as subscribed that has unsubscribed or bounced since is refused by Mailchimp
/// ("Member In Compliance State", FACTS.md §4), never re-subscribed; a contact not read as subscribed (pending,
/// unsubscribed, cleaned, transactional, or added after the read) is written one by one with the PUT that never changes a
/// status. What remains is a contact moved from subscribed to pending by someone else between the read (once per run) and
/// the write.</para>
/// </summary>
public sealed class AudienceDirectory(
    Func<int, int, CancellationToken, Task<MailchimpMemberStatusPage>> readPage,
    Func<CancellationToken, Task<long>> countSubscribed,
    int parallelism)
{
    /// <summary>The largest page Mailchimp serves (FACTS.md §6).</summary>
    public const int PageSize = 1000;

    private static readonly IReadOnlySet<string> None = new HashSet<string>();

    private readonly SemaphoreSlim _gate = new(1, 1);
    private HashSet<UInt128>? _subscribed;
    private long _pages = -1;
    private long _writtenOneByOne;

    /// <summary>
    /// The subscriber hashes, among <paramref name="existing"/>, of contacts read as subscribed; reads the audience first
    /// when that has become cheaper than writing them one by one. The others are the caller's to write one by one.
    /// </summary>
    public async Task<IReadOnlySet<string>> SubscribedAsync(IReadOnlyList<string> existing, CancellationToken cancellationToken)
    {
        if (existing.Count == 0)
        {
            return None;
        }

        var subscribed = Volatile.Read(ref _subscribed) ?? await ReadIfCheaperAsync(existing.Count, cancellationToken);
        return subscribed is null ? None : existing.Where(hash => subscribed.Contains(Key(hash))).ToHashSet(StringComparer.Ordinal);
    }

    private async Task<HashSet<UInt128>?> ReadIfCheaperAsync(int existing, CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (_subscribed is not null)
            {
                return _subscribed;
            }

            if (_pages < 0)
            {
                _pages = (await countSubscribed(cancellationToken) + PageSize - 1) / PageSize;
            }

            _writtenOneByOne += existing;
            if (_writtenOneByOne < _pages)
            {
                return null;
            }

            var subscribed = await ReadAsync(cancellationToken);
            Volatile.Write(ref _subscribed, subscribed);
            return subscribed;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<HashSet<UInt128>> ReadAsync(CancellationToken cancellationToken)
    {
        // The first page tells how many there are; the rest are read side by side, each kept only as its keys. A contact
        // that moves between pages while they are read (the audience is being written) may be missed: it is then written
        // one by one, which is always safe.
        var first = await readPage(PageSize, 0, cancellationToken);
        var pages = new ConcurrentBag<UInt128[]> { Keys(first) };
        var offsets = Enumerable.Range(1, Math.Max(0, (first.TotalItems - 1) / PageSize)).Select(page => page * PageSize);
        await Parallel.ForEachAsync(offsets, new ParallelOptions { MaxDegreeOfParallelism = parallelism, CancellationToken = cancellationToken },
            async (offset, token) => pages.Add(Keys(await readPage(PageSize, offset, token))));
        return pages.SelectMany(keys => keys).ToHashSet();

        static UInt128[] Keys(MailchimpMemberStatusPage page) =>
            [.. page.Members.Where(member => member.Status == MailchimpMemberStatus.Subscribed).Select(member => Key(SubscriberHash.FromEmail(member.EmailAddress).Value))];
    }

    // A subscriber hash is 32 hex digits: kept as a number, a million contacts take some 30 MB rather than 100.
    private static UInt128 Key(string subscriberHash) => UInt128.Parse(subscriberHash, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture);
}
