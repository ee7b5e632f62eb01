using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Passthrough;

/// <summary>
/// Mailchimp's official Node SDK (<c>@mailchimp/mailchimp_marketing</c>, pinned in Passthrough/sdk/package-lock.json)
/// run with node against Hub's passthrough and the sandbox behind it, configured as docs/api.md (Passthrough) says. Needs node and
/// npm (and the npm registry for <c>npm ci</c>); without node or npm the test is ignored locally and fails with CI=true.
/// </summary>
[TestFixture]
public sealed class NodeSdkTests
{
    /// <summary>Every call docs/api.md (Passthrough) lists as checked through the passthrough, in the order sdk-check.js makes them.</summary>
    private static readonly string[] Calls =
    [
        "ping.get", "root.getRoot",
        "lists.createList", "lists.getAllLists", "lists.getList", "lists.updateList", "lists.addListMergeField", "lists.getListMergeFields",
        "lists.addListMember", "lists.setListMember", "lists.updateListMember", "lists.getListMember", "lists.getListMembersInfo",
        "lists.updateListMemberTags", "lists.getListMemberTags", "lists.batchListMembers", "lists.deleteListMember", "lists.deleteListMemberPermanent",
        "campaigns.create (refused)", "lists.deleteList",
    ];

    [Test]
    public async Task Mailchimps_official_Node_SDK_makes_every_documented_call_through_the_passthrough()
    {
        var node = Tool("node");
        var npm = Tool("npm");
        var folder = Path.Combine(TestContext.CurrentContext.TestDirectory, "Passthrough", "sdk");
        await ExternalTool.RunCheckedAsync(npm, ["ci", "--no-audit", "--no-fund", "--loglevel=error"], folder, TimeSpan.FromMinutes(5));

        await using var env = await FacadeEnvironment.StartAsync();
        using var tenant = await env.CreateTenantAsync();
        var output = await ExternalTool.RunCheckedAsync(node, ["sdk-check.js"], folder, TimeSpan.FromMinutes(2), new Dictionary<string, string>
        {
            ["HUB_PASSTHROUGH_URL"] = new Uri(env.Hub.BaseUrl, "api/v1/mailchimp").ToString(),
            ["HUB_TENANT_KEY"] = tenant.Tenant.ApiKey,
            ["HUB_ACCOUNT_ID"] = tenant.Mailchimp.AccountId,
        });

        var results = JsonDocument.Parse(output).RootElement.EnumerateArray().ToList();
        Assert.That(results.Select(result => result.GetProperty("call").GetString()), Is.EqualTo(Calls), output);
        Assert.Multiple(() =>
        {
            foreach (var result in results)
            {
                Assert.That(result.GetProperty("ok").GetBoolean(), Is.True, result.ToString());
            }
        });

        // lists.createList registered the audience as managed (so the member writes were allowed); lists.deleteList forgot it.
        var audiences = await tenant.Client.GetFromJsonAsync<JsonElement>("/api/v1/audiences");
        Assert.That(audiences.GetProperty("items").GetArrayLength(), Is.Zero, audiences.ToString());
    }

    private static string Tool(string name) =>
        ExternalTool.Find(name, "The Node SDK check needs node and npm (Node 18 or later); Hub.Tests/run-tests.sh installs them where missing.");
}
