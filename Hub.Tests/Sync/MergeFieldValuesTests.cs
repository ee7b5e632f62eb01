using System.Text.Json;
using Hub.Core.Members;

namespace Hub.Tests.Sync;

/// <summary>
/// A member's merge fields: kept in ordinal tag order, the last of a tag given twice winning, and staged and fingerprinted
/// exactly as before they moved from a sorted tree to two arrays, so a ledger written by an older Hub still matches.
/// </summary>
public class MergeFieldValuesTests
{
    private static JsonElement Value(string json) => JsonDocument.Parse(json).RootElement;

    [Test]
    public void Fields_are_in_ordinal_tag_order_and_the_last_of_a_tag_wins()
    {
        var fields = MergeFieldValues.From(
        [
            new("Z_LAST", Value("\"z\"")), new("M_UNDER_1", Value("\"m1\"")), new("MUNDER", Value("\"m\"")),
            new("A", Value("1")), new("Z_LAST", Value("\"z2\"")),
        ]);

        Assert.Multiple(() =>
        {
            Assert.That(fields.Keys, Is.EqualTo(new[] { "A", "MUNDER", "M_UNDER_1", "Z_LAST" }), "ordinal: 'U' (0x55) before '_' (0x5F)");
            Assert.That(fields.Count, Is.EqualTo(4));
            Assert.That(fields["Z_LAST"].GetString(), Is.EqualTo("z2"));
            Assert.That(fields.TryGetValue("A", out var a) && a.GetInt32() == 1, Is.True);
            Assert.That(fields.ContainsKey("a"), Is.False, "tags are compared ordinally");
            Assert.That(fields.TryGetValue("NONE", out _), Is.False);
            Assert.Throws<KeyNotFoundException>(() => _ = fields["NONE"]);
            Assert.That(fields.Select(field => field.Key), Is.EqualTo(fields.Keys), "enumerated in the same order");
            Assert.That(MergeFieldValues.From([]).Count, Is.Zero);
        });
    }

    [Test]
    public void Many_fields_given_in_reverse_come_out_sorted()
    {
        var tags = Enumerable.Range(0, 40).Select(i => $"F{i:D2}").ToArray();
        var fields = MergeFieldValues.From([.. tags.Reverse().Select(tag => new KeyValuePair<string, JsonElement>(tag, Value($"\"{tag}\"")))]);

        Assert.That(fields.Keys, Is.EqualTo(tags));
        Assert.That(fields.Values.Select(value => value.GetString()), Is.EqualTo(tags));
    }

    // Staged JSON and fingerprints as the Hub before this type (ce58f30, a SortedDictionary) wrote them for these bodies.
    [TestCase(
        """{"email":"order@example.com","mergeFields":{"Z_LAST":"Zürich","A_FIRST":"a","M_UNDER_1":"m","MUNDER":"x","fname":"lower","FNAME":"upper"},"tags":["Zeta","alpha"]}""",
        """{"email":"order@example.com","mergeFields":{"A_FIRST":"a","FNAME":"upper","MUNDER":"x","M_UNDER_1":"m","Z_LAST":"Z\u00FCrich"},"tags":["Zeta","alpha"]}""",
        "e08015497d3c4967")]
    [TestCase(
        """{"email":"address@example.com","mergeFields":{"ADDRESS":{"addr1":"1 Main St","city":"Berlin","state":"","zip":"10115","country":"DE"},"AGE":42},"language":"de","vip":true,"status":"pending"}""",
        """{"email":"address@example.com","mergeFields":{"ADDRESS":{"addr1":"1 Main St","city":"Berlin","state":"","zip":"10115","country":"DE"},"AGE":42},"language":"de","vip":true,"status":"pending"}""",
        "32ab1959c7261d8c")]
    public void A_member_stages_and_fingerprints_as_an_older_Hub_did(string body, string staged, string fingerprint)
    {
        using var document = JsonDocument.Parse(body);
        Assert.That(DesiredMember.TryCreate(document.RootElement, out var member, out _, out var error), Is.True, error);

        Assert.Multiple(() =>
        {
            Assert.That(member!.ToJson(), Is.EqualTo(staged));
            Assert.That(member.Fingerprint(), Is.EqualTo(fingerprint));
            var read = DesiredMember.FromJson(member.ToUtf8Json());
            Assert.That(read.Fingerprint(member.ToUtf8Json()), Is.EqualTo(fingerprint));
            Assert.That(read.ToJson(), Is.EqualTo(staged));
        });
    }
}
