using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Hub.Bench;

/// <summary>
/// A tenant's webhook receiver: a Kestrel app on loopback that records each POST's arrival, <c>Hub-Event</c>,
/// <c>data.email</c> and <c>data.jobId</c>, and answers 200. Hub refuses a loopback URL unless
/// <c>Hub:Webhooks:AllowPrivateTargets</c> is on.
/// </summary>
internal sealed class TenantReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TenantReceiver(WebApplication app, string url)
    {
        _app = app;
        Url = url;
    }

    public string Url { get; }
    public ConcurrentQueue<Arrival> Arrivals { get; } = new();

    public static async Task<TenantReceiver> StartAsync()
    {
        var port = BenchProcess.FreePort();
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(kestrel => kestrel.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var receiver = new TenantReceiver(app, $"http://127.0.0.1:{port}/hooks");
        app.MapPost("/hooks", async (HttpContext http) =>
        {
            var at = DateTimeOffset.UtcNow;
            var type = http.Request.Headers["Hub-Event"].ToString();
            using var body = await JsonDocument.ParseAsync(http.Request.Body);
            var data = body.RootElement.TryGetProperty("data", out var value) && value.ValueKind == JsonValueKind.Object ? value : default;
            receiver.Arrivals.Enqueue(new Arrival(at, type, Text(data, "email")?.ToLowerInvariant() ?? "", Text(data, "jobId")));
            return Results.Ok();
        });
        await app.StartAsync();
        return receiver;
    }

    private static string? Text(JsonElement data, string name) =>
        data.ValueKind == JsonValueKind.Object && data.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    /// <summary>Arrivals of one webhook type for members <paramref name="from"/> (inclusive) to <paramref name="to"/> (exclusive).</summary>
    public List<Arrival> Of(string type, int from, int to)
    {
        var emails = Enumerable.Range(from, to - from).Select(i => NdjsonMembersStream.Email(i)).ToHashSet(StringComparer.Ordinal);
        return [.. Arrivals.Where(arrival => arrival.Type == type && emails.Contains(arrival.Email))];
    }

    /// <summary>Whether a <c>sync.completed</c> or <c>sync.failed</c> webhook has arrived for each of the jobs.</summary>
    public bool[] Ended(IReadOnlyList<string> jobIds)
    {
        var ended = Arrivals.Where(arrival => arrival.Type is "sync.completed" or "sync.failed" && arrival.JobId is not null)
            .Select(arrival => arrival.JobId!).ToHashSet(StringComparer.Ordinal);
        return [.. jobIds.Select(ended.Contains)];
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record Arrival(DateTimeOffset At, string Type, string Email, string? JobId = null);
