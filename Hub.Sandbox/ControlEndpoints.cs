using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Sandbox;

/// <summary>
/// The test-tool API under <c>/_control</c>: plain JSON, no auth. Bodies are snake_case; camelCase names are accepted too.
/// See README.md for curl examples.
/// </summary>
public static class ControlEndpoints
{
    public sealed record CreateAccountRequest(string? Name, string? Dc, string? LoginEmail, int? AudienceLimit, int? MaxConcurrentRequests);

    public sealed record UpdateAccountRequest(string? Name, int? AudienceLimit, int? MaxConcurrentRequests);

    public sealed record RegisterAppRequest(string? ClientId, string? ClientSecret, string? RedirectUri);

    public sealed record CredentialResponse(string AccountId, string? ApiKey = null, string? AccessToken = null);

    public sealed record RevokeRequest(string? Credential);

    public sealed record LatencyRequest(int? PerCallMs, int? PerMemberMs);

    public sealed record FaultRequest(string? Route, string? Kind, double? Share, int? Times);

    /// <summary>
    /// <c>source</c> (user or admin, default user) is whose action it was, for the list webhooks' sources; <c>reason</c> goes
    /// with unsubscribed (manual or abuse, default manual) and cleaned (hard or abuse, default hard); <c>campaign_id</c> is
    /// the campaign the unsubscribe or bounce came from.
    /// </summary>
    public sealed record MemberStatusRequest(string? Status, string? Source = null, string? Reason = null, string? CampaignId = null);

    public sealed record MemberEmailRequest(string? Email, string? Source = null);

    public sealed record MemberMergeFieldsRequest(Dictionary<string, JsonNode?>? MergeFields, string? Source = null);

    /// <summary>Body and answer of the on/off switches (<c>/capture</c>, <c>/strict</c>).</summary>
    public sealed record SwitchRequest(bool? Enabled);

    private static readonly string[] FaultKinds = ["429", "500", "hang"];
    private static readonly string[] DirectStatuses = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"];
    private static readonly string[] DirectSources = [WebhookSourceNames.User, WebhookSourceNames.Admin];
    private static readonly string[] UnsubscribeReasons = ["manual", "abuse"];
    private static readonly string[] CleanReasons = ["hard", "abuse"];

    public static RouteGroupBuilder MapSandboxControl(this IEndpointRouteBuilder app)
    {
        var control = app.MapGroup("/_control");
        control.MapGet("/accounts", (SandboxState state) => Json(state.GetAccounts()));
        control.MapPost("/accounts", CreateAccount);
        control.MapGet("/accounts/{accountId}", (string accountId, SandboxState state) => state.GetAccount(accountId) is { } a ? Json(a) : NotFound());
        control.MapPatch("/accounts/{accountId}", UpdateAccount);
        control.MapPost("/accounts/{accountId}/api-keys", (string accountId, SandboxState state) =>
            state.CreateApiKey(accountId) is { } key ? Json(new CredentialResponse(accountId, ApiKey: key)) : NotFound());
        control.MapPost("/accounts/{accountId}/tokens", (string accountId, SandboxState state) =>
            state.MintToken(accountId) is { } token ? Json(new CredentialResponse(accountId, AccessToken: token)) : NotFound());
        control.MapPost("/apps", RegisterApp);
        control.MapPost("/revoke", Revoke);

        control.MapGet("/lists", (string? accountId, SandboxState state) => Json(state.GetListSummaries(accountId)));
        control.MapGet("/lists/{listId}/members", (string listId, SandboxState state) => state.GetMembersDirect(listId) is { } m ? Json(m) : NotFound());
        control.MapPut("/lists/{listId}/members/{emailOrHash}", SetMemberStatus);
        control.MapPatch("/lists/{listId}/members/{emailOrHash}", SetMergeFields);
        control.MapPost("/lists/{listId}/members/{emailOrHash}/email", ChangeEmail);
        control.MapGet("/webhooks", (string? listId, SandboxState state) => Json(state.GetWebhooksDirect(listId)));
        control.MapGet("/webhook-deliveries", GetWebhookDeliveries);

        control.MapGet("/latency", (SandboxState state) => Json(state.GetLatency()));
        control.MapPut("/latency", SetLatency);
        control.MapGet("/faults", (SandboxState state) => Json(state.GetFaults()));
        control.MapPost("/faults", AddFault);
        control.MapDelete("/faults", (SandboxState state) => { state.ClearFaults(); return NoContent(); });
        control.MapDelete("/faults/{id}", (string id, SandboxState state) => state.RemoveFault(id) ? NoContent() : NotFound());

        control.MapGet("/capture", (SandboxState state) => Json(new SwitchRequest(state.CaptureRequests)));
        control.MapPut("/capture", async (HttpContext http, SandboxState state) =>
            await ReadAsync<SwitchRequest>(http) is { Enabled: { } on } ? Json(new SwitchRequest(state.CaptureRequests = on)) : BadRequest("enabled (true or false) is required."));
        control.MapGet("/requests", (SandboxState state) => Json(state.GetCapturedRequests()));
        control.MapDelete("/requests", (SandboxState state) => { state.ClearCapturedRequests(); return NoContent(); });
        control.MapGet("/strict", (SandboxState state) => Json(new SwitchRequest(state.StrictRequestBodies)));
        control.MapPut("/strict", async (HttpContext http, SandboxState state) =>
            await ReadAsync<SwitchRequest>(http) is { Enabled: { } on } ? Json(new SwitchRequest(state.StrictRequestBodies = on)) : BadRequest("enabled (true or false) is required."));

        control.MapGet("/counters", (SandboxState state) => Json(state.GetCounters()));
        control.MapPost("/counters/reset", (SandboxState state) => { state.ResetCounters(); return NoContent(); });
        control.MapPost("/reset", (SandboxState state) => { state.Reset(); return NoContent(); });

        return control;
    }

    private static async Task<IResult> CreateAccount(HttpContext http, SandboxState state)
    {
        if (await ReadAsync<CreateAccountRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        if (string.IsNullOrWhiteSpace(request.Name) || string.IsNullOrWhiteSpace(request.Dc))
            return BadRequest("name and dc are required.");
        return Json(state.CreateAccount(request.Name!, request.Dc!, request.LoginEmail, request.AudienceLimit, request.MaxConcurrentRequests));
    }

    private static async Task<IResult> UpdateAccount(string accountId, HttpContext http, SandboxState state)
    {
        if (await ReadAsync<UpdateAccountRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        return state.UpdateAccount(accountId, request.Name, request.AudienceLimit, request.MaxConcurrentRequests) is { } account ? Json(account) : NotFound();
    }

    private static async Task<IResult> RegisterApp(HttpContext http, SandboxState state)
    {
        if (await ReadAsync<RegisterAppRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        if (string.IsNullOrWhiteSpace(request.ClientId) || string.IsNullOrWhiteSpace(request.ClientSecret) || string.IsNullOrWhiteSpace(request.RedirectUri))
            return BadRequest("client_id, client_secret and redirect_uri are required.");
        return Json(state.RegisterApp(request.ClientId!, request.ClientSecret!, request.RedirectUri!));
    }

    private static async Task<IResult> SetMemberStatus(string listId, string emailOrHash, HttpContext http, SandboxState state)
    {
        if (await ReadAsync<MemberStatusRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        if (request.Status is null || !DirectStatuses.Contains(request.Status)) return BadRequest($"status must be one of: {string.Join(", ", DirectStatuses)}.");
        if (Source(request.Source) is not { } source) return BadSource();
        var reasons = request.Status switch { "unsubscribed" => UnsubscribeReasons, "cleaned" => CleanReasons, _ => null };
        if (request.Reason is not null && reasons is not null && !reasons.Contains(request.Reason))
            return BadRequest($"reason must be one of: {string.Join(", ", reasons)}.");
        var origin = new ChangeOrigin(source, reasons is null ? null : request.Reason, request.CampaignId);
        return state.SetMemberStatusDirect(listId, Uri.UnescapeDataString(emailOrHash), request.Status, origin) is { } member ? Json(member) : NotFound();
    }

    private static async Task<IResult> SetMergeFields(string listId, string emailOrHash, HttpContext http, SandboxState state)
    {
        if (await ReadAsync<MemberMergeFieldsRequest>(http) is not { MergeFields: { } fields } request) return BadRequest("merge_fields (an object) is required.");
        if (Source(request.Source) is not { } source) return BadSource();
        return state.SetMergeFieldsDirect(listId, Uri.UnescapeDataString(emailOrHash), fields, new ChangeOrigin(source)) is { } member ? Json(member) : NotFound();
    }

    private static async Task<IResult> ChangeEmail(string listId, string emailOrHash, HttpContext http, SandboxState state)
    {
        if (await ReadAsync<MemberEmailRequest>(http) is not { Email: { } email } request) return BadRequest("email is required.");
        if (Source(request.Source) is not { } source) return BadSource();
        var (member, problem) = state.ChangeEmailDirect(listId, Uri.UnescapeDataString(emailOrHash), email, new ChangeOrigin(source));
        return problem is not null ? BadRequest(problem) : member is not null ? Json(member) : NotFound();
    }

    private static IResult GetWebhookDeliveries(HttpContext http, SandboxState state, string? webhookId)
    {
        var text = http.Request.Query["limit"].ToString();
        if (text.Length == 0) return Json(state.GetWebhookDeliveries(webhookId: webhookId));
        return int.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, out var limit) && limit >= 0
            ? Json(state.GetWebhookDeliveries(limit, webhookId))
            : BadRequest("limit must be a whole number of at least 0.");
    }

    /// <summary>The change's source: user (the default) or admin; null when it is neither.</summary>
    private static string? Source(string? source) => source is null ? WebhookSourceNames.User : DirectSources.FirstOrDefault(s => s == source);

    private static IResult BadSource() => BadRequest($"source must be one of: {string.Join(", ", DirectSources)}.");

    private static async Task<IResult> SetLatency(HttpContext http, SandboxState state)
    {
        if (await ReadAsync<LatencyRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        var current = state.GetLatency();
        state.SetLatency(TimeSpan.FromMilliseconds(request.PerCallMs ?? current.PerCallMs), TimeSpan.FromMilliseconds(request.PerMemberMs ?? current.PerMemberMs));
        return Json(state.GetLatency());
    }

    private static async Task<IResult> AddFault(HttpContext http, SandboxState state)
    {
        if (await ReadAsync<FaultRequest>(http) is not { } request) return BadRequest("The body must be a JSON object.");
        if (string.IsNullOrWhiteSpace(request.Route)) return BadRequest("route is required (e.g. \"PUT member\", \"POST /lists/{list_id}\" or \"*\").");
        if (request.Kind is null || !FaultKinds.Contains(request.Kind)) return BadRequest("kind must be one of: 429, 500, hang.");
        if (request.Share is < 0 or > 1) return BadRequest("share must be between 0 and 1.");
        return Json(state.AddFault(request.Route!, request.Kind, request.Share ?? 1, request.Times));
    }

    private static async Task<IResult> Revoke(HttpContext http, SandboxState state)
    {
        if (await ReadAsync<RevokeRequest>(http) is not { Credential: { } credential }) return BadRequest("credential is required.");
        return state.Revoke(credential) ? NoContent() : NotFound();
    }

    /// <summary>The body as <typeparamref name="T"/>; top-level names in camelCase are read as their snake_case.</summary>
    private static async Task<T?> ReadAsync<T>(HttpContext http) where T : class
    {
        try
        {
            if (await JsonNode.ParseAsync(http.Request.Body, cancellationToken: http.RequestAborted) is not JsonObject body) return null;
            var snake = new JsonObject();
            foreach (var (name, value) in body.ToList())
            {
                body.Remove(name);
                snake[JsonNamingPolicy.SnakeCaseLower.ConvertName(name)] = value;
            }
            return snake.Deserialize<T>(SandboxJson.Options);
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static JsonHttpResult<T> Json<T>(T value) => TypedResults.Json(value, SandboxJson.Options);

    private static NoContent NoContent() => TypedResults.NoContent();

    private static IResult NotFound() => SandboxJson.NotFound();

    private static IResult BadRequest(string detail) => SandboxJson.Problem(400, "Bad Request", detail);
}
