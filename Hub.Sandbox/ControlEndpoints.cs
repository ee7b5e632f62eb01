using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Sandbox;

/// <summary>The test-tool API under <c>/_control</c>: plain JSON, no auth. See README.md for curl examples.</summary>
public static class ControlEndpoints
{
    public sealed record CreateAccountRequest(string? Name, string? Dc, string? LoginEmail, int? AudienceLimit, int? MaxConcurrentRequests);

    public sealed record UpdateAccountRequest(string? Name, int? AudienceLimit, int? MaxConcurrentRequests);

    public sealed record RegisterAppRequest(string? ClientId, string? ClientSecret, string? RedirectUri);

    public sealed record CredentialResponse(string AccountId, string? ApiKey = null, string? AccessToken = null);

    public sealed record RevokeRequest(string? Credential);

    public sealed record LatencyRequest(int? PerCallMs, int? PerMemberMs);

    public sealed record FaultRequest(string? Route, string? Kind, double? Share, int? Times);

    public sealed record MemberStatusRequest(string? Status);

    /// <summary>Body and answer of the on/off switches (<c>/capture</c>, <c>/strict</c>).</summary>
    public sealed record SwitchRequest(bool? Enabled);

    private static readonly string[] FaultKinds = ["429", "500", "hang"];
    private static readonly string[] DirectStatuses = ["subscribed", "unsubscribed", "cleaned", "pending", "transactional", "archived"];

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
        return state.SetMemberStatusDirect(listId, Uri.UnescapeDataString(emailOrHash), request.Status) is { } member ? Json(member) : NotFound();
    }

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

    private static async Task<T?> ReadAsync<T>(HttpContext http) where T : class
    {
        try
        {
            return await http.Request.ReadFromJsonAsync<T>(SandboxJson.Options, http.RequestAborted);
        }
        catch (Exception e) when (e is System.Text.Json.JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    private static JsonHttpResult<T> Json<T>(T value) => TypedResults.Json(value, SandboxJson.Options);

    private static NoContent NoContent() => TypedResults.NoContent();

    private static IResult NotFound() => SandboxJson.NotFound();

    private static IResult BadRequest(string detail) => SandboxJson.Problem(400, "Bad Request", detail);
}
