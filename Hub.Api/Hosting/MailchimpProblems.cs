using Hub.Core.Audiences;
using Hub.Core.Mailchimp;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Hosting;

/// <summary>
/// Turns a facade or Mailchimp failure into Hub's problem+json, keeping Mailchimp's detail. An
/// upstream refusal is a 4xx; only Mailchimp being unreachable is a 503.
/// </summary>
public static class MailchimpProblems
{
    public static ProblemHttpResult ToProblem(this MailchimpError error)
    {
        if (error.Code == FacadeErrors.Validation)
        {
            // The same validation problem Problems.Validation answers, as a ProblemHttpResult so every facade
            // failure is one result type (it writes the same way: status 400, through IProblemDetailsService).
            return TypedResults.Problem(Problems.Validation(Errors(error), error.Detail).ProblemDetails);
        }

        var status = error.Code switch
        {
            MailchimpErrorCodes.InvalidResource or MailchimpErrorCodes.InvalidEmail or FacadeErrors.ConfirmationRequired
                or Hub.Core.Sync.SyncService.InvalidBody or Hub.Core.Sync.SyncService.EmptySetRefused => StatusCodes.Status400BadRequest,
            MailchimpErrorCodes.AudienceNotManaged or MailchimpErrorCodes.PlanLimit or FacadeErrors.PassthroughWriteNotAllowed
                or FacadeErrors.AudienceAdoptionNotAllowed or FacadeErrors.AudienceNotCreatedByHub => StatusCodes.Status403Forbidden,
            MailchimpErrorCodes.NotFound or FacadeErrors.ListNotFound or FacadeErrors.MemberNotInList => StatusCodes.Status404NotFound,
            MailchimpErrorCodes.MemberExists or MailchimpErrorCodes.MemberInComplianceState or MailchimpErrorCodes.ForgottenEmail
                or FacadeErrors.ListExists or FacadeErrors.AudienceInUse or FacadeErrors.NotConnected or FacadeErrors.MergeFieldConflict
                or MailchimpErrorCodes.ReauthorizationRequired or Hub.Core.Members.MemberRenamer.EmailInUse or Hub.Core.Members.MemberRenamer.EmailChangeConflict
                or Hub.Core.Members.ErasedPeople.Code => StatusCodes.Status409Conflict,
            MailchimpErrorCodes.MailchimpUnavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status422UnprocessableEntity,
        };
        var extensions = new Dictionary<string, object?>();
        if (error.Status is { } mailchimpStatus)
        {
            extensions["mailchimpStatus"] = mailchimpStatus;
        }

        if (error.FieldErrors.Count > 0)
        {
            extensions["errors"] = Errors(error);
        }

        return TypedResults.Problem(detail: error.Detail, statusCode: status, title: error.Title, type: Problems.TypePrefix + error.Code, extensions: extensions);
    }

    /// <summary>The error's field errors as a validation problem's <c>errors</c>: field to messages.</summary>
    public static Dictionary<string, string[]> Errors(this MailchimpError error) =>
        error.FieldErrors.GroupBy(field => field.Field.Length == 0 ? "$" : field.Field)
            .ToDictionary(group => group.Key, group => group.Select(field => field.Message).ToArray(), StringComparer.Ordinal);
}
