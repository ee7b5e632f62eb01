using System.Buffers.Text;
using System.Globalization;
using System.Text;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>One page of a collection, the shape every collection route answers with.</summary>
/// <param name="Items">This page's items, in the collection's order.</param>
/// <param name="NextCursor">Pass it back as <c>cursor</c> for the next page; null on the last page. Opaque: do not build or change it.</param>
/// <param name="Total">How many items the whole collection holds, where Hub knows it exactly at no extra cost; otherwise null.</param>
public sealed record Page<T>(IReadOnlyList<T> Items, string? NextCursor, long? Total)
{
    public Page<TOut> Map<TOut>(Func<T, TOut> map) => new([.. Items.Select(map)], NextCursor, Total);

    /// <summary>
    /// The page after <paramref name="after"/> of a whole collection held in memory, in the order of <paramref name="position"/>;
    /// <see cref="Total"/> is the collection's size.
    /// </summary>
    public static Page<T> Of(IReadOnlyCollection<T> all, Func<T, PageCursor> position, PageCursor? after, int limit)
    {
        var rest = all.Select(item => (Item: item, Position: position(item))).Order(ByPosition.Instance)
            .Where(entry => after is not { } start || entry.Position.CompareTo(start) > 0)
            .Take(limit + 1).ToList();
        var next = rest.Count > limit ? rest[limit - 1].Position.Encode() : null;
        return new([.. rest.Take(limit).Select(entry => entry.Item)], next, all.Count);
    }

    private sealed class ByPosition : IComparer<(T Item, PageCursor Position)>
    {
        public static readonly ByPosition Instance = new();

        public int Compare((T Item, PageCursor Position) x, (T Item, PageCursor Position) y) => x.Position.CompareTo(y.Position);
    }
}

/// <summary>
/// Where a page ends: the sort value (a sorted set's score, a creation time, an offset into Mailchimp's collection) and id of its
/// last item. A client sees it only encoded (<see cref="Encode"/>), as an opaque string, so a page is asked for by the position of
/// the last item seen, not by an offset that items added since would shift.
/// </summary>
public readonly record struct PageCursor(double Score, string Id) : IComparable<PageCursor>
{
    /// <summary>The longest cursor text accepted.</summary>
    public const int MaxLength = 400;

    /// <summary>What a client is told when its cursor is not one Hub gave out.</summary>
    public const string Rule = "Not a cursor this API returned: pass nextCursor from the previous page as it is.";

    /// <summary>A position <paramref name="offset"/> items into a collection Mailchimp pages by offset.</summary>
    public static PageCursor AtOffset(int offset) => new(offset, "");

    /// <summary>The offset of a cursor made by <see cref="AtOffset"/>; null for any other.</summary>
    public int? Offset => Id.Length == 0 && Score is >= 0 and <= int.MaxValue && Score == Math.Floor(Score) ? (int)Score : null;

    public int CompareTo(PageCursor other)
    {
        var byScore = Score.CompareTo(other.Score);
        return byScore != 0 ? byScore : string.CompareOrdinal(Id, other.Id);
    }

    public string Encode() => Base64Url.EncodeToString(Encoding.UTF8.GetBytes(Score.ToString("R", CultureInfo.InvariantCulture) + "\n" + Id));

    public static bool TryDecode(string? text, out PageCursor cursor)
    {
        cursor = default;
        if (string.IsNullOrEmpty(text) || text.Length > MaxLength || !Base64Url.IsValid(text))
        {
            return false;
        }

        string decoded;
        try
        {
            decoded = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(Base64Url.DecodeFromChars(text));
        }
        catch (Exception exception) when (exception is FormatException or ArgumentException)
        {
            return false;
        }

        var split = decoded.IndexOf('\n', StringComparison.Ordinal);
        if (split < 0 || !double.TryParse(decoded.AsSpan(0, split), NumberStyles.Float, CultureInfo.InvariantCulture, out var score)
            || !double.IsFinite(score) || decoded.AsSpan(split + 1).ContainsAnyInRange('\0', ' '))
        {
            return false;
        }

        cursor = new PageCursor(score, decoded[(split + 1)..]);
        return true;
    }
}

/// <summary>The checks every collection route makes of its <c>cursor</c> and <c>limit</c> query parameters.</summary>
public static class Paging
{
    /// <summary>
    /// Null when <paramref name="cursor"/> (absent, or one Hub gave out) and <paramref name="limit"/> (1 to <paramref name="maxLimit"/>)
    /// are valid, with the cursor's position in <paramref name="after"/>; otherwise the parameter at fault and why.
    /// </summary>
    public static (string Parameter, string Message)? Check(string? cursor, int limit, int maxLimit, out PageCursor? after)
    {
        after = null;
        if (cursor is not null)
        {
            if (!PageCursor.TryDecode(cursor, out var decoded))
            {
                return ("cursor", PageCursor.Rule);
            }

            after = decoded;
        }

        return limit < 1 || limit > maxLimit ? ("limit", $"Between 1 and {maxLimit}.") : null;
    }

    /// <summary>
    /// As <see cref="Check"/>, for a collection Mailchimp pages by offset (audiences, members): the offset the cursor names
    /// in <paramref name="offset"/> (0 without one).
    /// </summary>
    public static (string Parameter, string Message)? CheckOffset(string? cursor, int limit, int maxLimit, out int offset)
    {
        offset = 0;
        if (Check(cursor, limit, maxLimit, out var after) is { } error)
        {
            return error;
        }

        if (after is { } start)
        {
            if (start.Offset is not { } named)
            {
                return ("cursor", PageCursor.Rule);
            }

            offset = named;
        }

        return null;
    }

    /// <summary>The cursor of the page after the one at <paramref name="offset"/> of a collection of <paramref name="total"/> that Mailchimp pages by offset; null on the last page.</summary>
    public static string? CursorAfterOffset(int offset, int limit, long total) =>
        offset + (long)limit < total ? PageCursor.AtOffset(offset + limit).Encode() : null;

    /// <summary>
    /// Up to <paramref name="take"/> entries of a sorted set strictly after <paramref name="after"/> in <paramref name="order"/>: by
    /// score, then (as Redis orders equal scores) by member. Entries added before the cursor's position never shift the page.
    /// </summary>
    public static async Task<SortedSetEntry[]> RangeAfterAsync(this IDatabaseAsync db, RedisKey key, PageCursor? after, int take, Order order)
    {
        if (after is not { } start)
        {
            return await db.SortedSetRangeByRankWithScoresAsync(key, 0, take - 1, order);
        }

        var ascending = order == Order.Ascending;
        // The entries that share the cursor's score (a few at most: the same millisecond), then those beyond it.
        var ties = db.SortedSetRangeByScoreWithScoresAsync(key, start.Score, start.Score);
        var beyond = ascending
            ? db.SortedSetRangeByScoreWithScoresAsync(key, start.Score, double.PositiveInfinity, Exclude.Start, Order.Ascending, 0, take)
            : db.SortedSetRangeByScoreWithScoresAsync(key, double.NegativeInfinity, start.Score, Exclude.Stop, Order.Descending, 0, take);
        var tiesAfter = (await ties).Where(entry => string.CompareOrdinal(entry.Element.ToString(), start.Id) is var compared && (ascending ? compared > 0 : compared < 0));
        tiesAfter = ascending
            ? tiesAfter.OrderBy(entry => entry.Element.ToString(), StringComparer.Ordinal)
            : tiesAfter.OrderByDescending(entry => entry.Element.ToString(), StringComparer.Ordinal);
        return [.. tiesAfter.Concat(await beyond).Take(take)];
    }

    /// <summary>The cursor that reads on after <paramref name="entry"/> of a sorted set.</summary>
    public static string CursorAfter(SortedSetEntry entry) => new PageCursor(entry.Score, entry.Element.ToString()).Encode();
}
