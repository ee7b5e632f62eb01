using System.Text.Json;
using System.Text.Json.Serialization;

namespace Hub.Sandbox;

/// <summary>JSON settings for everything the sandbox writes and reads: snake_case like Mailchimp, nulls omitted.</summary>
public static class SandboxJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DictionaryKeyPolicy = null,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    };

    public const string ProblemType = "https://mailchimp.com/developer/marketing/docs/errors/";

    public static IResult Ok<T>(T value) => TypedResults.Json(value, Options);

    public static IResult Problem(int status, string title, string detail, IReadOnlyList<FieldError>? errors = null) =>
        TypedResults.Json(
            new ProblemBody(ProblemType, title, status, detail, Guid.NewGuid().ToString(), errors),
            Options,
            "application/problem+json",
            status);

    public static IResult InvalidResource(IReadOnlyList<FieldError> errors) => Problem(
        400, "Invalid Resource",
        "The resource submitted could not be validated. For field-specific details, see the 'errors' array.",
        errors);

    public static IResult NotFound() =>
        Problem(404, "Resource Not Found", "The requested resource could not be found.");
}

public sealed record FieldError(string Field, string Message);

public sealed record ProblemBody(string Type, string Title, int Status, string Detail, string Instance, IReadOnlyList<FieldError>? Errors);
