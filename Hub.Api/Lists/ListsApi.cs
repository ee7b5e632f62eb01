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
using Microsoft.Extensions.Options;

namespace Hub.Api.Lists;

/// <summary>Host lists linked to managed audiences or tags, and their members.</summary>
public static class ListsApi
{
    private const int MaxListPageSize = 200;

    public static RouteGroupBuilder MapListsApi(this RouteGroupBuilder v1)
    {
        var lists = v1.MapGroup("/lists").WithTags("Lists").WithListKeyRoutes()
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        lists.MapPost("/", LinkList).Produces<ListResponse>(StatusCodes.Status201Created).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
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
        lists.MapGet("/", ListLists).Produces<Page<ListResponse>>().ProducesValidationProblem();
        lists.MapGet("/{key}", GetList).Produces<ListResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        lists.MapPatch("/{key}", UpdateList).Produces<ListResponse>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample(new { name = "Weekly newsletter", defaultStatus = "pending", removalPolicy = "unsubscribe", fields = new[] { new { tag = "COMPANY", name = "Company name", type = "text" } } });
        lists.MapDelete("/{key}", UnlinkList).Produces(StatusCodes.Status204NoContent).ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);

        var members = lists.MapGroup("/{key}/members").WithTags("Members");
        members.MapPost("/", UpsertMember).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .WithRequestExample(new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann", LNAME = "Lee" }, tags = new[] { "gold" }, language = "en", vip = false, status = "subscribed" });
        members.MapGet("/", PageMembers).Produces<Page<MemberView>>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        members.MapGet("/{email}", GetMember).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound);
        members.MapPatch("/{email}", ChangeMemberEmail).Produces<MemberView>().ProducesValidationProblem().ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .WithRequestExample(new { email = "ann.lee@customer.example" });
        members.MapDelete("/{email}", RemoveMember).Produces(StatusCodes.Status204NoContent).ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound);
        members.MapPost("/batch", BatchMembers).Produces<BatchMembersResponse>().Produces<JobAcceptedResponse>(StatusCodes.Status202Accepted)
            .ProducesValidationProblem().ProducesProblem(StatusCodes.Status403Forbidden)
            .WithRequestExample(new { add = new[] { new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann" } } }, remove = new[] { "bob@customer.example" }, removeMode = "archive" });
        members.MapPut("/", MirrorMembers).WithMetadata(new Microsoft.AspNetCore.Mvc.DisableRequestSizeLimitAttribute()).Produces<JobAcceptedResponse>(StatusCodes.Status202Accepted).ProducesValidationProblem()
            .ProducesProblem(StatusCodes.Status403Forbidden).ProducesProblem(StatusCodes.Status404NotFound)
            .Accepts<List<System.Text.Json.JsonElement>>("application/json", "application/x-ndjson")
            .WithRequestExample(new[] { new { email = "ann@customer.example", mergeFields = new { FNAME = "Ann" } }, new { email = "bob@customer.example", mergeFields = new { FNAME = "Bob" } } });
        return v1;
    }

    /// <summary>Link a host list to a managed audience or to a tag in one.</summary>
    /// <remarks>
    /// The host names the list by its own <c>key</c>. <c>mode</c> <c>audience</c> makes the list a whole audience (give
    /// <c>audienceId</c> of a managed audience, or <c>newAudience</c> to create one with the tenant's defaults); <c>tag</c> makes it a tag in
    /// a shared managed audience. <c>fields</c> are provisioned as the audience's merge fields. 409 <c>list_exists</c> for a key in use.
    /// </remarks>
    public static async Task<Results<Created<ListResponse>, ProblemHttpResult>> LinkList(LinkListRequest request, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var linked = await lists.LinkAsync(tenant, request.ToLink(), cancellationToken);
        return linked.IsSuccess
            ? TypedResults.Created($"/api/v1/lists/{linked.Value.List.Key}", ListResponse.From(linked.Value))
            : linked.Error.ToProblem();
    }

    /// <summary>List the tenant's lists.</summary>
    /// <remarks>Every linked list with its member count, last sync and declared fields, by key: a page with <c>total</c>.</remarks>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the first page.</param>
    /// <param name="limit">Page size, 1 to 200.</param>
    public static async Task<Results<Ok<Page<ListResponse>>, ValidationProblem>> ListLists(
        Tenant tenant, ListService lists, CancellationToken cancellationToken, string? cursor = null, int limit = 100)
    {
        if (Paging.Check(cursor, limit, MaxListPageSize, out var after) is { } invalid)
        {
            return Problems.Paging(invalid);
        }

        return TypedResults.Ok((await lists.ListAsync(tenant, after, limit, cancellationToken)).Map(ListResponse.From));
    }

    /// <summary>Read a list.</summary>
    /// <remarks>Its mode, audience, member count (members Hub synced), last sync and declared fields. 404 <c>list_not_found</c> for an unknown key.</remarks>
    /// <param name="key">The host's key of the list (<c>[A-Za-z0-9._:-]{1,100}</c>).</param>
    public static async Task<Results<Ok<ListResponse>, ProblemHttpResult>> GetList(ListKey key, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var list = await lists.GetAsync(tenant, key, cancellationToken);
        return list.IsSuccess ? TypedResults.Ok(ListResponse.From(list.Value)) : list.Error.ToProblem();
    }

    /// <summary>Change a list.</summary>
    /// <remarks>
    /// Only the fields sent change: name, default status, removal policy, declared fields (replacing the declaration; a field left out
    /// stays in the audience) and, in audience mode, the audience's permission reminder.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    public static async Task<Results<Ok<ListResponse>, ProblemHttpResult>> UpdateList(ListKey key, UpdateListRequest request, Tenant tenant, ListService lists, CancellationToken cancellationToken)
    {
        var updated = await lists.UpdateAsync(tenant, key, request.ToChanges(), cancellationToken);
        return updated.IsSuccess ? TypedResults.Ok(ListResponse.From(updated.Value)) : updated.Error.ToProblem();
    }

    /// <summary>Unlink a list.</summary>
    /// <remarks>
    /// Tag mode removes the tag from the members Hub tagged (the contacts stay). Audience mode keeps the audience unless
    /// <c>deleteAudience</c> is true, which deletes it in Mailchimp (only an audience Hub created; 403 <c>audience_not_created_by_hub</c>
    /// otherwise, and the list stays linked). Then Hub sends the signed webhook <c>list.unlinked</c>.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="deleteAudience">Audience mode: also delete the audience in Mailchimp (irreversible).</param>
    public static async Task<Results<NoContent, ProblemHttpResult>> UnlinkList(ListKey key, Tenant tenant, ListService lists, CancellationToken cancellationToken, bool deleteAudience = false)
    {
        var unlinked = await lists.UnlinkAsync(tenant, key, deleteAudience, cancellationToken);
        return unlinked.IsSuccess ? TypedResults.NoContent() : unlinked.Error.ToProblem();
    }

    /// <summary>Add or update one member.</summary>
    /// <remarks>
    /// A new contact gets <c>status</c> or the list's default status; an existing contact's status is never changed, so someone who
    /// unsubscribed is never re-subscribed. Body: <c>email</c>, <c>mergeFields</c>, <c>tags</c>, <c>language</c>, <c>vip</c>, <c>status</c>
    /// and <c>externalId</c> (the host's stable id: a known one with a new address changes the contact's address). 409
    /// <c>person_erased</c> for an erased address.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    public static async Task<Results<Ok<MemberView>, ValidationProblem, ProblemHttpResult>> UpsertMember(ListKey key, JsonElement body, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        if (!DesiredMember.IsReadableText(body))
        {
            return NotText("$");
        }

        var member = await members.UpsertAsync(tenant, key, body, cancellationToken);
        return member.IsSuccess ? TypedResults.Ok(member.Value) : member.Error.ToProblem();
    }

    /// <summary>Page through a list's members.</summary>
    /// <remarks>
    /// Read from Mailchimp; pass <c>nextCursor</c> back as <c>cursor</c>. In audience mode the page has <c>total</c>; in tag mode it has
    /// none, and a page can hold fewer than <c>limit</c> (the tagged members of one page of the audience).
    /// </remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="cursor">The <c>nextCursor</c> of the previous page; absent: the first page.</param>
    /// <param name="limit">Page size, 1 to 1000.</param>
    public static async Task<Results<Ok<Page<MemberView>>, ProblemHttpResult>> PageMembers(ListKey key, Tenant tenant, MemberService members, CancellationToken cancellationToken, string? cursor = null, int limit = 100)
    {
        var page = await members.PageAsync(tenant, key, cursor, limit, cancellationToken);
        return page.IsSuccess ? TypedResults.Ok(page.Value) : page.Error.ToProblem();
    }

    /// <summary>Read one member.</summary>
    /// <remarks>404 <c>member_not_in_list</c> when the contact is not in the list (in tag mode: does not carry its tag).</remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="email">The member's address.</param>
    public static async Task<Results<Ok<MemberView>, ProblemHttpResult>> GetMember(ListKey key, string email, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        var member = await members.GetAsync(tenant, key, email, cancellationToken);
        return member.IsSuccess ? TypedResults.Ok(member.Value) : member.Error.ToProblem();
    }

    /// <summary>Change a member's address.</summary>
    /// <remarks>
    /// The same Mailchimp contact keeps its status (an unsubscribe stays), tags and history under the new address; Hub's records in
    /// every list of the audience follow. 409 <c>email_in_use</c> when the new address is another contact of the audience.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="email">The member's current address.</param>
    public static async Task<Results<Ok<MemberView>, ProblemHttpResult>> ChangeMemberEmail(
        ListKey key, string email, ChangeEmailRequest request, Tenant tenant, MemberService members, CancellationToken cancellationToken)
    {
        var changed = await members.ChangeEmailAsync(tenant, key, email, request.Email ?? "", cancellationToken);
        return changed.IsSuccess ? TypedResults.Ok(changed.Value) : changed.Error.ToProblem();
    }

    /// <summary>Remove one member.</summary>
    /// <remarks>
    /// <c>archive</c> (default) keeps the contact re-addable, <c>unsubscribe</c> keeps it unsubscribed, <c>permanent</c> erases it (Mailchimp
    /// refuses to re-import the address afterwards). Tag mode removes the tag, and applies the mode only when no other Hub list of the
    /// audience holds the member and Hub added it.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="email">The member's address.</param>
    /// <param name="mode">How to remove.</param>
    public static async Task<Results<NoContent, ValidationProblem, ProblemHttpResult>> RemoveMember(ListKey key, string email, Tenant tenant, MemberService members, CancellationToken cancellationToken, [OneOf<RemovalMode>] string? mode = null)
    {
        if (ParseRemovalMode(mode) is not { } removalMode)
        {
            return InvalidRemovalMode("mode");
        }

        var removed = await members.RemoveAsync(tenant, key, email, removalMode, cancellationToken);
        return removed.IsSuccess ? TypedResults.NoContent() : removed.Error.ToProblem();
    }

    /// <summary>Add and remove members in one request.</summary>
    /// <remarks>
    /// Up to 200 adds and removes are answered at once (200) with a result per member (<c>added</c>, <c>updated</c>, <c>removed</c>,
    /// <c>failed</c> with a problem); one member's failure does not stop the others. More becomes a background job (202): follow its
    /// <c>statusUrl</c>.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    public static async Task<Results<Ok<BatchMembersResponse>, Accepted<JobAcceptedResponse>, ValidationProblem, ProblemHttpResult>> BatchMembers(
        ListKey key, BatchMembersRequest request, Tenant tenant, MemberService members, SyncService sync, IOptions<HubOptions> hub, CancellationToken cancellationToken)
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
            return started.IsSuccess ? Accepted(started.Value, hub.Value) : started.Error.ToProblem();
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
    /// <summary>Replace a list's whole membership (full sync).</summary>
    /// <remarks>
    /// The body is the complete desired set, as a JSON array or NDJSON (one member per line), of any size: streamed into a background
    /// sync job (202) that adds, updates and removes (by the list's removal policy, only members Hub added) until Mailchimp matches. A
    /// newer sync of the same list replaces a queued one (<c>superseded</c>). An empty set is refused unless <c>allowEmpty</c>.
    /// </remarks>
    /// <param name="key">The list's key.</param>
    /// <param name="allowEmpty">Allow an empty set, which removes every member Hub added.</param>
    /// <param name="reconcile">Read the audience from Mailchimp first instead of trusting Hub's ledger (after changes made outside Hub).</param>
    public static async Task<Results<Accepted<JobAcceptedResponse>, ProblemHttpResult>> MirrorMembers(
        ListKey key, HttpRequest request, Tenant tenant, SyncService sync, IOptions<HubOptions> hub, CancellationToken cancellationToken, bool allowEmpty = false, bool reconcile = false)
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
        return started.IsSuccess ? Accepted(started.Value, hub.Value) : started.Error.ToProblem();
    }

    private static Accepted<JobAcceptedResponse> Accepted(SyncStarted started, HubOptions hub)
    {
        var statusUrl = JobUrls.Of(hub, started.Job.Id);
        return TypedResults.Accepted(statusUrl, new JobAcceptedResponse(started.Job.Id.ToString(), started.Job.State.ToName(), statusUrl, started.Superseded?.ToString()));
    }

    private static RemovalMode? ParseRemovalMode(string? mode) =>
        mode is null ? RemovalMode.Archive : SnakeCase<RemovalMode>.TryParse(mode, out var parsed) ? parsed : null;

    private static ValidationProblem InvalidRemovalMode(string field) =>
        Problems.Validation(new Dictionary<string, string[]> { [field] = ["One of archive (default), unsubscribe or permanent."] });

    private static ValidationProblem NotText(string field) => Problems.Validation(new Dictionary<string, string[]>
    {
        [field] = ["Not readable as text: the body must be valid UTF-8, and a \\u escape may not name half a surrogate pair."],
    });
}
