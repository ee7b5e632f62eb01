using System.Collections.Concurrent;
using Hub.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Hub.Tests.Webhooks;

/// <summary>A webhook receiver on a loopback Kestrel port that records every POST and can fail the first ones.</summary>
public sealed class WebhookReceiver : IAsyncDisposable
{
    private readonly WebApplication _app;
    private int _failuresLeft;

    private WebhookReceiver(WebApplication app, Uri baseUrl)
    {
        _app = app;
        BaseUrl = baseUrl;
    }

    public Uri BaseUrl { get; }

    public string HookUrl => new Uri(BaseUrl, "hook").ToString();

    /// <summary>A stand-in for Mailchimp's metadata endpoint that answers 200 with <c>{"error":"invalid_token"}</c>.</summary>
    public string InvalidMetadataUrl => new Uri(BaseUrl, "metadata-invalid").ToString();

    public ConcurrentQueue<ReceivedWebhook> Received { get; } = new();

    public void FailNext(int count) => Interlocked.Exchange(ref _failuresLeft, count);

    /// <summary>How long the receiver takes before answering each POST (zero by default), so deliveries are in flight longer.</summary>
    public TimeSpan ResponseDelay { get; set; }

    public static async Task<WebhookReceiver> StartAsync()
    {
        WebhookReceiver? receiver = null;
        var (app, address) = await LoopbackApp.StartAsync(endpoints =>
        {
            endpoints.MapPost("/hook", async (HttpRequest request) =>
            {
                using var reader = new StreamReader(request.Body);
                var body = await reader.ReadToEndAsync();
                if (receiver!.ResponseDelay > TimeSpan.Zero)
                {
                    await Task.Delay(receiver.ResponseDelay);
                }

                var failing = Interlocked.Decrement(ref receiver._failuresLeft) >= 0;
                receiver.Received.Enqueue(new ReceivedWebhook(
                    DateTimeOffset.UtcNow, request.Headers["Hub-Signature"].ToString(), request.Headers["Hub-Event"].ToString(), body, failing ? 500 : 200));
                return failing ? Results.StatusCode(500) : Results.Ok();
            });
            endpoints.MapGet("/metadata-invalid", () => Results.Json(new { error = "invalid_token" }));
        });
        receiver = new WebhookReceiver(app, new Uri(address + "/"));
        return receiver;
    }

    /// <summary>Waits until a webhook of <paramref name="eventType"/> (for <paramref name="tenantId"/>, when given) was answered 200.</summary>
    public async Task<ReceivedWebhook> WaitForAsync(string eventType, int count = 1, TimeSpan? timeout = null, string? tenantId = null)
    {
        var deadline = DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(20));
        while (DateTimeOffset.UtcNow < deadline)
        {
            var delivered = Received.Where(hook => hook.EventType == eventType && hook.AnsweredStatus == 200
                && (tenantId is null || System.Text.Json.JsonDocument.Parse(hook.Body).RootElement.GetProperty("tenantId").GetString() == tenantId)).ToList();
            if (delivered.Count >= count)
            {
                return delivered[count - 1];
            }

            await Task.Delay(50);
        }

        Assert.Fail($"No {eventType} webhook #{count} arrived; received: {string.Join(", ", Received.Select(hook => hook.EventType + "/" + hook.AnsweredStatus))}");
        throw new InvalidOperationException();
    }

    public ValueTask DisposeAsync() => LoopbackApp.StopAsync(_app);
}

public sealed record ReceivedWebhook(DateTimeOffset At, string Signature, string EventType, string Body, int AnsweredStatus);
