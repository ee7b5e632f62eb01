using Hub.Core.Storage;
using Microsoft.Extensions.Logging.Abstractions;
using StackExchange.Redis;

namespace Hub.Tests.Infrastructure;

/// <summary>
/// The store a parameterised fixture runs against: <c>"redis"</c> (the shared test Redis, see
/// <see cref="TestRedis"/>), <c>"garnet"</c> (an embedded Garnet server of the fixture's own, in a temp
/// folder deleted on dispose) or <c>"cluster"</c> (the run's three-master Redis Cluster, <see cref="RedisClusterTopology"/>).
/// Use with <c>[TestFixture("redis")] [TestFixture("garnet")] [TestFixture("cluster")]</c>, start it in
/// <c>[OneTimeSetUp]</c> and dispose it in <c>[OneTimeTearDown]</c>.
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    public const string Redis = "redis";
    public const string Garnet = "garnet";
    public const string Cluster = "cluster";

    private readonly EmbeddedGarnetServer? _garnet;
    private readonly string _garnetDirectory;

    private TestBackend(string name, IConnectionMultiplexer connection, string connectionString, EmbeddedGarnetServer? garnet, string garnetDirectory)
    {
        Name = name;
        Connection = connection;
        ConnectionString = connectionString;
        _garnet = garnet;
        _garnetDirectory = garnetDirectory;
    }

    // Set for a connection of the backend's own (the cluster's); Garnet's is disposed with its server, the shared Redis's never.
    private bool _ownsConnection;

    public string Name { get; }
    public bool IsGarnet => _garnet is not null;

    /// <summary>A connection to the backend (the shared one for Redis; never dispose it yourself).</summary>
    public IConnectionMultiplexer Connection { get; }

    /// <summary>What to put in <c>Hub:Redis:ConnectionString</c> to reach this backend.</summary>
    public string ConnectionString { get; }

    /// <summary>A connection of its own (as another replica would have); the caller disposes it.</summary>
    public async Task<IConnectionMultiplexer> ConnectAsync() => await ConnectionMultiplexer.ConnectAsync(ConnectionString);

    public static async Task<TestBackend> StartAsync(string name)
    {
        switch (name)
        {
            case Redis:
                return new TestBackend(name, await TestRedis.ConnectAsync(), TestRedis.Endpoint, null, "");
            case Garnet:
                var directory = Path.Combine(Path.GetTempPath(), "hub-garnet-" + Guid.NewGuid().ToString("N"));
                var garnet = EmbeddedGarnetServer.Start(directory, 0, NullLoggerFactory.Instance);
                var connection = await ConnectionMultiplexer.ConnectAsync(garnet.ConnectionString + ",allowAdmin=true");
                return new TestBackend(name, connection, garnet.ConnectionString, garnet, directory);
            case Cluster:
                // The run's shared three-master cluster; a connection of the fixture's own, disposed with it.
                var cluster = await RedisClusterTopology.SharedAsync();
                return new TestBackend(name, await ConnectionMultiplexer.ConnectAsync(cluster.ConnectionString), cluster.ConnectionString, null, "") { _ownsConnection = true };
            default:
                throw new ArgumentException($"Unknown test backend '{name}'; use '{Redis}', '{Garnet}' or '{Cluster}'.", nameof(name));
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_ownsConnection)
        {
            await Connection.DisposeAsync();
        }

        if (_garnet is null)
        {
            return;
        }

        await Connection.DisposeAsync();
        await _garnet.DisposeAsync();
        TryDeleteDirectory(_garnetDirectory);
    }

    /// <summary>Deletes a temp folder; Garnet may still hold a file for a moment, and a temp folder left behind is harmless.</summary>
    public static void TryDeleteDirectory(string directory)
    {
        try
        {
            Directory.Delete(directory, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}

/// <summary>
/// Base of a fixture that runs against every store: derive, add <c>[TestFixture(TestBackend.Redis)]</c>,
/// <c>[TestFixture(TestBackend.Garnet)]</c> and <c>[TestFixture(TestBackend.Cluster)]</c>, and use <see cref="Backend"/>.
/// </summary>
public abstract class BackendFixture(string backend)
{
    private TestBackend? _backend;

    protected TestBackend Backend => _backend ?? throw new InvalidOperationException("The backend starts in OneTimeSetUp.");

    [OneTimeSetUp]
    public async Task StartBackend() => _backend = await TestBackend.StartAsync(backend);

    [OneTimeTearDown]
    public async Task StopBackend()
    {
        if (_backend is not null)
        {
            await _backend.DisposeAsync();
        }
    }
}
