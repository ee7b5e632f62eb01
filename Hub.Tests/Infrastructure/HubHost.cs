using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Security.Cryptography;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Logs;
using StackExchange.Redis;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// A real Hub on a loopback Kestrel port, against the test Redis under a key prefix of its own.
/// Several hosts may share one prefix (and so one state) to act as replicas.
/// </summary>
public sealed class HubHost : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _factory;

    private HubHost(WebApplicationFactory<Program> factory, Uri baseUrl, HubHostSettings settings, CapturedLogs logs, ExportedLogs exported)
    {
        _factory = factory;
        BaseUrl = baseUrl;
        Settings = settings;
        Logs = logs;
        Exported = exported;
    }

    public Uri BaseUrl { get; }
    public HubHostSettings Settings { get; }
    public CapturedLogs Logs { get; }

    /// <summary>The log records Hub's OpenTelemetry pipeline exports (over OTLP in production).</summary>
    public ExportedLogs Exported { get; }
    public IServiceProvider Services => _factory.Services;
    public IConnectionMultiplexer Redis => Services.GetRequiredService<IConnectionMultiplexer>();

    /// <summary>This Hub's key names (its prefix, the tenants' shards), for tests that look into Redis.</summary>
    public Hub.Core.Storage.RedisKeys Keys => Services.GetRequiredService<Hub.Core.Storage.RedisKeys>();

    /// <summary>The start of every key of a tenant (its shard's prefix), e.g. <c>test:…:{s3-12}:</c>.</summary>
    public string ShardPrefixOf(string tenantId) => Keys.ShardPrefix(Hub.Core.Storage.RedisKeys.ShardOf(TenantId.Parse(tenantId)));

    public static async Task<HubHost> StartAsync(HubHostSettings? settings = null)
    {
        settings ??= new HubHostSettings();
        if (!settings.UseEmbeddedStore)
        {
            await TestRedis.ConnectAsync();
        }

        var logs = new CapturedLogs();
        var exported = new ExportedLogs();
        var configuration = new Dictionary<string, string?>
        {
            ["Hub:Redis:ConnectionString"] = settings.UseEmbeddedStore ? "" : TestRedis.Endpoint,
            ["Hub:Redis:KeyPrefix"] = settings.KeyPrefix,
            ["Hub:Admin:ApiKey"] = settings.AdminKey,
            ["Hub:DataDirectory"] = settings.DataDirectory,
            ["Hub:RateLimit:PermitsPerSecond"] = "100000",
            ["Hub:RateLimit:Burst"] = "100000",
            ["Hub:Encryption:ActiveKeyId"] = settings.ActiveKeyId,
        };
        foreach (var (id, key) in settings.EncryptionKeys)
        {
            configuration[$"Hub:Encryption:Keys:{id}"] = key;
        }

        foreach (var (key, value) in settings.Configuration)
        {
            configuration[key] = value;
        }

        WebApplicationFactory<Program> Create()
        {
            var created = new WebApplicationFactory<Program>().WithWebHostBuilder(builder =>
            {
                builder.UseEnvironment(settings.Environment);
                foreach (var (key, value) in configuration)
                {
                    builder.UseSetting(key, value);
                }

                builder.ConfigureLogging(logging => logging.AddProvider(logs));
                builder.ConfigureServices(services => services.ConfigureOpenTelemetryLoggerProvider(otel => otel.AddProcessor(new SimpleLogRecordExportProcessor(exported))));
            });
            // Port 0 picks a free port; a fixed one lets Hub know its own public URL (the OAuth redirect URI).
            created.UseKestrel(kestrel => kestrel.Listen(System.Net.IPAddress.Loopback, settings.Port));
            return created;
        }

        var factory = Create();
        try
        {
            factory.StartServer();
        }
        catch (ObjectDisposedException)
        {
            // When Hub fails to start (an invalid setting), WebApplicationFactory can lose the race with the app's own
            // disposal and report ObjectDisposedException instead of the failure; a second start reports the failure.
            await factory.DisposeAsync();
            factory = Create();
            try
            {
                factory.StartServer();
            }
            catch
            {
                await factory.DisposeAsync();
                throw;
            }
        }
        catch
        {
            await factory.DisposeAsync();
            throw;
        }

        var address = LoopbackApp.Address(factory.Services);
        var host = new HubHost(factory, new Uri(address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal).Replace("localhost", "127.0.0.1", StringComparison.Ordinal)), settings, logs, exported);
        if (settings.WaitUntilReady)
        {
            // What a readiness probe does before traffic comes: start-up waits for the store's layout only a while, and a
            // first attempt that times out on a busy machine goes on in the background (retried every second).
            try
            {
                await factory.Services.GetRequiredService<Hub.Core.Storage.StoreLayout>().WaitAsync(CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }

        return host;
    }

    /// <summary>
    /// Another Hub on this one's store (key prefix), admin key and encryption keys: a replica. Its settings are
    /// <paramref name="configuration"/>, by default this Hub's own.
    /// </summary>
    public Task<HubHost> StartReplicaAsync(Dictionary<string, string?>? configuration = null) =>
        StartAsync(new HubHostSettings
        {
            KeyPrefix = Settings.KeyPrefix,
            AdminKey = Settings.AdminKey,
            EncryptionKeys = Settings.EncryptionKeys,
            ActiveKeyId = Settings.ActiveKeyId,
            Configuration = configuration ?? Settings.Configuration,
        });

    /// <summary>A client for this host, with a bearer key when given.</summary>
    public HttpClient Client(string? bearer = null)
    {
        var client = new HttpClient { BaseAddress = BaseUrl };
        if (bearer is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }

        return client;
    }

    public HttpClient Admin() => Client(Settings.AdminKey);

    /// <summary>Creates a tenant through the admin API and issues it a key.</summary>
    public async Task<TestTenant> CreateTenantAsync(string name = "Test tenant", object? settings = null)
    {
        using var admin = Admin();
        var created = await admin.PostAsJsonAsync("/api/admin/tenants", settings ?? new { name });
        created.EnsureSuccessStatusCode();
        var body = await created.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>();
        var id = body.GetProperty("tenant").GetProperty("id").GetString()!;
        var issued = await admin.PostAsJsonAsync($"/api/admin/tenants/{id}/keys", new { name = "test" });
        issued.EnsureSuccessStatusCode();
        var key = (await issued.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>()).GetProperty("key").GetString()!;
        return new TestTenant(id, key, body.GetProperty("webhookSigningSecret").GetString()!);
    }

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        if (Settings.DeleteDataDirectory && Directory.Exists(Settings.DataDirectory))
        {
            try
            {
                Directory.Delete(Settings.DataDirectory, recursive: true);
            }
            catch (IOException)
            {
                // The embedded store may still be releasing files; a temp folder left behind is harmless.
            }
        }
    }
}

public sealed record TestTenant(string Id, string ApiKey, string WebhookSigningSecret);

public sealed class HubHostSettings
{
    public string Environment { get; init; } = "Testing";
    public string KeyPrefix { get; init; } = TestRedis.NewPrefix();
    public string AdminKey { get; init; } = "test-admin-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(24));
    public string DataDirectory { get; init; } = Path.Combine(Path.GetTempPath(), "hub-test-" + Guid.NewGuid().ToString("N"));
    public bool DeleteDataDirectory { get; init; } = true;
    public bool UseEmbeddedStore { get; init; }
    public Dictionary<string, string> EncryptionKeys { get; init; } = new() { ["k1"] = NewKey() };
    public string ActiveKeyId { get; init; } = "k1";
    public Dictionary<string, string?> Configuration { get; init; } = [];

    /// <summary>
    /// Whether start returns only once Hub serves (the store answered and has the current key layout), as a readiness probe
    /// would let traffic in. Off for tests of a store that cannot be reached.
    /// </summary>
    public bool WaitUntilReady { get; init; } = true;

    /// <summary>Loopback port to listen on; 0 picks one. Fix it when Hub must know its own URL up front (Hub:PublicBaseUrl).</summary>
    public int Port { get; init; }

    /// <summary>A port that was free a moment ago.</summary>
    public static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    public static string NewKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
}
