using System.Diagnostics.CodeAnalysis;

namespace Hub.Core.Mailchimp;

/// <summary>
/// Hub's own codes for what went wrong with a Mailchimp call. Hub.Api turns each into a problem
/// type; Mailchimp's title and detail travel alongside in <see cref="MailchimpError"/>.
/// </summary>
public static class MailchimpErrorCodes
{
    /// <summary>400 "Member In Compliance State": unsubscribed, bounced or under review; cannot be subscribed via the API (send <c>pending</c>).</summary>
    public const string MemberInComplianceState = "member_in_compliance_state";

    /// <summary>400 "Forgotten Email Not Subscribed": the address was permanently deleted and cannot be re-imported.</summary>
    public const string ForgottenEmail = "forgotten_email";

    /// <summary>400 "Invalid Resource" because Mailchimp thinks the address is fake or invalid.</summary>
    public const string InvalidEmail = "invalid_email";

    /// <summary>400 "Member Exists": a create-only call for a contact already on the audience.</summary>
    public const string MemberExists = "member_exists";

    /// <summary>400 "Invalid Resource": validation failed; see the field errors.</summary>
    public const string InvalidResource = "invalid_resource";

    /// <summary>The audience is not one Hub manages for the tenant (decided by Hub, never returned by Mailchimp).</summary>
    public const string AudienceNotManaged = "audience_not_managed";

    /// <summary>403 "User action not permitted": the Mailchimp plan does not allow it (e.g. a second audience on the free plan).</summary>
    public const string PlanLimit = "plan_limit";

    /// <summary>401: the token or key no longer works; the tenant must reconnect.</summary>
    public const string ReauthorizationRequired = "reauthorization_required";

    /// <summary>Mailchimp did not answer usefully: 429/5xx, timeout, broken circuit or transport fault after the retries.</summary>
    public const string MailchimpUnavailable = "mailchimp_unavailable";

    /// <summary>404: the list, member or resource does not exist.</summary>
    public const string NotFound = "not_found";

    /// <summary>Any other 4xx (e.g. 405 "cannot archive a bounced contact", 400 "Bad Request"): a client-side refusal, never a Hub 500.</summary>
    public const string MailchimpRejected = "mailchimp_rejected";
}

/// <summary>One field-level validation message from Mailchimp's <c>errors</c> array.</summary>
public sealed record MailchimpFieldError(string Field, string Message);

/// <summary>
/// An expected Mailchimp failure as a value: Hub's <see cref="Code"/> (see <see cref="MailchimpErrorCodes"/>),
/// Mailchimp's HTTP status (null when no response arrived), title and detail, and any field errors.
/// </summary>
public sealed record MailchimpError(string Code, int? Status, string Title, string Detail, IReadOnlyList<MailchimpFieldError> FieldErrors)
{
    public static MailchimpError Unavailable(string detail, int? status = null) =>
        new(MailchimpErrorCodes.MailchimpUnavailable, status, "Mailchimp unavailable", detail, []);
}

/// <summary>What every Mailchimp outcome tells, with or without a value: its error, if it failed.</summary>
public interface IMailchimpOutcome
{
    MailchimpError? Error { get; }
}

/// <summary>Outcome of a Mailchimp call that returns a value: either <see cref="Value"/> or <see cref="Error"/>.</summary>
public sealed class MailchimpResult<T> : IMailchimpOutcome
{
    private MailchimpResult(T? value, MailchimpError? error)
    {
        Value = value;
        Error = error;
    }

    public T? Value { get; }

    public MailchimpError? Error { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    public static MailchimpResult<T> Success(T value) => new(value, null);

    public static MailchimpResult<T> Failure(MailchimpError error) => new(default, error);

    public static implicit operator MailchimpResult<T>(MailchimpError error) => Failure(error);

    public static implicit operator MailchimpResult<T>(T value) => Success(value);

    public override string ToString() => IsSuccess ? $"Success({Value})" : $"Failure({Error.Code} {Error.Status}: {Error.Title})";
}

/// <summary>Outcome of a Mailchimp call without a value (204 responses): success or <see cref="Error"/>.</summary>
public sealed class MailchimpResult : IMailchimpOutcome
{
    public static readonly MailchimpResult Success = new(null);

    private MailchimpResult(MailchimpError? error) => Error = error;

    public MailchimpError? Error { get; }

    [MemberNotNullWhen(false, nameof(Error))]
    public bool IsSuccess => Error is null;

    public static MailchimpResult Failure(MailchimpError error) => new(error);

    public static implicit operator MailchimpResult(MailchimpError error) => Failure(error);

    public override string ToString() => IsSuccess ? "Success" : $"Failure({Error.Code} {Error.Status}: {Error.Title})";
}
