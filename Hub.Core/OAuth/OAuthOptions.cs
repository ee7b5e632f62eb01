using System.ComponentModel.DataAnnotations;

namespace Hub.Core.OAuth;

/// <summary>The one-time consent flow. Bound from <c>Hub:OAuth</c>.</summary>
public sealed class OAuthOptions
{
    public const string SectionName = "Hub:OAuth";

    /// <summary>How long a consent link can be opened (once).</summary>
    [Range(typeof(TimeSpan), "00:01:00", "30.00:00:00", ErrorMessage = "Hub:OAuth:ConsentLinkLifetime must be between 1 minute and 30 days.")]
    public TimeSpan ConsentLinkLifetime { get; set; } = TimeSpan.FromHours(24);

    /// <summary>How long the browser may stay at Mailchimp's consent screen.</summary>
    [Range(typeof(TimeSpan), "00:01:00", "01:00:00", ErrorMessage = "Hub:OAuth:StateLifetime must be between 1 and 60 minutes.")]
    public TimeSpan StateLifetime { get; set; } = TimeSpan.FromMinutes(10);
}
