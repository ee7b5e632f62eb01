using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Hub.Sandbox;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace Hub.Tests.Sandbox;

/// <summary>
/// The sandbox as Development mounts it inside Hub at <c>/sandbox</c>: its errors stay Mailchimp's, never
/// Hub's status-code pages, binding failures or problem types.
/// </summary>
[TestFixture]
public sealed class SandboxInsideHubTests
{
    [Test]
    public async Task Inside_Hub_unknown_routes_wrong_methods_and_bad_queries_keep_Mailchimps_problem_type()
    {
        await using var hub = await HubHost.StartAsync(new HubHostSettings { Environment = "Development" });
        var state = hub.Services.GetRequiredService<SandboxState>();
        using var marketing = new HttpClient { BaseAddress = new Uri(hub.BaseUrl, "sandbox/us21/3.0/") };
        marketing.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("anystring:" + state.DefaultApiKey)));
        using var anonymous = new HttpClient { BaseAddress = marketing.BaseAddress };
        using var raw = new HttpClient { BaseAddress = new Uri(hub.BaseUrl, "sandbox/") };

        await AssertMailchimpProblemAsync(await marketing.GetAsync("campaigns"), HttpStatusCode.NotFound);
        await AssertMailchimpProblemAsync(await marketing.PutAsync("lists/abc", new StringContent("{}", Encoding.UTF8, "application/json")), HttpStatusCode.MethodNotAllowed);
        await AssertMailchimpProblemAsync(await marketing.GetAsync("lists?count=ten"), HttpStatusCode.BadRequest);
        await AssertMailchimpProblemAsync(await marketing.GetAsync("lists/abc/members?offset=x"), HttpStatusCode.BadRequest);
        await AssertMailchimpProblemAsync(await anonymous.GetAsync("ping"), HttpStatusCode.Unauthorized);
        await AssertMailchimpProblemAsync(await raw.GetAsync("nothing/here"), HttpStatusCode.NotFound);
        await AssertMailchimpProblemAsync(await raw.DeleteAsync("_control/accounts"), HttpStatusCode.MethodNotAllowed);

        // The login host's consent form answers a post that is not a form with its own error page, not a Hub 500.
        using var notAForm = await raw.PostAsync("oauth2/authorize", new StringContent("{}", Encoding.UTF8, "application/json"));
        Assert.That(notAForm.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest));
        Assert.That(notAForm.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
    }

    private static async Task AssertMailchimpProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            var request = $"{response.RequestMessage!.Method} {response.RequestMessage.RequestUri}: {body}";
            Assert.Multiple(() =>
            {
                Assert.That(response.StatusCode, Is.EqualTo(status), request);
                Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), request);
                Assert.That(body, Does.Contain("\"type\":\"https://mailchimp.com/developer/marketing/docs/errors/\"").And.Not.Contain("urn:hub:problem"), request);
            });
        }
    }
}
