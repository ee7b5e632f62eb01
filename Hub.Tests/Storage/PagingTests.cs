using Hub.Core.Storage;
using Hub.Tests.Infrastructure;
using StackExchange.Redis;

namespace Hub.Tests.Storage;

/// <summary>
/// The one cursor every collection route hands out, and the sorted-set pages behind jobs, webhook deliveries and tenants, on
/// every store (the reversed range with a limit too).
/// </summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public sealed class PagingTests(string backend) : BackendFixture(backend)
{
    [Test]
    public void A_cursor_reads_back_as_the_position_it_was_made_from()
    {
        var cursor = new PageCursor(1764762544123, "job_wj05b59cx6vzrhk32mum");
        Assert.Multiple(() =>
        {
            Assert.That(PageCursor.TryDecode(cursor.Encode(), out var decoded), Is.True);
            Assert.That(decoded, Is.EqualTo(cursor));
            Assert.That(cursor.Encode(), Does.Match("^[A-Za-z0-9_-]+$"), "safe in a query string as it is");
            Assert.That(PageCursor.TryDecode(PageCursor.AtOffset(300).Encode(), out var offset) ? offset.Offset : null, Is.EqualTo(300));
            Assert.That(cursor.Offset, Is.Null, "a position is not an offset");
        });
    }

    [TestCase("")]
    [TestCase("abc")]
    [TestCase("100")]
    [TestCase("not base64!")]
    [TestCase("MTIz")] // "123": no id part
    [TestCase("TmFOCmlk")] // "NaN\nid"
    [TestCase("MQppZAA")] // "1\nid\0"
    [TestCase("__8K")] // not UTF-8
    public void A_cursor_Hub_did_not_give_out_is_refused(string text) =>
        Assert.That(PageCursor.TryDecode(text, out _), Is.False);

    [Test]
    public void A_cursor_too_long_is_refused() =>
        Assert.That(PageCursor.TryDecode(new PageCursor(1, new string('a', 400)).Encode(), out _), Is.False);

    [Test]
    public void Bad_paging_parameters_name_the_parameter()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Paging.Check("abc", 10, 100, out _)?.Parameter, Is.EqualTo("cursor"));
            Assert.That(Paging.Check(null, 0, 100, out _)?.Parameter, Is.EqualTo("limit"));
            Assert.That(Paging.Check(null, 101, 100, out _)?.Parameter, Is.EqualTo("limit"));
            Assert.That(Paging.CheckOffset(new PageCursor(5, "x").Encode(), 10, 100, out _)?.Parameter, Is.EqualTo("cursor"));
            Assert.That(Paging.Check(null, 100, 100, out var after), Is.Null);
            Assert.That(after, Is.Null);
        });
    }

    [TestCase(Order.Descending)]
    [TestCase(Order.Ascending)]
    public async Task Sorted_set_pages_visit_every_entry_once_with_ties_and_entries_added_at_the_front(Order order)
    {
        var db = Backend.Connection.GetDatabase();
        RedisKey key = TestRedis.NewPrefix() + "paged";
        try
        {
            // Scores 10, 20 (three ties), 30: as jobs queued in the same millisecond.
            await db.SortedSetAddAsync(key, [new("a", 10), new("b", 20), new("c", 20), new("d", 20), new("e", 30)]);
            var expected = order == Order.Descending ? new[] { "e", "d", "c", "b", "a" } : ["a", "b", "c", "d", "e"];
            var seen = new List<string>();
            PageCursor? after = null;
            for (var pages = 0; pages < 10; pages++)
            {
                var entries = await db.RangeAfterAsync(key, after, 2, order);
                seen.AddRange(entries.Select(entry => entry.Element.ToString()));
                if (entries.Length < 2)
                {
                    break;
                }

                Assert.That(PageCursor.TryDecode(Paging.CursorAfter(entries[^1]), out var next), Is.True);
                after = next;
                // A new entry where the first page was read (newest first: the front; oldest first: before the start).
                await db.SortedSetAddAsync(key, "new" + pages, order == Order.Descending ? 40 + pages : 1 - pages);
            }

            Assert.That(seen, Is.EqualTo(expected));
        }
        finally
        {
            await db.KeyDeleteAsync(key);
        }
    }
}
