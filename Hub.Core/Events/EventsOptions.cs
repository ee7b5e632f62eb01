using System.ComponentModel.DataAnnotations;

namespace Hub.Core.Events;

/// <summary>How Hub hears from Mailchimp about changes in managed audiences. Bound from <c>Hub:Events</c>.</summary>
public sealed class EventsOptions : IValidatableObject
{
    public const string SectionName = "Hub:Events";

    /// <summary>Register list webhooks on managed audiences. Off, Hub neither registers nor removes any.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Whether this replica processes received events. Every replica receives; turning this off on some leaves the
    /// processing to the others (events wait in Redis meanwhile).
    /// </summary>
    public bool ProcessReceived { get; set; } = true;

    /// <summary>How long member events stay readable at <c>GET /api/v1/events</c>, and received events are recognised when repeated. At least 7 days.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(7);

    /// <summary>How often every registered webhook is checked to still exist in Mailchimp (and registered again when it does not).</summary>
    public TimeSpan VerifyEvery { get; set; } = TimeSpan.FromHours(24);

    /// <summary>Wait before a tenant's webhooks are brought in line again after Mailchimp failed (a registration, a check or a removal).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one replica holds a claimed event or tenant before another may take it over.</summary>
    public TimeSpan Lease { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How often each replica looks for due work when nothing woke it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a full sync still writes an address that changed in Mailchimp as its new address.</summary>
    public TimeSpan EmailChangeMemory { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How much older than now a signed event may be (Mailchimp's guide: reject anything older than 5 minutes).</summary>
    public TimeSpan SignatureTolerance { get; set; } = TimeSpan.FromMinutes(5);

    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        if (Retention < TimeSpan.FromDays(7))
        {
            yield return new ValidationResult("Hub:Events:Retention must be at least 7 days.", [nameof(Retention)]);
        }

        if (VerifyEvery < TimeSpan.FromMinutes(1) || RetryDelay <= TimeSpan.Zero || Lease < TimeSpan.FromSeconds(5))
        {
            yield return new ValidationResult("Hub:Events: VerifyEvery must be at least a minute, Lease at least 5 seconds, RetryDelay positive.");
        }
    }
}
