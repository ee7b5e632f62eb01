using System.Net;
using Hub.Api.OAuth;
using Hub.Tests.Infrastructure;
using Hub.Tests.OAuth;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Hosting;

/// <summary>
/// Behind a TLS-terminating proxy (deploy/nginx.conf sends <c>X-Forwarded-Proto</c>) Hub sees http. Only
/// a trusted proxy's forwarded headers make it see https again; the consent cookie shows which it saw.
/// The tests reach Hub from loopback, like a proxy running beside it.
/// </summary>
[TestFixture]
public sealed class ForwardedHeadersTests
{
    [Test]
    public async Task By_default_a_proxy_on_loopback_is_believed_and_the_state_cookie_is_Secure()
    {
        await using var env = await ConsentEnvironment.StartAsync();
        var options = env.Hub.Services.GetRequiredService<IOptions<ForwardedHeadersOptions>>().Value;
        Assert.Multiple(() =>
        {
            Assert.That(options.KnownProxies, Is.EqualTo(new[] { IPAddress.IPv6Loopback }), "ASP.NET Core's default, as docs/configuration.md says");
            Assert.That(options.KnownIPNetworks.Select(network => network.ToString()), Is.EqualTo(new[] { "127.0.0.0/8" }));
            Assert.That(options.ForwardedHeaders, Is.EqualTo(ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto));
        });
        Assert.Multiple(async () =>
        {
            Assert.That(await StateCookieAsync(env, forwardedProto: "https"), Does.Contain("secure"));
            Assert.That(await StateCookieAsync(env, forwardedProto: null), Does.Not.Contain("secure"), "plain http without a proxy");
        });
    }

    [TestCase("Hub:ForwardedHeaders:KnownProxies:0", "127.0.0.1")]
    [TestCase("Hub:ForwardedHeaders:KnownNetworks:0", "127.0.0.0/8")]
    public async Task A_listed_proxy_is_believed(string key, string value)
    {
        await using var env = await ConsentEnvironment.StartAsync(new() { [key] = value });
        Assert.That(await StateCookieAsync(env, forwardedProto: "https"), Does.Contain("secure"));
    }

    [TestCase("Hub:ForwardedHeaders:KnownProxies:0", "10.20.30.40")]
    [TestCase("Hub:ForwardedHeaders:KnownNetworks:0", "10.0.0.0/8")]
    public async Task Listing_proxies_replaces_the_loopback_default_and_anyone_else_is_ignored(string key, string value)
    {
        await using var env = await ConsentEnvironment.StartAsync(new() { [key] = value });
        Assert.That(await StateCookieAsync(env, forwardedProto: "https"), Does.Not.Contain("secure"));
    }

    [TestCase("Hub:ForwardedHeaders:KnownProxies:0", "proxy.internal", "Hub:ForwardedHeaders:KnownProxies")]
    [TestCase("Hub:ForwardedHeaders:KnownNetworks:0", "10.0.0.0/33", "Hub:ForwardedHeaders:KnownNetworks")]
    public void An_invalid_proxy_setting_stops_start_up_naming_the_key(string key, string value, string message)
    {
        var settings = new HubHostSettings { Configuration = new() { [key] = value } };
        Assert.That(async () => await HubHost.StartAsync(settings),
            Throws.InstanceOf<OptionsValidationException>().With.Message.Contains(message));
    }

    /// <summary>Opens a fresh consent link as a proxy would forward it; returns the state cookie's Set-Cookie header, lower-cased.</summary>
    private static async Task<string> StateCookieAsync(ConsentEnvironment env, string? forwardedProto)
    {
        var tenant = await env.CreateTenantAsync(withWebhook: false);
        await env.SetOAuthAppAsync(tenant);
        using var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false });
        using var request = new HttpRequestMessage(HttpMethod.Get, await env.CreateLinkAsync(tenant));
        if (forwardedProto is not null)
        {
            request.Headers.Add("X-Forwarded-Proto", forwardedProto);
            request.Headers.Add("X-Forwarded-For", "203.0.113.7");
        }

        using var response = await client.SendAsync(request);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Redirect), await response.Content.ReadAsStringAsync());
        var cookie = response.Headers.GetValues("Set-Cookie").Single(value => value.StartsWith(OAuthEndpoints.StateCookie + "=", StringComparison.Ordinal));
        return cookie.ToLowerInvariant();
    }
}
