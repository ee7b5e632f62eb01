using System.Text.Json.Serialization;
using Hub.Core.Storage;

namespace Hub.Core.OAuth;

/// <summary>What did not match when the handed-over endpoint URL and audience id were checked against the account that consented.</summary>
public enum ConsentIssueKind
{
    /// <summary>The endpoint URL names another data center than the account's.</summary>
    DataCenterMismatch,

    /// <summary>The audience id does not exist in the account; it was not registered as managed.</summary>
    AudienceNotFound,

    /// <summary>Mailchimp could not say whether the audience exists; it was not registered as managed.</summary>
    AudienceUnconfirmed,
}

/// <summary>
/// One issue found at consent. <see cref="Value"/> is the handed-over data center or audience id,
/// <see cref="Actual"/> the account's data center. The connection still succeeds.
/// </summary>
public sealed record ConsentIssue(ConsentIssueKind Kind, string Value, string? Actual = null)
{
    /// <summary>The stable snake_case code, as added to a return URL (<c>issue=</c>).</summary>
    [JsonIgnore]
    public string Code => SnakeCase<ConsentIssueKind>.ToText(Kind);

    /// <summary>The sentence for the result page in <paramref name="locale"/> (<c>nl</c> or English); the English one is also the connection's <c>issue</c>.</summary>
    public string Text(string locale) => (Kind, locale == "nl") switch
    {
        (ConsentIssueKind.DataCenterMismatch, false) => $"The endpoint URL names data center {Value}, but the Mailchimp account that consented is in {Actual}.",
        (ConsentIssueKind.DataCenterMismatch, true) => $"De endpoint-URL noemt datacenter {Value}, maar het Mailchimp-account dat toestemming gaf staat in {Actual}.",
        (ConsentIssueKind.AudienceNotFound, false) => $"Audience {Value} does not exist in the Mailchimp account that consented; it was not registered as managed.",
        (ConsentIssueKind.AudienceNotFound, true) => $"Doelgroep {Value} bestaat niet in het Mailchimp-account dat toestemming gaf; die is niet als beheerde doelgroep vastgelegd.",
        (_, false) => $"Mailchimp could not confirm audience {Value}; it was not registered as managed. Register it later.",
        (_, true) => $"Mailchimp kon doelgroep {Value} niet bevestigen; die is niet als beheerde doelgroep vastgelegd. Registreer die later alsnog.",
    };

    /// <summary>The connection's <c>issue</c>: every issue's English sentence, or null when there is none.</summary>
    public static string? Describe(IReadOnlyList<ConsentIssue> issues) =>
        issues.Count == 0 ? null : string.Join(" ", issues.Select(issue => issue.Text("en")));
}
