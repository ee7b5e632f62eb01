using System.ComponentModel.DataAnnotations;

namespace Hub.Core.Webhooks;

/// <summary>How Hub delivers signed webhooks to tenants. Bound from <c>Hub:Webhooks</c>.</summary>
public sealed class WebhookOptions
{
    public const string SectionName = "Hub:Webhooks";

    /// <summary>
    /// Allow webhook URLs on loopback and private ranges. Defaults to true only in Development;
    /// elsewhere a tenant could otherwise aim Hub at the inside of its own network.
    /// </summary>
    public bool? AllowPrivateTargets { get; set; }

    /// <summary>Attempts per delivery before it is given up (the first try included).</summary>
    [Range(1, 50)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>Wait before the second attempt; each later wait doubles, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan InitialRetryDelay { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Longest wait between two attempts.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How long one replica holds a claimed delivery before another may take it over.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each replica looks for due deliveries.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>Time one POST to a receiver may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long finished deliveries and their attempt records stay readable.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);
}
