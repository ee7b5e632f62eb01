using System.Reflection;
using System.Text.RegularExpressions;
using Hub.Core.Jobs;
using Hub.Core.Storage;

namespace Hub.Tests.Jobs;

/// <summary>
/// The job record's field names are spelled in two places only: <see cref="JobRecord"/> for C#, and the header of the
/// <c>Jobs/Lua/job_record.lua</c> fragment for the Lua scripts. These keep the two, and the scripts, in step.
/// </summary>
public sealed partial class JobRecordTests
{
    private static readonly Assembly Core = typeof(RedisScript).Assembly;

    private static IEnumerable<string> SchemaFields() =>
        typeof(JobRecord).GetFields(BindingFlags.Public | BindingFlags.Static).Where(field => field.IsLiteral).Select(field => (string)field.GetRawConstantValue()!);

    private static string Read(string resource)
    {
        using var reader = new StreamReader(Core.GetManifestResourceStream(resource)!);
        return reader.ReadToEnd();
    }

    [Test]
    public void The_fragment_lists_exactly_the_fields_of_the_csharp_schema()
    {
        var listed = FragmentField().Matches(Read("Hub.Core.Jobs.Lua.job_record.lua")).Select(match => match.Groups["name"].Value);

        Assert.That(listed, Is.EquivalentTo(SchemaFields()));
    }

    [Test]
    public void Every_field_a_job_script_names_is_in_the_schema()
    {
        var scripts = Core.GetManifestResourceNames().Where(name => name.StartsWith("Hub.Core.Jobs.Lua.", StringComparison.Ordinal)).ToList();
        var named = scripts.SelectMany(script => FieldUse().Matches(Read(script)).Select(match => match.Groups["name"].Value)).Distinct().ToList();

        Assert.Multiple(() =>
        {
            Assert.That(scripts, Has.Count.GreaterThan(10));
            Assert.That(named, Is.SubsetOf(SchemaFields()));
            Assert.That(named, Does.Contain(JobRecord.LeaseToken).And.Contain(JobRecord.Checkpoint).And.Contain(JobRecord.ErrorTotal));
        });
    }

    // "--   name   what it means" in the fragment's header.
    [GeneratedRegex(@"^--   (?<name>\w+) {2,}\S", RegexOptions.Multiline)]
    private static partial Regex FragmentField();

    // A single-field read or write of the job hash: redis.call('HGET', job, 'state'), ... , and the counts finish.lua adds up.
    [GeneratedRegex(@"redis\.call\('(?:HGET|HDEL|HINCRBY|HSETNX|HEXISTS|HSET)', job, '(?<name>\w+)'|count\('(?<name>\w+)'\)")]
    private static partial Regex FieldUse();
}
