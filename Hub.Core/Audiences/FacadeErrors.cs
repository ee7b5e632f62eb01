using Hub.Core.Mailchimp;

namespace Hub.Core.Audiences;

/// <summary>
/// Failures the facade decides itself (before or instead of calling Mailchimp). They travel as
/// <see cref="MailchimpError"/> values with no Mailchimp status, beside the codes mapped from Mailchimp.
/// </summary>
public static class FacadeErrors
{
    public const string Validation = "validation";
    public const string NotConnected = "not_connected";
    public const string ListNotFound = "list_not_found";
    public const string ListExists = "list_exists";
    public const string AudienceInUse = "audience_in_use";
    public const string MemberNotInList = "member_not_in_list";
    public const string ConfirmationRequired = "confirmation_required";
    public const string AudienceAdoptionNotAllowed = "audience_adoption_not_allowed";
    public const string AudienceNotCreatedByHub = "audience_not_created_by_hub";

    /// <summary>A list declares a field whose tag the audience has with another type (Hub never retypes a field).</summary>
    public const string MergeFieldConflict = "merge_field_conflict";

    /// <summary>A passthrough write outside <c>/lists</c> by a tenant the operator has not allowed to make one.</summary>
    public const string PassthroughWriteNotAllowed = "passthrough_write_not_allowed";

    public static MailchimpError Invalid(string field, string message) => Invalid([new MailchimpFieldError(field, message)]);

    public static MailchimpError Invalid(IReadOnlyList<MailchimpFieldError> errors) =>
        new(Validation, null, "Invalid request", "The request has invalid fields; see errors.", errors);

    public static MailchimpError NotManaged(string audienceId) =>
        new(MailchimpErrorCodes.AudienceNotManaged, null, "Audience not managed",
            $"Audience '{audienceId}' is not managed by Hub for this tenant; Hub writes only to audiences it created or that were registered with POST /api/v1/audiences/{{id}}/manage.", []);

    public static MailchimpError AdoptionNotAllowed(string audienceId) =>
        new(AudienceAdoptionNotAllowed, null, "Audience adoption not allowed",
            $"Audience '{audienceId}' was not handed over with this tenant's OAuth app, so Hub does not take it over. Create an audience through Hub, or ask the operator to set allowAudienceAdoption for this tenant.", []);

    public static MailchimpError NotCreatedByHub(string audienceId) =>
        new(AudienceNotCreatedByHub, null, "Audience not created by Hub",
            $"Audience '{audienceId}' was not created by Hub, so Hub does not delete it. Delete it in Mailchimp itself, or stop managing it with DELETE /api/v1/audiences/{audienceId}/manage.", []);

    public static MailchimpError ListMissing(string key) =>
        new(ListNotFound, null, "List not found", $"This tenant has no list '{key}'.", []);

    public static MailchimpError Create(string code, string title, string detail) => new(code, null, title, detail, []);
}
