using System.Net.Http.Json;
using System.Text.Json;

namespace Hub.Core.Mailchimp;

/// <summary>Turns Mailchimp's status and problem+json into Hub's <see cref="MailchimpError"/>, keeping Mailchimp's title and detail.</summary>
internal static class MailchimpErrorMapper
{
    public static async Task<MailchimpError> FromResponseAsync(HttpResponseMessage response, CancellationToken cancellationToken) =>
        Map((int)response.StatusCode, response.ReasonPhrase, await ReadProblemAsync(response, cancellationToken));

    private static async Task<MailchimpProblem?> ReadProblemAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        if (response.Content.Headers.ContentType?.MediaType?.Contains("json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return null;
        }

        try
        {
            return await response.Content.ReadFromJsonAsync(MailchimpJsonContext.Default.MailchimpProblem, cancellationToken);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    public static MailchimpError Map(int status, string? reason, MailchimpProblem? problem)
    {
        var title = problem?.Title ?? reason ?? "Mailchimp error";
        var detail = problem?.Detail ?? "";
        var fields = problem?.Errors?.Select(e => new MailchimpFieldError(e.Field ?? "", e.Message ?? "")).ToList() ?? [];
        var code = status switch
        {
            401 => MailchimpErrorCodes.ReauthorizationRequired,
            404 => MailchimpErrorCodes.NotFound,
            429 or >= 500 => MailchimpErrorCodes.MailchimpUnavailable,
            // Under very high volume Mailchimp throttles with a bare 403.
            403 when problem is null => MailchimpErrorCodes.MailchimpUnavailable,
            403 when Is(title, "User action not permitted") || Is(title, "Authorization Failure") => MailchimpErrorCodes.PlanLimit,
            400 when Is(title, "Member Exists") => MailchimpErrorCodes.MemberExists,
            400 when Is(title, "Member In Compliance State") => MailchimpErrorCodes.MemberInComplianceState,
            400 when Is(title, "Forgotten Email Not Subscribed") => MailchimpErrorCodes.ForgottenEmail,
            400 when Is(title, "Invalid Resource") && detail.Contains("looks fake or invalid", StringComparison.OrdinalIgnoreCase) => MailchimpErrorCodes.InvalidEmail,
            400 when Is(title, "Invalid Resource") => MailchimpErrorCodes.InvalidResource,
            _ => MailchimpErrorCodes.MailchimpRejected,
        };
        return new MailchimpError(code, status, title, detail, fields);
    }

    /// <summary>
    /// Maps one refused member of a batch subscribe. Batch errors carry only Mailchimp's message and
    /// ERROR_CONTACT_EXISTS or ERROR_GENERIC, so the message's wording decides the code.
    /// </summary>
    public static MailchimpError FromBatchError(MailchimpBatchError error)
    {
        var message = error.Error;
        var code = error.ErrorCode == "ERROR_CONTACT_EXISTS" ? MailchimpErrorCodes.MemberExists
            : message.Contains("compliance state", StringComparison.OrdinalIgnoreCase) ? MailchimpErrorCodes.MemberInComplianceState
            : message.Contains("permanently deleted", StringComparison.OrdinalIgnoreCase) ? MailchimpErrorCodes.ForgottenEmail
            : message.Contains("looks fake or invalid", StringComparison.OrdinalIgnoreCase) ? MailchimpErrorCodes.InvalidEmail
            : MailchimpErrorCodes.InvalidResource;
        IReadOnlyList<MailchimpFieldError> fields = error.Field is { Length: > 0 } field ? [new MailchimpFieldError(field, error.FieldMessage ?? message)] : [];
        return new MailchimpError(code, 400, "Member refused", message, fields);
    }

    private static bool Is(string title, string expected) => title.Equals(expected, StringComparison.OrdinalIgnoreCase);
}
