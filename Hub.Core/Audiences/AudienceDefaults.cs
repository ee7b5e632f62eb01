namespace Hub.Core.Audiences;

/// <summary>An audience's contact block (Mailchimp requires company, address1, city and country).</summary>
public sealed record AudienceContact
{
    /// <summary>The organisation's name (required by Mailchimp).</summary>
    public string? Company { get; init; }

    /// <summary>The street address (required by Mailchimp).</summary>
    public string? Address1 { get; init; }

    /// <summary>A second address line.</summary>
    public string? Address2 { get; init; }

    /// <summary>The city (required by Mailchimp).</summary>
    public string? City { get; init; }

    /// <summary>The state or province.</summary>
    public string? State { get; init; }

    /// <summary>The postal code.</summary>
    public string? Zip { get; init; }

    /// <summary>The country, a two-letter code such as <c>US</c> or <c>NL</c> (required by Mailchimp).</summary>
    public string? Country { get; init; }

    /// <summary>A phone number.</summary>
    public string? Phone { get; init; }
}

/// <summary>An audience's campaign defaults (Mailchimp requires all four).</summary>
public sealed record CampaignDefaults
{
    /// <summary>The sender name of campaigns.</summary>
    public string? FromName { get; init; }

    /// <summary>The sender address of campaigns.</summary>
    public string? FromEmail { get; init; }

    /// <summary>The default subject of campaigns.</summary>
    public string? Subject { get; init; }

    /// <summary>The audience's default language, e.g. <c>en</c>.</summary>
    public string? Language { get; init; }
}
