using System.Text.Json;
using Hub.Core.Members;
using Hub.Core.Storage;

namespace Hub.Tests.Sync;

/// <summary>
/// The planner fingerprints a staged member from the bytes staged for it when they already are what the fingerprint hashes;
/// that must give exactly the fingerprint of the member itself, or every member would look changed (or unchanged ones would).
/// </summary>
public class StagedFingerprintTests
{
    private static readonly string[] Rows =
    [
        """{"email":"plain@example.com"}""",
        """{"email":"Mixed.Case@Example.COM","tags":["b","a","a"]}""",
        """{"email":"crm@example.com","externalId":"crm-42","mergeFields":{"FNAME":"Zoë","lname":"O'Brien"}}""",
        """{"email":"escapes@example.com","mergeFields":{"FNAME":"\"quoted\" <b>&amp;</b> \u00e9 \ud83d\ude00","NOTE":"tab\there"}}""",
        """{"email":"numbers@example.com","mergeFields":{"AGE":42,"SCORE":1.50,"BIG":1e3,"NEG":-0.0}}""",
        """{"email":"address@example.com","mergeFields":{"ADDRESS":{"addr1":"1 Main St","city":"Berlin","state":"","zip":"10115","country":"DE"}},"language":"de","vip":true,"status":"pending"}""",
        """{"email":"order@example.com","mergeFields":{"Z_LAST":"Zürich","A_FIRST":"a","M_UNDER_1":"m"},"tags":["Zeta","alpha"]}""",
    ];

    [TestCaseSource(nameof(Rows))]
    public void A_member_read_back_from_its_staged_bytes_has_the_fingerprint_of_the_member(string row)
    {
        using var document = JsonDocument.Parse(row);
        Assert.That(DesiredMember.TryCreate(document.RootElement, out var member, out _, out var error), Is.True, error);

        var staged = member!.ToUtf8Json();
        var read = DesiredMember.FromJson(staged);

        Assert.That(read.Fingerprint(staged), Is.EqualTo(member.Fingerprint()));
        Assert.That(read.Fingerprint(staged), Is.EqualTo(read.Fingerprint()));
    }

    [TestCaseSource(nameof(Rows))]
    public void The_staged_reader_reads_what_Hub_stages_as_the_serializer_does(string row)
    {
        var staged = Staged(row);
        var expected = JsonSerializer.Deserialize(staged, HubJsonContext.Default.DesiredMember)!;

        Assert.That(DesiredMember.TryReadStaged(staged, out var read), Is.True, "the shape Hub stages takes the staged reader");
        Assert.That(read!.ToJson(), Is.EqualTo(expected.ToJson()));
        Assert.That(read.SubscriberHash, Is.EqualTo(expected.SubscriberHash));
        Assert.That(read.Fingerprint(staged), Is.EqualTo(expected.Fingerprint()));
    }

    private static readonly string[] OtherShapes =
    [
        """{"Email":"casing@example.com"}""",
        """{"email":"extra@example.com","source":"crm"}""",
        """{"email":"twice@example.com","email":"second@example.com"}""",
        """{"email":"nulls@example.com","mergeFields":null,"tags":null,"language":null,"vip":null,"status":null,"externalId":null}""",
        """{"email":"empty@example.com","mergeFields":{},"tags":[]}""",
        """{"email":"nulltag@example.com","tags":["a",null]}""",
        """ {"email":"space@example.com"} """,
    ];

    [TestCaseSource(nameof(OtherShapes))]
    public void Any_other_shape_reads_as_the_serializer_reads_it(string json)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(json);
        var expected = JsonSerializer.Deserialize(utf8, HubJsonContext.Default.DesiredMember)!;

        var read = DesiredMember.FromJson(utf8);

        Assert.That(read.ToJson(), Is.EqualTo(expected.ToJson()));
        Assert.That(read.SubscriberHash, Is.EqualTo(expected.SubscriberHash));
        Assert.That(read.Tags, Is.EqualTo(expected.Tags));
        Assert.That(read.MergeFields?.Count, Is.EqualTo(expected.MergeFields?.Count));
    }

    [TestCase("""{"email":"a@example.com","vip":"yes"}""")]
    [TestCase("""{"email":"a@example.com"} {}""")]
    [TestCase("""{"email":"a@example.com",""")]
    [TestCase("""{"mergeFields":{}}""")]
    public void Staged_json_the_serializer_refuses_is_refused(string json)
    {
        var utf8 = System.Text.Encoding.UTF8.GetBytes(json);

        Assert.That(DesiredMember.TryReadStaged(utf8, out _), Is.False);
        Assert.Throws<JsonException>(() => DesiredMember.FromJson(utf8));
    }

    [Test]
    public void A_change_anywhere_in_the_member_changes_the_fingerprint_read_from_staged_bytes()
    {
        var before = Staged("""{"email":"a@example.com","mergeFields":{"FNAME":"Ann"}}""");
        var after = Staged("""{"email":"a@example.com","mergeFields":{"FNAME":"Anna"}}""");

        Assert.That(DesiredMember.FromJson(after).Fingerprint(after), Is.Not.EqualTo(DesiredMember.FromJson(before).Fingerprint(before)));
    }

    private static byte[] Staged(string row)
    {
        using var document = JsonDocument.Parse(row);
        Assert.That(DesiredMember.TryCreate(document.RootElement, out var member, out _, out var error), Is.True, error);
        return member!.ToUtf8Json();
    }
}
