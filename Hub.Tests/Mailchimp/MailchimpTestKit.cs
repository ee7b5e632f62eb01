using Hub.Core.Mailchimp;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Tests.Mailchimp;

/// <summary>Builds a "replica": a service provider with AddMailchimpClient pointed at the sandbox and a Redis key prefix.</summary>
internal static class MailchimpTestKit
{
    public static ServiceProvider Replica(
        SandboxHost sandbox, IConnectionMultiplexer redis, string prefix,
        IReadOnlyDictionary<string, string?>? settings = null, IMailchimpAuthFailureHandler? authFailures = null)
    {
        var values = new Dictionary<string, string?>
        {
            ["Hub:Mailchimp:ApiBaseTemplate"] = sandbox.ApiBaseTemplate,
            ["Hub:Mailchimp:RetryBaseDelay"] = "00:00:00.020",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            values[key] = value;
        }

        var services = new ServiceCollection();
        services.AddSingleton<IConfiguration>(new ConfigurationBuilder().AddInMemoryCollection(values).Build());
        services.AddLogging();
        services.AddSingleton(redis);
        services.AddSingleton(new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = prefix })));
        if (authFailures is not null)
        {
            services.AddSingleton(authFailures);
        }

        services.AddMailchimpClient();
        return services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true, ValidateScopes = true });
    }

    public static MailchimpClient Client(this ServiceProvider services) => services.GetRequiredService<MailchimpClient>();

    public static MailchimpCredential ApiKey(SandboxCredential key) =>
        new(MailchimpAuthKind.ApiKey, new Secret(key.Secret), key.Dc, $"{key.Dc}:{key.AccountId}");

    public static MailchimpCredential OAuth(SandboxCredential token) =>
        new(MailchimpAuthKind.OAuth, new Secret(token.Secret), token.Dc, $"{token.Dc}:{token.AccountId}");

    public static MailchimpListCreate NewList(string name = "Customers") => new(
        name, "You bought something from us.", false,
        new MailchimpListContact("Sandbox Shop", "1 Main St", "Atlanta", "US", State: "GA", Zip: "30308"),
        new MailchimpCampaignDefaults("Shop", "shop@sandbox.test", "News", "en"));

    public static long Calls(this Hub.Sandbox.SandboxCounters counters, string route) => counters.Calls.GetValueOrDefault(route);
}

/// <summary>Records every 401 the client reports.</summary>
internal sealed class RecordingAuthFailureHandler : IMailchimpAuthFailureHandler
{
    public List<MailchimpCredential> Calls { get; } = [];

    public Task OnUnauthorizedAsync(MailchimpCredential credential, CancellationToken cancellationToken)
    {
        lock (Calls)
        {
            Calls.Add(credential);
        }

        return Task.CompletedTask;
    }
}

/// <summary>A sandbox over real HTTP and one replica's <see cref="MailchimpClient"/> pointed at it, for a whole fixture.</summary>
public abstract class SandboxClientFixture
{
    protected SandboxHost Sandbox { get; private set; } = null!;
    protected IConnectionMultiplexer Redis { get; private set; } = null!;
    protected ServiceProvider Services { get; private set; } = null!;
    protected MailchimpClient Client { get; private set; } = null!;

    [OneTimeSetUp]
    public async Task StartSandboxAsync()
    {
        Redis = await TestRedis.ConnectAsync();
        Sandbox = await SandboxHost.StartAsync();
        Services = MailchimpTestKit.Replica(Sandbox, Redis, TestRedis.NewPrefix());
        Client = Services.Client();
    }

    [OneTimeTearDown]
    public async Task StopSandboxAsync()
    {
        await Services.DisposeAsync();
        await Sandbox.DisposeAsync();
    }
}
