using System.Text.Json;
using Hub.Api.Hosting;
using Hub.Core.Audiences;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.Features;

namespace Hub.Api.Mailchimp;

/// <summary>
/// <c>/api/v1/mailchimp/{**path}</c>: any Marketing API call with the tenant's credential, so official SDKs
/// work with their base URL set here and the tenant key as access token.
/// </summary>
public static class PassthroughApi
{
    // Only these request headers travel on; auth and hop-by-hop headers never do.
    private static readonly string[] ResponseHeaders = ["X-Request-Id", "Link", "Retry-After"];

    public static RouteGroupBuilder MapPassthroughApi(this RouteGroupBuilder v1)
    {
        v1.MapMethods("/mailchimp/{**path}", ["GET", "POST", "PUT", "PATCH", "DELETE"], Forward)
            .WithTags("Passthrough")
            .Produces(StatusCodes.Status200OK).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .WithRequestExample(new Dictionary<string, object> { ["email_address"] = "ann@customer.example", ["status_if_new"] = "subscribed" });
        return v1;
    }

    /// <summary>Forward a Mailchimp Marketing API call with the tenant's credential.</summary>
    /// <remarks>
    /// The path is relative to <c>/3.0</c> (<c>/api/v1/mailchimp/lists</c> is Mailchimp's <c>GET /3.0/lists</c>), with its query; the answer is
    /// Mailchimp's own, status and body. Official SDKs work with their base URL set here and the tenant key as access token. Writes go only
    /// to managed audiences (403 <c>audience_not_managed</c>), and only when the operator allowed passthrough writes (403
    /// <c>passthrough_write_not_allowed</c>); nothing is sent to Mailchimp then.
    /// </remarks>
    /// <param name="path">The Marketing API path after <c>/3.0/</c>, e.g. <c>lists/0b30051403/members</c>.</param>
    public static async Task Forward(
        string? path, HttpContext context, Tenant tenant, PassthroughRules rules, TenantMailchimp tenantMailchimp, MailchimpClient mailchimp, CancellationToken cancellationToken)
    {
        var method = context.Request.Method;
        var rawTarget = context.Features.Get<IHttpRequestFeature>()?.RawTarget ?? context.Request.Path;
        var decision = await rules.DecideAsync(tenant, method, path ?? "", rawTarget, cancellationToken);
        if (decision.Refusal is { } refusal)
        {
            await refusal.ToProblem().ExecuteAsync(context);
            return;
        }

        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            await error!.ToProblem().ExecuteAsync(context);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(method), new Uri(path + context.Request.QueryString, UriKind.Relative));
        if (context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0)
        {
            // Buffered (Kestrel caps it at 1 MiB) so an idempotent call can be retried with its body.
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer, cancellationToken);
            request.Content = new ByteArrayContent(buffer.ToArray());
            if (context.Request.ContentType is { } contentType)
            {
                request.Content.Headers.TryAddWithoutValidation("Content-Type", contentType);
            }
        }

        var sent = await mailchimp.SendAsync(credential, request, cancellationToken);
        if (!sent.IsSuccess)
        {
            await sent.Error.ToProblem().ExecuteAsync(context);
            return;
        }

        using var response = sent.Value;
        context.Response.StatusCode = (int)response.StatusCode;
        foreach (var header in ResponseHeaders)
        {
            if (response.Headers.TryGetValues(header, out var values))
            {
                context.Response.Headers[header] = values.ToArray();
            }
        }

        if (response.Content.Headers.ContentType is { } responseType)
        {
            context.Response.ContentType = responseType.ToString();
        }

        var succeeded = response.IsSuccessStatusCode;
        if (decision.RegistersNewAudience && succeeded)
        {
            var body = await response.Content.ReadAsByteArrayAsync(cancellationToken);
            if (JsonDocument.Parse(body).RootElement.TryGetProperty("id", out var id) && id.GetString() is { } audienceId)
            {
                await tenantMailchimp.AddCreatedAsync(tenant.Id, audienceId, cancellationToken);
            }

            await context.Response.Body.WriteAsync(body, cancellationToken);
            return;
        }

        if (decision.DeletesAudience is { } deleted && succeeded)
        {
            await tenantMailchimp.RemoveManagedAsync(tenant.Id, deleted, cancellationToken);
        }

        await response.Content.CopyToAsync(context.Response.Body, cancellationToken);
    }
}
