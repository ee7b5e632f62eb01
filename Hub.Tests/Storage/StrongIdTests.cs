using System.Text.Json;
using Hub.Core.Jobs;
using Hub.Core.Tenants;

namespace Hub.Tests.Storage;

/// <summary>The strong ids on their shared base: text, parsing and JSON exactly as each id type had them on its own.</summary>
public sealed class StrongIdTests
{
    [Test]
    public void New_ids_have_their_prefix_and_20_random_letters_and_digits()
    {
        var job = JobId.New().ToString();
        var tenant = TenantId.New().ToString();

        Assert.Multiple(() =>
        {
            Assert.That(job, Does.Match("^job_[a-z0-9]{20}$"));
            Assert.That(tenant, Does.Match("^tn_[a-z0-9]{20}$"));
            Assert.That(JobId.Parse(job), Is.Not.EqualTo(JobId.New()));
        });
    }

    [Test]
    public void Parsing_accepts_only_an_id_of_the_type()
    {
        var job = JobId.New();
        var tenant = TenantId.New();

        Assert.Multiple(() =>
        {
            Assert.That(JobId.Parse(job.ToString()), Is.EqualTo(job));
            Assert.That(TenantId.TryParse(tenant.ToString(), out var parsed) ? parsed : (TenantId?)null, Is.EqualTo(tenant));
            Assert.That(JobId.TryParse(tenant.ToString(), out var wrong), Is.False);
            Assert.That(wrong, Is.EqualTo(default(JobId)));
            Assert.That(wrong.ToString(), Is.Empty);
            Assert.That(TenantId.TryParse(null, out _), Is.False);
            Assert.That(TenantId.TryParse("tn_ABCDEFGHIJKLMNOPQRST", out _), Is.False, "uppercase");
            Assert.That(() => JobId.Parse("job_1"), Throws.TypeOf<FormatException>().With.Message.EqualTo("'job_1' is not a job id."));
            Assert.That(() => TenantId.Parse("x"), Throws.TypeOf<FormatException>().With.Message.EqualTo("'x' is not a tenant id."));
        });
    }

    [Test]
    public void Json_is_the_plain_string_and_refuses_anything_else()
    {
        var tenant = TenantId.New();

        Assert.Multiple(() =>
        {
            Assert.That(JsonSerializer.Serialize(tenant), Is.EqualTo($"\"{tenant}\""));
            Assert.That(JsonSerializer.Deserialize<TenantId>($"\"{tenant}\""), Is.EqualTo(tenant));
            Assert.That(JsonSerializer.Serialize(new { Job = (JobId?)null }), Is.EqualTo("""{"Job":null}"""));
            Assert.That(() => JsonSerializer.Deserialize<JobId>("\"tn_aaaaaaaaaaaaaaaaaaaa\""), Throws.TypeOf<JsonException>().With.Message.EqualTo("Not a job id."));
            Assert.That(() => JsonSerializer.Deserialize<TenantId>("\"nope\""), Throws.TypeOf<JsonException>().With.Message.EqualTo("Not a tenant id."));
        });
    }
}
