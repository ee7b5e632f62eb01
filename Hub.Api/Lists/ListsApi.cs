using System.Text.Json;
using Hub.Api.Hosting;
using Hub.Core.Storage;
using Hub.Core.Lists;
using Hub.Api.Jobs;
using Hub.Core.Jobs;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.Lists;

/// <summary>Host lists linked to managed audiences or tags, and their members.</summary>
public static class ListsApi
{
    public static RouteGroupBuilder MapListsApi(this RouteGroupBuilder v1)
    {
        var lists = v1.MapGroup("/lists").WithTags("Lists").WithListKeyRoutes()
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        lists.MapPost("/", LinkList).Produces<ListResponse>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary("Link a host list, by its own key, to a managed audience (new or existing) or to a tag in one.")
            .WithRequestExample(new
            {
                key = "newsletter", name = "Newsletter", mode = "tag", audienceId = "a1b2c3d4e5", tag = "Newsletter", defaultStatus = "pending", removalPolicy = "archive",
                fields = new object[]
                {
                    new { tag = "COMPANY", name = "Company", type = "text", required = false },
                    new { tag = "BIRTHDAY", name = "Birthday", type = "birthday", dateFormat = "DD/MM" },
                    new { tag = "LEVEL", name = "Level", type = "dropdown", choices = new[] { "Bronze", "Silver", "Gold" } },
                },
            });
        lists.MapGet("/", ListLists).Produces<List<ListResponse>>().WithSummary("All lists with member counts and last-sync status.");
        lists.MapGet("/{key}", GetList).Produces<ListResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        lists.MapPatch("/{key}", UpdateList).Produces<ListResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Change a list's name, default status, removal policy, declared fields or (mode audience) its audience's permission reminder.")
            .WithRequestExample(new { name = "Weekly newsletter", defaultStatus = "pending", removalPolicy = "unsubscribe", fields = new[] { new { tag = "COMPANY", name = "Company name", type = "text" } } });
        lists.MapDelete("/{key}", UnlinkList).Produces(StatusCodes.Status204NoContent).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Unlink a list. Tag mode untags the members Hub tagged; ?deleteAudience=true deletes an audience-mode list's audience.");

        var members = lists.MapGroup("/{key}/members").WithTags("Members");
        members.MapPost("/", UpsertMember).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Add or update one member (status_if_new from the list's default status: an unsubscribed person is never re-subscribed).")
            .WithRequestExample(new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann", LNAME = "Lee" }, tags = new[] { "gold" }, language = "en", vip = false, status = "subscribed" });
        members.MapGet("/", PageMembers).Produces<MemberPage>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Page through the list's members; pass nextCursor back as cursor.");
        members.MapGet("/{email}", GetMember).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        members.MapPatch("/{email}", ChangeMemberEmail).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithSummary("Change a member's address: the same Mailchimp contact, status and history under the new email (email_in_use when it is another contact's).")
            .WithRequestExample(new { email = "ann.lee@customer.example" });
        members.MapDelete("/{email}", RemoveMember).Produces(StatusCodes.Status204NoContent).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithSummary("Remove one member: ?mode=archive (default), unsubscribe or permanent. Tag mode removes the tag.");
        members.MapPost("/batch", BatchMembers).Produces<BatchMembersResponse>().Produces<JobAcceptedResponse>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithSummary($"Add and remove members: up to {MemberService.MaxInlineBatch} answered inline with a result per member, more as a background job (202).")
            .WithRequestExample(new { add = new[] { new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann" } } }, remove = new[] { "bob@customer.example" }, removeMode = "archive" });
        members.MapPut("/", MirrorMembers).WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute()).Produces<JobAcceptedResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .Accepts<List<System.Text.Json.JsonElement>>("application/json", "application/x-ndjson")
            .WithSummary("Replace the list's whole membership (JSON array or NDJSON stream, any size): a background sync job (202). ?allowEmpty=true allows an empty set; ?reconcile=true reads the audience first.")
            .WithRequestExample(new[] { new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann" } }, new { email = "bob@customer.example", mergeFields = new { FNAME = "Bob" } } });
        return v1;
    }

    public static async Task<Results<Created<ListResponse>, ProblemHttpResult>> LinkList(LinkListRequest request, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var linked = await lists.LinkAsync(tenant, request.ToLink(), cancellationToken);
        return linked.IsSuccess
            ? TypedResults.Created($"/api/v1/lists/{linked.Value.List.Key}", ListResponse.From(linked.Value))
            : linked.Error.ToProblem();
    }

    public static async Task<Ok<List<ListResponse>>> ListLists(Tenant tenant, ListService lists, CancellationToken cancellationToken) =>
        TypedResults.Ok((await lists.ListAsync(tenant, cancellationToken)).Select(ListResponse.From).ToList());

    public static async Task<Results<Ok<ListResponse>, ProblemHttpResult>> GetList(ListKey key, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var list = await lists.GetAsync(tenant, key, cancellationToken);
        return list.IsSuccess ? TypedResults.Ok(ListResponse.From(list.Value)) : list.Error.ToProblem();
    }

    public static async Task<Results<Ok<ListResponse>, ProblemHttpResult>> UpdateList(ListKey key, UpdateListRequest request, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var updated = await lists.UpdateAsync(tenant, key, request.ToChanges(), cancellationToken);
        return updated.IsSuccess ? TypedResults.Ok(ListResponse.From(updated.Value)) : updated.Error.ToProblem();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> UnlinkList(ListKey key, Tenant tenant, ListService lists, CancellationToken cancellationToken, bool deleteAudience = false)
    {
        var unlinked = await lists.UnlinkAsync(tenant, key, deleteAudience, cancellationToken);
        return unlinked.IsSuccess ? TypedResults.NoContent() : unlinked.Error.ToProblem();
    }

    public static async Task<Results<Ok<MemberView>, ValidationProblem, ProblemHttpResult>> UpsertMember(ListKey key, JsonElement body, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        if (!DesiredMember.IsReadableText(body))
        {
            return NotText("$");
        }

        var member = await members.UpsertAsync(tenant, key, body, cancellationToken);
        return member.IsSuccess ? TypedResults.Ok(member.Value) : member.Error.ToProblem();
    }

    public static async Task<Results<Ok<MemberPage>, ProblemHttpResult>> PageMembers(ListKey key, Tenant tenant, MemberService members, CancellationToken cancellationToken, string? cursor = null, int limit = 100)
    {
        var page = await members.PageAsync(tenant, key, cursor, limit, cancellationToken);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error.ToProblem();
    }

    public static async Task<Results<Ok<MemberView>, ProblemHttpResult>> GetMember(ListKey key, string email, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        var member = await members.GetAsync(tenant, key, email, cancellationToken);
        return member.IsSuccess ? TypedResults.Ok(member.Value) : member.Error.ToProblem();
    }

    public static async Task<Results<Ok<MemberView>, ProblemHttpResult>> ChangeMemberEmail(
        ListKey key, string email, ChangeEmailRequest request, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        var changed = await members.ChangeEmailAsync(tenant, key, email, request.Email ?? "", cancellationToken);
        return changed.IsSuccess ? TypedResults.Ok(changed.Value) : changed.Error.ToProblem();
    }

    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> RemoveMember(ListKey key, string email, Tenant tenant, MemberService members, CancellationToken cancellationToken, string? mode = null)
    {
        if (ParseRemovalMode(mode) is not { } removalMode)
        {
            return InvalidRemovalMode("mode");
        }

        var removed = await members.RemoveAsync(tenant, key, email, removalMode, cancellationToken);
        return removed.IsSuccess ? TypedResults.NoContent() : removed.Error.ToProblem();
    }

    public static async Task<Results<Ok<BatchMembersResponse>, Accepted<JobAcceptedResponse>, ValidationProblem, ProblemHttpResult>> BatchMembers(
        ListKey key, BatchMembersRequest request, Tenant tenant, MemberService members, SyncService sync, CancellationToken cancellationToken)
    {
        if (ParseRemovalMode(request.RemoveMode) is not { } removalMode)
        {
            return InvalidRemovalMode("removeMode");
        }

        for (var i = 0; i < (request.Add?.Count ?? 0); i++)
        {
            if (!DesiredMember.IsReadableText(request.Add![i]))
            {
                return NotText($"add[{i}]");
            }
        }

        var total = (request.Add?.Count ?? 0) + (request.Remove?.Count ?? 0);
        if (total == 0)
        {
            return Problems.Validation(new Dictionary<string, string[]> { ["add"] = ["Give members to add or emails to remove."] });
        }

        if (total > MemberService.MaxInlineBatch)
        {
            var started = await sync.BatchAsync(tenant, key, request.Add ?? [], request.Remove ?? [], request.RemoveMode, cancellationToken);
            return started.IsSuccess ? Accepted(started.Value) : started.Error.ToProblem();
        }

        var outcome = await members.BatchAsync(tenant, key, request.Add ?? [], request.Remove ?? [], removalMode, cancellationToken);
        if (!outcome.IsSuccess)
        {
            return outcome.Error.ToProblem();
        }

        var results = outcome.Value.Select(result => new MemberOutcomeResponse(result.Email, result.Result,
            result.Error is { } error ? MemberErrorResponse.From(error) : null)).ToList();
        return TypedResults.Ok(new BatchMembersResponse(results.Count(r => r.Error is null), results.Count(r => r.Error is not null), results));
    }

    /// <summary>The full mirror: streams the body (no 1 MiB limit: the endpoint's metadata lifts it) into a sync job.</summary>
    public static async Task<Results<Accepted<JobAcceptedResponse>, ProblemHttpResult>> MirrorMembers(
        ListKey key, HttpRequest request, Tenant tenant, SyncService sync, CancellationToken cancellationToken, bool allowEmpty = false, bool reconcile = false)
    {
        var format = request.ContentType?.Split(';')[0].Trim().ToLowerInvariant() switch
        {
            "application/x-ndjson" or "application/ndjson" or "application/jsonl" => DesiredSetFormat.Ndjson,
            "application/json" => DesiredSetFormat.Detect,
            _ => (DesiredSetFormat?)null,
        };
        if (format is null)
        {
            return Problems.Create(StatusCodes.Status415UnsupportedMediaType, "unsupported_media_type", "Unsupported media type",
                "Send the members as application/json (an array) or application/x-ndjson (one member per line).");
        }

        var started = await sync.MirrorAsync(tenant, key, request.Body, format.Value, allowEmpty, reconcile, cancellationToken);
        return started.IsSuccess ? Accepted(started.Value) : started.Error.ToProblem();
    }

    private static Accepted<JobAcceptedResponse> Accepted(SyncStarted started) => TypedResults.Accepted(
        $"/api/v1/jobs/{started.Job.Id}",
        new JobAcceptedResponse(started.Job.Id.ToString(), started.Job.State.ToName(), $"/api/v1/jobs/{started.Job.Id}", started.Superseded?.ToString()));

    private static RemovalMode? ParseRemovalMode(string? mode) =>
        mode is null ? RemovalMode.Archive : SnakeCase<RemovalMode>.TryParse(mode, out var parsed) ? parsed : null;

    private static ValidationProblem InvalidRemovalMode(string field) =>
        Problems.Validation(new Dictionary<string, string[]> { [field] = ["One of archive (default), unsubscribe or permanent."] });

    private static ValidationProblem NotText(string field) => Problems.Validation(new Dictionary<string, string[]>
    {
        [field] = ["Not readable as text: the body must be valid UTF-8, and a \\u escape may not name half a surrogate pair."],
    });
}
