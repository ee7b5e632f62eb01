using Microsoft.AspNetCore.Mvc;

namespace Hub.Sandbox;

/// <summary>
/// Mailchimp's list webhooks under <c>/{dc}/3.0/lists/{list_id}/webhooks</c> (spec 3.0.55 operations getListsIdWebhooks,
/// postListsIdWebhooks, getListsIdWebhooksId, patchListsIdWebhooksId, deleteListsIdWebhooksId), with the signing secret
/// of FACTS.md §9. Creating one, or changing its URL, first checks the URL with Mailchimp's validation GET.
/// </summary>
internal static class ListWebhookEndpoints
{
    private const string ValidationFailed = "Your URL didn't respond with a 200 status code to the validation GET.";

    public static void MapListWebhooks(this IEndpointRouteBuilder api)
    {
        api.Route("GET", "/lists/{list_id}/webhooks", "GET webhooks", GetWebhooks);
        api.Route("POST", "/lists/{list_id}/webhooks", "POST webhooks", CreateWebhook);
        api.Route("GET", "/lists/{list_id}/webhooks/{webhook_id}", "GET webhook", GetWebhook);
        api.Route("PATCH", "/lists/{list_id}/webhooks/{webhook_id}", "PATCH webhook", UpdateWebhook);
        api.Route("DELETE", "/lists/{list_id}/webhooks/{webhook_id}", "DELETE webhook", DeleteWebhook);
    }

    private static IResult GetWebhooks(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId)
    {
        if (state.GetWebhooks(SandboxCaller.AccountId(http), listId) is not { } webhooks) return SandboxJson.NotFound();
        var root = $"{ApiBase(http)}/lists/{listId}";
        return SandboxJson.Ok(new WebhooksResponse(webhooks.Select(w => WithLinks(http, w)).ToList(), listId, webhooks.Count,
        [
            new ResourceLink("self", root + "/webhooks", "GET"),
            new ResourceLink("parent", root, "GET"),
            new ResourceLink("create", root + "/webhooks", "POST"),
        ]));
    }

    private static IResult GetWebhook(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "webhook_id")] string webhookId) =>
        state.GetWebhook(SandboxCaller.AccountId(http), listId, webhookId) is { } webhook ? SandboxJson.Ok(WithLinks(http, webhook)) : SandboxJson.NotFound();

    private static async Task<IResult> CreateWebhook(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (!state.ListExists(accountId, listId)) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var input = ReadWebhook(body, create: true);
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        if (!await state.ValidateWebhookUrlAsync(input.Url!, ct)) return SandboxJson.InvalidResource([new FieldError("url", ValidationFailed)]);
        return state.AddWebhook(accountId, listId, input.Url!, input) is { } created ? SandboxJson.Ok(WithLinks(http, created)) : SandboxJson.NotFound();
    }

    /// <summary>Partial, like Mailchimp's PATCH: only what is sent changes, down to a single event or source.</summary>
    private static async Task<IResult> UpdateWebhook(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "webhook_id")] string webhookId, CancellationToken ct)
    {
        var accountId = SandboxCaller.AccountId(http);
        if (state.GetWebhook(accountId, listId, webhookId) is not { } current) return SandboxJson.NotFound();
        var (body, bad) = await SandboxBody.ReadAsync(http.Request, ct);
        if (body is null) return bad!;
        var input = ReadWebhook(body, create: false);
        body.RejectUnknown(state.StrictRequestBodies);
        if (body.Errors.Count > 0) return SandboxJson.InvalidResource(body.Errors);
        if (input.Url is { } url && url != current.Url && !await state.ValidateWebhookUrlAsync(url, ct))
            return SandboxJson.InvalidResource([new FieldError("url", ValidationFailed)]);
        return state.UpdateWebhook(accountId, listId, webhookId, input) is { } updated ? SandboxJson.Ok(WithLinks(http, updated)) : SandboxJson.NotFound();
    }

    private static IResult DeleteWebhook(HttpContext http, SandboxState state, [FromRoute(Name = "list_id")] string listId, [FromRoute(Name = "webhook_id")] string webhookId) =>
        state.DeleteWebhook(SandboxCaller.AccountId(http), listId, webhookId) ? TypedResults.NoContent() : SandboxJson.NotFound();

    /// <summary><c>url</c> (required on create; absolute http or https), <c>events</c> and <c>sources</c> (booleans; one not sent stays as it is, false on create).</summary>
    private static WebhookInput ReadWebhook(SandboxBody body, bool create)
    {
        var url = body.String("url", required: create);
        if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
            body.Errors.Add(new FieldError("url", "This value should be a valid absolute http or https URL."));
        var events = body.Object("events") is { } e ? body.Nested(e, "events") : null;
        var sources = body.Object("sources") is { } s ? body.Nested(s, "sources") : null;
        return new WebhookInput(
            url,
            events?.Bool("subscribe"), events?.Bool("unsubscribe"), events?.Bool("profile"), events?.Bool("cleaned"), events?.Bool("upemail"), events?.Bool("campaign"),
            sources?.Bool("user"), sources?.Bool("admin"), sources?.Bool("api"));
    }

    private static WebhookResponse WithLinks(HttpContext http, WebhookResponse webhook)
    {
        var root = $"{ApiBase(http)}/lists/{webhook.ListId}/webhooks";
        return webhook with
        {
            Links =
            [
                new ResourceLink("self", $"{root}/{webhook.Id}", "GET"),
                new ResourceLink("parent", root, "GET"),
                new ResourceLink("update", $"{root}/{webhook.Id}", "PATCH"),
                new ResourceLink("delete", $"{root}/{webhook.Id}", "DELETE"),
            ],
        };
    }

    /// <summary>The absolute API root the caller used, e.g. <c>http://127.0.0.1:5090/us21/3.0</c>, for <c>_links</c>.</summary>
    private static string ApiBase(HttpContext http)
    {
        var request = http.Request;
        var path = (request.PathBase + request.Path).Value ?? "";
        var api = path.IndexOf("/3.0", StringComparison.Ordinal);
        return $"{request.Scheme}://{request.Host}{(api < 0 ? path : path[..(api + 4)])}";
    }
}
