using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hub.Tests.Sandbox;

/// <summary>
/// Stands in for the endpoint of a Mailchimp list webhook on a loopback port: <c>GET /{name}</c> answers the validation GET
/// (200 unless <see cref="GetStatus"/> says otherwise) and <c>POST /{name}</c> records each delivery with its raw body and
/// answers 200, or the statuses scripted with <see cref="Answer"/>.
/// </summary>
public sealed class ListWebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, ConcurrentQueue<int>> _scripted = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> _always = new(StringComparer.Ordinal);

    private ListWebhookReceiver(WebApplication app, string address)
    {
        _app = app;
        BaseUrl = address + "/";
    }

    public string BaseUrl { get; }

    /// <summary>What the validation GET is answered with.</summary>
    public int GetStatus { get; set; } = 200;

    /// <summary>The validation GETs seen: path name and User-Agent.</summary>
    public ConcurrentQueue<(string Name, string UserAgent)> Gets { get; } = new();

    public ConcurrentQueue<ReceivedDelivery> Posts { get; } = new();

    /// <summary>A fresh hook URL, so each test's webhook gets its own path.</summary>
    public string NewUrl(string label = "hook") => $"{BaseUrl}{label}-{Guid.NewGuid():N}";

    /// <summary>The next POSTs to <paramref name="url"/> are answered with these statuses, then 200 again.</summary>
    public void Answer(string url, params int[] statuses)
    {
        var queue = _scripted.GetOrAdd(NameOf(url), _ => new ConcurrentQueue<int>());
        foreach (var status in statuses) queue.Enqueue(status);
    }

    /// <summary>Every POST to <paramref name="url"/> is answered with <paramref name="status"/>.</summary>
    public void AnswerAlways(string url, int status) => _always[NameOf(url)] = status;

    public IReadOnlyList<ReceivedDelivery> PostsTo(string url) => Posts.Where(p => p.Name == NameOf(url)).ToList();

    /// <summary>Waits until <paramref name="count"/> POSTs to <paramref name="url"/> were answered 2xx; returns them in arrival order.</summary>
    public async Task<IReadOnlyList<ReceivedDelivery>> WaitForAsync(string url, int count = 1, TimeSpan? timeout = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (true)
        {
            var delivered = PostsTo(url).Where(p => p.AnsweredStatus is >= 200 and < 300).ToList();
            if (delivered.Count >= count) return delivered;
            if (DateTimeOffset.UtcNow > deadline)
                Assert.Fail($"{delivered.Count} of {count} deliveries to {url} arrived; received: {string.Join(", ", PostsTo(url).Select(p => $"{p.Type}/{p.AnsweredStatus}"))}");
            await Task.Delay(20);
        }
    }

    public static async Task<ListWebhookReceiver> StartAsync()
    {
        ListWebhookReceiver? receiver = null;
        var (app, address) = await LoopbackApp.StartAsync(endpoints =>
        {
            endpoints.MapGet("/{name}", (string name, HttpRequest request) =>
            {
                receiver!.Gets.Enqueue((name, request.Headers.UserAgent.ToString()));
                return Results.StatusCode(receiver.GetStatus);
            });
            endpoints.MapPost("/{name}", async (string name, HttpRequest request) =>
            {
                request.EnableBuffering();
                using var buffer = new MemoryStream();
                await request.Body.CopyToAsync(buffer);
                request.Body.Position = 0;
                var form = await request.ReadFormAsync();
                var status = receiver!._always.TryGetValue(name, out var always) ? always
                    : receiver._scripted.TryGetValue(name, out var queue) && queue.TryDequeue(out var next) ? next : 200;
                receiver.Posts.Enqueue(new ReceivedDelivery(
                    name, DateTimeOffset.UtcNow, request.ContentType ?? "", request.Headers["X-Mailchimp-Signature"].ToString(), buffer.ToArray(),
                    form.ToDictionary(f => f.Key, f => f.Value.ToString(), StringComparer.Ordinal), status));
                return Results.StatusCode(status);
            });
        });
        receiver = new ListWebhookReceiver(app, address);
        return receiver;
    }

    private static string NameOf(string url) => url[(url.LastIndexOf('/') + 1)..];

    public ValueTask DisposeAsync() => LoopbackApp.StopAsync(_app);
}

/// <summary>One delivery as it arrived: the raw body, and the form as ASP.NET Core parsed it.</summary>
public sealed record ReceivedDelivery(
    string Name, DateTimeOffset At, string ContentType, string Signature, byte[] RawBody, IReadOnlyDictionary<string, string> Form, int AnsweredStatus)
{
    public string Type => Form["type"];

    /// <summary>The body's keys in the order they were sent.</summary>
    public IReadOnlyList<string> Keys =>
        Encoding.UTF8.GetString(RawBody).Split('&').Select(pair => Uri.UnescapeDataString(pair.Split('=')[0].Replace('+', ' '))).ToList();

    /// <summary>Whether <see cref="Signature"/> (<c>t=..,v1=..</c>) is the HMAC-SHA256 of "t.body" with <paramref name="secret"/>.</summary>
    public bool SignatureVerifies(string secret)
    {
        var parts = Signature.Split(',').Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var signed = Encoding.UTF8.GetBytes(parts["t"] + ".").Concat(RawBody).ToArray();
        var expected = Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(parts["v1"]));
    }
}
