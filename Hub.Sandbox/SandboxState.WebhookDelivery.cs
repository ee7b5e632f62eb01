using System.Threading.Channels;

namespace Hub.Sandbox;

/// <summary>
/// Sends list-webhook deliveries in the background, after the change that fired them is applied. Each webhook keeps a
/// queue; a channel carries the webhooks that have work ("lanes", at most <see cref="SandboxOptions.WebhookInFlightPerWebhook"/>
/// per webhook), and <see cref="SandboxOptions.WebhookSenders"/> senders take one delivery per turn, so a busy webhook does
/// not starve the others and, with one lane, first attempts go out in order. A failed attempt (no answer, or not 2xx) waits
/// 1 s, 2 s, 4 s, ... outside the queue, then goes first again, until <see cref="SandboxOptions.WebhookMaxAttempts"/> are
/// used up. A 410 disables the webhook and drops what it still had queued. Queues are unbounded: nothing is dropped
/// except by a 410, a deleted webhook or list, or a reset.
/// </summary>
public sealed partial class SandboxState : IDisposable
{
    private readonly Channel<ListWebhook> _ready = Channel.CreateUnbounded<ListWebhook>();
    private readonly CancellationTokenSource _stopping = new();
    private readonly Queue<SandboxWebhookDelivery> _deliveryLog = new();
    private HttpClient? _webhookClient;
    private long _deliverySequence;
    private int _sendersStarted;

    /// <summary>For the validation GET and the deliveries: no redirects, no cookies, the webhook timeout.</summary>
    private HttpClient WebhookClient => LazyInitializer.EnsureInitialized(ref _webhookClient, () => new HttpClient(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        PooledConnectionLifetime = TimeSpan.FromMinutes(2),
    })
    { Timeout = _options.WebhookTimeout });

    /// <summary>
    /// Mailchimp's check of a new webhook URL: a GET with the user agent "MailChimp.com WebHook Validator"; true when it is
    /// answered 2xx within the webhook timeout.
    /// </summary>
    internal async Task<bool> ValidateWebhookUrlAsync(string url, CancellationToken ct)
    {
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.TryAddWithoutValidation("User-Agent", WebhookPayload.ValidatorUserAgent);
            using var response = await WebhookClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            return response.IsSuccessStatusCode;
        }
        catch (Exception) when (!ct.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>The newest delivery attempts (at most <paramref name="limit"/>), oldest first; of one webhook when <paramref name="webhookId"/> is given.</summary>
    public IReadOnlyList<SandboxWebhookDelivery> GetWebhookDeliveries(int limit = 100, string? webhookId = null)
    {
        lock (_gate)
        {
            var matching = _deliveryLog.Where(d => webhookId is null || d.WebhookId == webhookId).ToList();
            return matching.Skip(Math.Max(0, matching.Count - Math.Max(0, limit))).ToList();
        }
    }

    public void Dispose()
    {
        _stopping.Cancel();
        _ready.Writer.TryComplete();
        _webhookClient?.Dispose();
    }

    /// <summary>Forgets every webhook (with its queue) and the delivery log; part of <see cref="Reset"/>.</summary>
    private void ResetWebhooksLocked()
    {
        foreach (var webhook in _audiences.Values.SelectMany(a => a.Webhooks)) ForgetLocked(webhook);
        _deliveryLog.Clear();
    }

    /// <summary>A deleted webhook: a sender or retry that still holds it drops its delivery.</summary>
    private static void ForgetLocked(ListWebhook webhook)
    {
        webhook.Deleted = true;
        webhook.Queue.Clear();
        webhook.Pending = 0;
    }

    private void EnqueueLocked(WebhookDelivery delivery)
    {
        var webhook = delivery.Webhook;
        webhook.Queue.AddLast(delivery);
        webhook.Pending++;
        ScheduleLocked(webhook);
    }

    /// <summary>Opens lanes for the webhook's queued deliveries, up to the per-webhook limit.</summary>
    private void ScheduleLocked(ListWebhook webhook)
    {
        if (Interlocked.Exchange(ref _sendersStarted, 1) == 0)
            for (var i = 0; i < Math.Max(1, _options.WebhookSenders); i++) _ = Task.Run(() => SendLoopAsync(_stopping.Token));
        while (webhook.Lanes < Math.Max(1, _options.WebhookInFlightPerWebhook) && webhook.Lanes < webhook.Queue.Count)
        {
            webhook.Lanes++;
            _ready.Writer.TryWrite(webhook);
        }
    }

    private async Task SendLoopAsync(CancellationToken ct)
    {
        try
        {
            while (await _ready.Reader.WaitToReadAsync(ct))
                while (_ready.Reader.TryRead(out var webhook))
                    await SendNextAsync(webhook, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Sends the webhook's next delivery (one lane's turn), then settles it, schedules its retry or disables the webhook.</summary>
    private async Task SendNextAsync(ListWebhook webhook, CancellationToken ct)
    {
        WebhookDelivery delivery;
        string url;
        lock (_gate)
        {
            if (webhook.Deleted || webhook.Disabled || webhook.Queue.First is not { } first)
            {
                webhook.Lanes--;
                return;
            }
            delivery = first.Value;
            webhook.Queue.RemoveFirst();
            delivery.Attempts++;
            webhook.Attempts++;
            url = webhook.Url;
        }

        var started = _time.GetTimestamp();
        var signature = WebhookPayload.Sign(webhook.SigningSecret, _time.GetUtcNow().ToUnixTimeSeconds(), delivery.Body);
        int? status = null;
        string? error = null;
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = WebhookPayload.Content(delivery.Body) };
            request.Headers.TryAddWithoutValidation(WebhookPayload.SignatureHeader, signature);
            using var response = await WebhookClient.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            status = (int)response.StatusCode;
        }
        catch (Exception e) when (!ct.IsCancellationRequested)
        {
            error = e is TaskCanceledException ? $"no answer within {_options.WebhookTimeout.TotalSeconds:0.#} s" : e.Message;
        }

        lock (_gate)
        {
            if (webhook.Deleted)
            {
                webhook.Lanes--;
                return;
            }
            LogLocked(new SandboxWebhookDelivery(
                ++_deliverySequence, _time.GetUtcNow(), webhook.Id, webhook.ListId, url, delivery.Type, delivery.Source, delivery.Attempts,
                status, error, _time.GetElapsedTime(started).TotalMilliseconds, delivery.Body, signature));
            if (status is >= 200 and < 300)
            {
                webhook.Sent++;
                webhook.Pending--;
            }
            else if (status == 410)
            {
                // FACTS.md §9: answering 410 disables the webhook permanently; what it still had queued is dropped.
                webhook.Disabled = true;
                webhook.Failed += 1 + webhook.Queue.Count;
                webhook.Pending -= 1 + webhook.Queue.Count;
                webhook.Queue.Clear();
            }
            else if (delivery.Attempts < _options.WebhookMaxAttempts)
            {
                _ = RetryLaterAsync(delivery, _options.WebhookFirstRetryDelay * Math.Pow(2, delivery.Attempts - 1));
            }
            else
            {
                webhook.Failed++;
                webhook.Pending--;
            }

            if (!webhook.Disabled && webhook.Queue.Count > 0) _ready.Writer.TryWrite(webhook); // the lane's next turn, behind the others
            else webhook.Lanes--;
        }
    }

    private async Task RetryLaterAsync(WebhookDelivery delivery, TimeSpan delay)
    {
        try
        {
            await Task.Delay(delay, _time, _stopping.Token);
        }
        catch (OperationCanceledException)
        {
            return;
        }
        lock (_gate)
        {
            var webhook = delivery.Webhook;
            if (webhook.Deleted) return;
            if (webhook.Disabled)
            {
                webhook.Failed++;
                webhook.Pending--;
                return;
            }
            webhook.Queue.AddFirst(delivery);
            ScheduleLocked(webhook);
        }
    }

    private void LogLocked(SandboxWebhookDelivery entry)
    {
        _deliveryLog.Enqueue(entry);
        while (_deliveryLog.Count > Math.Max(1, _options.WebhookDeliveryLogLimit)) _deliveryLog.Dequeue();
    }
}
