namespace Hub.Core.Audiences;

/// <summary>An audience's contact block (Mailchimp requires company, address1, city and country).</summary>
public sealed record AudienceContact
{
    public string? Company { get; init; }
    public string? Address1 { get; init; }
    public string? Address2 { get; init; }
    public string? City { get; init; }
    public string? State { get; init; }
    public string? Zip { get; init; }
    public string? Country { get; init; }
    public string? Phone { get; init; }
}

/// <summary>An audience's campaign defaults (Mailchimp requires all four).</summary>
public sealed record CampaignDefaults
{
    public string? FromName { get; init; }
    public string? FromEmail { get; init; }
    public string? Subject { get; init; }
    public string? Language { get; init; }
}
