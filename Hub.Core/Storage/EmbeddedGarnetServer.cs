using System.Net;
using System.Net.Sockets;
using Garnet;
using Microsoft.Extensions.Logging;

namespace Hub.Core.Storage;

/// <summary>
/// A Microsoft Garnet server inside the Hub process, on loopback, persisting to an append-only
/// file in the data folder. Lets Hub run with nothing else installed; production uses Redis.
/// </summary>
public sealed partial class EmbeddedGarnetServer : IAsyncDisposable, IDisposable
{
    private readonly GarnetServer _server;

    private EmbeddedGarnetServer(GarnetServer server, string directory, int port)
    {
        _server = server;
        Directory = directory;
        Port = port;
    }

    public string Directory { get; }
    public int Port { get; }
    public string ConnectionString => $"127.0.0.1:{Port}";

    /// <summary>Starts Garnet on 127.0.0.1 (a free port when <paramref name="port"/> is 0) and recovers what it stored before.</summary>
    public static EmbeddedGarnetServer Start(string directory, int port, ILoggerFactory loggerFactory)
    {
        System.IO.Directory.CreateDirectory(directory);
        if (port == 0)
        {
            port = FreeLoopbackPort();
        }

        string[] args =
        [
            "--bind", "127.0.0.1",
            "--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--checkpointdir", directory,
            "--logdir", directory,
            "--storage-tier", "true",
            // The default native device needs libaio; the managed one runs everywhere.
            "--device-type", "RandomAccess",
            "--aof",
            "--recover",
            "--lua", "true",
            // Without it Garnet runs a script's commands one by one, interleaved with other clients'
            // commands; Hub's scripts rely on Redis's guarantee that a script runs alone.
            "--lua-transaction-mode", "true",
        ];
        var server = new GarnetServer(args, new PrefixedLoggerFactory(loggerFactory, "Garnet."));
        server.Start();
        return new EmbeddedGarnetServer(server, directory, port);
    }

    /// <summary>
    /// Commits the append-only file, waiting until it is on disk, then stops the server. Garnet issues
    /// a commit after every write but does not wait for it, and stopping drops a commit still in flight:
    /// a write made just before shutdown would be gone after the restart.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        await _server.Store.CommitAOFAsync(CancellationToken.None);
        _server.Dispose();
    }

    /// <inheritdoc cref="DisposeAsync"/>
    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static int FreeLoopbackPort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Garnet's categories carry no common prefix; this gives them one so logging filters can target "Garnet".</summary>
    private sealed class PrefixedLoggerFactory(ILoggerFactory inner, string prefix) : ILoggerFactory
    {
        public ILogger CreateLogger(string categoryName) => inner.CreateLogger(prefix + categoryName);
        public void AddProvider(ILoggerProvider provider) => inner.AddProvider(provider);
        public void Dispose()
        {
            // The inner factory belongs to the host.
        }
    }
}
