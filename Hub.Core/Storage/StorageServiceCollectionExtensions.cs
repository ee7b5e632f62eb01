using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Storage;

public static partial class StorageServiceCollectionExtensions
{
    /// <summary>
    /// Registers the one shared <see cref="IConnectionMultiplexer"/>: to <c>Hub:Redis:ConnectionString</c>,
    /// or, when that is empty, to an embedded Garnet server started in-process. A connection string with
    /// <c>serviceName=</c> lists Redis Sentinels: StackExchange.Redis asks them for that service's primary,
    /// connects to it, and follows it when the sentinels fail over.
    /// </summary>
    public static IServiceCollection AddHubStorage(this IServiceCollection services)
    {
        services.AddOptions<HubOptions>().BindConfiguration(HubOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<StorageOptions>().BindConfiguration(StorageOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<RedisKeys>();
        services.AddSingleton<KeyLayoutMigration>();
        services.TryAddSingleton<StoreLayout>();
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<DataDirectory>();
        services.AddSingleton<RedisEndpoint>();
        services.AddSingleton<IConnectionMultiplexer>(sp =>
        {
            var endpoint = sp.GetRequiredService<RedisEndpoint>();
            var configuration = ConfigurationOptions.Parse(endpoint.ConnectionString);
            // Start (and report not ready) while Redis is down instead of failing the process.
            configuration.AbortOnConnectFail = false;
            // While Redis is down, try to reconnect every second (the default backs off to 10 s or more), so paused jobs
            // and 503 answers end within about a second of Redis answering again.
            configuration.ReconnectRetryPolicy = new LinearRetry(1000);
            configuration.ClientName ??= "hub";
            var connection = ConnectionMultiplexer.Connect(configuration);
            if (!string.IsNullOrEmpty(configuration.ServiceName) && !connection.IsConnected)
            {
                // Without a sentinel naming the primary, StackExchange.Redis hands back a connection to the
                // sentinels themselves, which can never serve Hub: stop rather than run without a store.
                connection.Dispose();
                throw new InvalidOperationException(
                    $"Hub:Redis:ConnectionString names the Sentinel service '{configuration.ServiceName}', but no sentinel answered with a primary that accepts connections.");
            }

            return connection;
        });
        services.TryAddSingleton<StoreEpoch>();
        services.AddHostedService<StorageStartup>();
        return services;
    }
}

/// <summary>The data folder, resolved against the content root and created on first use.</summary>
public sealed class DataDirectory(IOptions<HubOptions> options, IHostEnvironment environment)
{
    public string Path { get; } = System.IO.Path.GetFullPath(options.Value.DataDirectory, environment.ContentRootPath);

    public string Combine(string name)
    {
        Directory.CreateDirectory(Path);
        return System.IO.Path.Combine(Path, name);
    }
}

/// <summary>Which store Hub talks to; starts the embedded one when no connection string is configured.</summary>
public sealed partial class RedisEndpoint : IAsyncDisposable, IDisposable
{
    private readonly EmbeddedGarnetServer? _embedded;

    public RedisEndpoint(IOptions<StorageOptions> options, DataDirectory data, ILoggerFactory loggerFactory)
    {
        var logger = loggerFactory.CreateLogger<RedisEndpoint>();
        if (!string.IsNullOrWhiteSpace(options.Value.ConnectionString))
        {
            ConnectionString = options.Value.ConnectionString;
            return;
        }

        _embedded = EmbeddedGarnetServer.Start(data.Combine("store"), options.Value.EmbeddedPort, loggerFactory);
        ConnectionString = _embedded.ConnectionString;
        LogEmbeddedStore(logger, _embedded.ConnectionString, _embedded.Directory);
    }

    /// <summary>The StackExchange.Redis configuration string; may hold a password, so it is never logged.</summary>
    public string ConnectionString { get; }

    public bool IsEmbedded => _embedded is not null;

    public async ValueTask DisposeAsync()
    {
        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }
    }

    public void Dispose() => _embedded?.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "Hub:Redis:ConnectionString is empty: running on the EMBEDDED Garnet store at {Endpoint}, persisting to {Directory}. Fine for a local run; production and several replicas need a real Redis.")]
    private static partial void LogEmbeddedStore(ILogger logger, string endpoint, string directory);
}

/// <summary>
/// Connects (and starts the embedded store) while the host starts, not on the first request, and brings the store to the
/// current key layout (<see cref="KeyLayoutMigration"/>) before anything uses it: until then requests get 503, readiness fails
/// and the workers wait (<see cref="StoreLayout"/>). It is the first hosted service, so the others start after it. Start-up
/// waits for the layout at most <see cref="StartWait"/> (a store of the current layout, or a fresh one, is known in a moment);
/// a store that does not answer, a long migration or another replica's migration goes on in the background, so the process
/// is live meanwhile (a startup probe does not kill a migration half-way). Failed attempts are retried every second.
/// </summary>
internal sealed partial class StorageStartup(
    IServiceProvider services, KeyLayoutMigration migration, StoreLayout layout, TimeProvider time, ILogger<StorageStartup> logger) : IHostedService
{
    /// <summary>How long start-up waits for the store's layout before it goes on and lets the background finish.</summary>
    public static readonly TimeSpan StartWait = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstAttemptFailed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task _layingOut = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<IConnectionMultiplexer>();
        _layingOut = LayOutAsync(_stopping.Token);
        await Task.WhenAny(_layingOut, _firstAttemptFailed.Task, Task.Delay(StartWait, time, cancellationToken));
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _layingOut;
    }

    private async Task LayOutAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await migration.RunAsync(cancellationToken);
                layout.MarkCurrent();
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception exception) when (StoreFaults.IsStoreFault(exception))
            {
                LogStoreUnavailable(logger, exception);
            }
            catch (Exception exception)
            {
                LogLayoutFailed(logger, exception);
            }

            _firstAttemptFailed.TrySetResult();
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The store does not answer; Hub serves 503 and its workers wait until it does (it checks the store's key layout first).")]
    private static partial void LogStoreUnavailable(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Bringing the store to the current key layout failed; trying again in a second (requests get 503 meanwhile).")]
    private static partial void LogLayoutFailed(ILogger logger, Exception exception);
}
