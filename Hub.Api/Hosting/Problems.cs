using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Hosting;

/// <summary>
/// Hub's problem types. Each has a stable <c>type</c> (<c>urn:hub:problem:&lt;code&gt;</c>) that
/// clients can branch on, a title, and a human detail per occurrence.
/// </summary>
public static class Problems
{
    public const string TypePrefix = "urn:hub:problem:";

    public static ProblemHttpResult NotFound(string code, string detail) => Create(StatusCodes.Status404NotFound, code, "Not found", detail);

    public static ProblemHttpResult Conflict(string code, string detail) => Create(StatusCodes.Status409Conflict, code, "Conflict", detail);

    public static ProblemHttpResult Create(int status, string code, string title, string detail) =>
        TypedResults.Problem(detail: detail, statusCode: status, title: title, type: TypePrefix + code);

    /// <summary>A 400 <c>validation</c> naming one query parameter of a collection route (<c>cursor</c>, <c>limit</c>); see <see cref="Hub.Core.Storage.Paging"/>.</summary>
    public static ValidationProblem Paging((string Parameter, string Message) invalid) =>
        Validation(new Dictionary<string, string[]> { [invalid.Parameter] = [invalid.Message] });

    public static ValidationProblem Validation(IDictionary<string, string[]> errors, string detail = "The request has invalid fields; see errors.") =>
        TypedResults.ValidationProblem(errors, detail: detail, type: TypePrefix + "validation", title: "Invalid request");
}
