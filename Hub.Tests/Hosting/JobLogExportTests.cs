using System.Net;
using Hub.Tests.Infrastructure;
using Hub.Tests.Sync;

namespace Hub.Tests.Hosting;

/// <summary>
/// What Hub's OpenTelemetry log export carries: a job's records name its tenant, id and kind as attributes, while log
/// scopes stay out of the export, so a request's records never carry its path (which can name an email address).
/// </summary>
[TestFixture]
public sealed class JobLogExportTests
{
    [Test]
    public async Task Records_written_during_a_job_carry_its_tenant_and_id_and_a_requests_records_carry_no_path()
    {
        await using var env = await SyncEnvironment.StartAsync();
        var (tenant, _) = await env.ConnectedTenantAsync();
        await env.LinkNewAudienceAsync(tenant, "crm");
        var jobId = await env.StartMirrorAsync(tenant, "crm", [SyncEnvironment.Member("ann@shop.test")]);
        var job = await env.WaitForJobAsync(tenant, jobId);
        Assert.That(job.GetProperty("state").GetString(), Is.EqualTo("succeeded"), job.ToString());

        // A request whose path names an address, and during which Hub logs (Mailchimp does not have the member).
        const string address = "nobody.here@shop.test";
        using var client = env.Hub.Client(tenant.ApiKey);
        using (var missing = await client.GetAsync($"/api/v1/lists/crm/members/{address}"))
        {
            Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        }

        var records = env.Hub.Exported.Records.ToList();
        var all = string.Join(Environment.NewLine, records);
        var ofTheJob = records.Where(record => record["JobId"] == jobId).ToList();
        var ofTheRequest = records.Where(record => record["Operation"] == "get_member").ToList();
        Assert.Multiple(() =>
        {
            Assert.That(ofTheJob, Is.Not.Empty, all);
            foreach (var record in ofTheJob)
            {
                Assert.That(record["hub.tenant.id"], Is.EqualTo(tenant.Id), record.ToString());
                Assert.That(record["hub.job.id"], Is.EqualTo(jobId), record.ToString());
                Assert.That(record["hub.job.kind"], Is.EqualTo("sync"), record.ToString());
            }

            Assert.That(ofTheRequest, Is.Not.Empty, all);
            foreach (var record in ofTheRequest)
            {
                Assert.That(record["hub.job.id"], Is.Null, record.ToString());
            }

            Assert.That(all, Does.Not.Contain(address).IgnoreCase.And.Not.Contain("nobody.here%40").IgnoreCase);
        });
    }
}
