using Hub.Tests.Infrastructure;
using Microsoft.Playwright;

namespace Hub.Tests.OAuth;

/// <summary>
/// The consent flow in a real headless Chromium: open the link, click Allow on the sandbox's page,
/// land on Hub's success page, whose address carries no code or state. Uses the system Chromium (HUB_TEST_CHROMIUM or /usr/bin/chromium);
/// without one the test is ignored locally and fails with CI=true.
/// </summary>
[TestFixture]
public sealed class BrowserConsentTests
{
    [Test]
    public async Task A_customer_clicks_Allow_in_Chromium_and_sees_the_account_name()
    {
        var chromium = ChromiumPath();
        await using var env = await ConsentEnvironment.StartAsync();
        var tenant = await env.CreateTenantAsync(name: "Acme & Co");
        await env.SetOAuthAppAsync(tenant);
        var link = await env.CreateLinkAsync(tenant, locale: "nl");

        using var playwright = await Playwright.CreateAsync();
        var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            Timeout = 60_000,
            Args = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        try
        {
            // A watchdog: a wedged browser fails the test instead of hanging the suite.
            var (title, address, requester, accountName, heading) = await ClickAllowAsync(browser, link).WaitAsync(TimeSpan.FromMinutes(3));
            Assert.Multiple(() =>
            {
                Assert.That(title, Does.Contain("Mailchimp Sandbox"));
                Assert.That(address, Is.EqualTo(env.ResultUrl.ToString()), "the address bar keeps no code or state");
                Assert.That(requester, Is.EqualTo("Acme & Co vraagt toegang tot uw Mailchimp-account."));
                Assert.That(accountName, Is.EqualTo("Sandbox Shop"));
                Assert.That(heading, Is.EqualTo("Mailchimp is gekoppeld"));
            });
        }
        finally
        {
            await browser.CloseAsync().WaitAsync(TimeSpan.FromSeconds(30));
        }

        Assert.That((await env.GetConnectionAsync(tenant)).GetProperty("state").GetString(), Is.EqualTo("connected"));
    }

    private static async Task<(string Title, string Address, string Requester, string AccountName, string Heading)> ClickAllowAsync(IBrowser browser, string link)
    {
        var page = await browser.NewPageAsync();
        page.SetDefaultTimeout(60_000);
        await page.GotoAsync(link);
        var title = await page.TitleAsync();
        await page.ClickAsync("#allow");
        await page.WaitForURLAsync(url => url.Contains("/oauth2/result", StringComparison.Ordinal));
        return (title, page.Url, await page.InnerTextAsync("#requester"), await page.InnerTextAsync("#account-name"), await page.InnerTextAsync("h1"));
    }

    private static string ChromiumPath()
    {
        var configured = Environment.GetEnvironmentVariable("HUB_TEST_CHROMIUM");
        var path = !string.IsNullOrEmpty(configured) ? configured : "/usr/bin/chromium";
        if (File.Exists(path))
        {
            return path;
        }

        var message = $"Chromium not found at {path}. Run Hub.Tests/run-tests.sh (installs the Debian package) or set HUB_TEST_CHROMIUM.";
        throw Prerequisite.Missing(message);
    }
}
