using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Hub.Core.Diagnostics;
using Hub.Core.Storage;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Polly.Timeout;
using StackExchange.Redis;

namespace Hub.Core.Mailchimp;

/// <summary>
/// Typed client for the Mailchimp Marketing API calls Hub makes. Every call goes through one
/// resilience pipeline and the per-account concurrency cap; expected failures come back as a
/// <see cref="MailchimpError"/> (see <see cref="MailchimpErrorCodes"/>), never as an exception.
/// A 401 also tells <see cref="IMailchimpAuthFailureHandler"/>.
/// </summary>
public sealed partial class MailchimpClient(
    HttpClient http, IOptions<MailchimpOptions> options, IMailchimpAuthFailureHandler authFailures, ILogger<MailchimpClient> logger)
{
    private static readonly MailchimpJsonContext Json = MailchimpJsonContext.Default;

    private readonly MailchimpOptions _options = options.Value;

    // ---- Account ----

    /// <summary><c>GET /ping</c>: checks the credential and Mailchimp's health.</summary>
    public Task<MailchimpResult<MailchimpPing>> PingAsync(MailchimpCredential credential, CancellationToken cancellationToken) =>
        CallAsync(credential, "ping", HttpMethod.Get, "ping", null, Json.MailchimpPing, cancellationToken);

    /// <summary><c>GET /</c>: the account behind the credential (account_id, account_name, email, login_id).</summary>
    public Task<MailchimpResult<MailchimpAccount>> GetAccountAsync(MailchimpCredential credential, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_account", HttpMethod.Get, "", null, Json.MailchimpAccount, cancellationToken);

    // ---- Lists ----

    /// <summary><c>GET /lists</c>, one page (<paramref name="count"/> 1..1000).</summary>
    public Task<MailchimpResult<MailchimpListPage>> GetListsAsync(MailchimpCredential credential, int count, int offset, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_lists", HttpMethod.Get, "lists" + Page(count, offset), null, Json.MailchimpListPage, cancellationToken);

    /// <summary><c>GET /lists/{list_id}</c>.</summary>
    public Task<MailchimpResult<MailchimpList>> GetListAsync(MailchimpCredential credential, string listId, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_list", HttpMethod.Get, ListPath(listId), null, Json.MailchimpList, cancellationToken);

    /// <summary><c>POST /lists</c>. Not retried: a retry could create a second audience.</summary>
    public Task<MailchimpResult<MailchimpList>> CreateListAsync(MailchimpCredential credential, MailchimpListCreate list, CancellationToken cancellationToken) =>
        CallAsync(credential, "create_list", HttpMethod.Post, "lists", Body(list, Json.MailchimpListCreate), Json.MailchimpList, cancellationToken);

    /// <summary><c>PATCH /lists/{list_id}</c> with the fields set in <paramref name="update"/>.</summary>
    public Task<MailchimpResult<MailchimpList>> UpdateListAsync(MailchimpCredential credential, string listId, MailchimpListUpdate update, CancellationToken cancellationToken) =>
        CallAsync(credential, "update_list", HttpMethod.Patch, ListPath(listId), Body(update, Json.MailchimpListUpdate), Json.MailchimpList, cancellationToken);

    /// <summary><c>DELETE /lists/{list_id}</c>: irreversible, every contact and its history is lost.</summary>
    public Task<MailchimpResult> DeleteListAsync(MailchimpCredential credential, string listId, CancellationToken cancellationToken) =>
        CallAsync(credential, "delete_list", HttpMethod.Delete, ListPath(listId), null, cancellationToken);

    // ---- Members ----

    /// <summary><c>GET /lists/{list_id}/members/{subscriber_hash}</c>.</summary>
    public Task<MailchimpResult<MailchimpMember>> GetMemberAsync(MailchimpCredential credential, string listId, SubscriberHash hash, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_member", HttpMethod.Get, MemberPath(listId, hash), null, Json.MailchimpMember, cancellationToken);

    /// <summary><c>GET /lists/{list_id}/members</c>, one page, optionally only one <paramref name="status"/>.</summary>
    public Task<MailchimpResult<MailchimpMemberPage>> GetMembersAsync(
        MailchimpCredential credential, string listId, int count, int offset, string? status, CancellationToken cancellationToken)
    {
        var path = $"{ListPath(listId)}/members{Page(count, offset)}";
        if (status is not null)
        {
            path += "&status=" + Uri.EscapeDataString(status);
        }

        return CallAsync(credential, "get_members", HttpMethod.Get, path, null, Json.MailchimpMemberPage, cancellationToken);
    }

    /// <summary>
    /// <c>GET /lists/{list_id}/members?status=…</c>, one page of the contacts with that status, their address and status
    /// only: <c>status</c> is a documented filter (spec <c>getListsIdMembers</c>, FACTS.md §6), <c>fields</c> is documented
    /// for every response with dot notation (FACTS.md §6, [FD: api-concepts/methods-and-parameters.mdx]); <c>count</c> at most 1000.
    /// </summary>
    public Task<MailchimpResult<MailchimpMemberStatusPage>> GetMemberStatusesAsync(
        MailchimpCredential credential, string listId, string status, int count, int offset, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_member_statuses", HttpMethod.Get,
            $"{ListPath(listId)}/members{Page(count, offset)}&status={Uri.EscapeDataString(status)}&fields=members.email_address,members.status,total_items",
            null, Json.MailchimpMemberStatusPage, cancellationToken);

    /// <summary><c>PUT /lists/{list_id}/members/{hash}</c>: add or update the contact of <see cref="MailchimpMemberUpsert.EmailAddress"/>.</summary>
    public Task<MailchimpResult<MailchimpMember>> UpsertMemberAsync(MailchimpCredential credential, string listId, MailchimpMemberUpsert member, CancellationToken cancellationToken) =>
        CallAsync(credential, "upsert_member", HttpMethod.Put, MemberPath(listId, SubscriberHash.FromEmail(member.EmailAddress)),
            Body(member, Json.MailchimpMemberUpsert), Json.MailchimpMember, cancellationToken);

    /// <summary>
    /// <c>POST /lists/{list_id}/members</c>: create-only; <c>member_exists</c> when the contact is already there.
    /// Not retried (see <c>Members.MemberService</c>): whether this call created the contact must stay knowable.
    /// </summary>
    public Task<MailchimpResult<MailchimpMember>> CreateMemberAsync(MailchimpCredential credential, string listId, MailchimpMemberCreate member, CancellationToken cancellationToken) =>
        CallAsync(credential, "create_member", HttpMethod.Post, ListPath(listId) + "/members",
            Body(member, Json.MailchimpMemberCreate), Json.MailchimpMember, cancellationToken);

    /// <summary><c>DELETE /lists/{list_id}/members/{hash}</c>: archives the contact (it can be re-added later).</summary>
    public Task<MailchimpResult> ArchiveMemberAsync(MailchimpCredential credential, string listId, SubscriberHash hash, CancellationToken cancellationToken) =>
        CallAsync(credential, "archive_member", HttpMethod.Delete, MemberPath(listId, hash), null, cancellationToken);

    /// <summary><c>POST .../members/{hash}/actions/delete-permanent</c>: erases the contact; the address can never be re-imported.</summary>
    public Task<MailchimpResult> DeleteMemberPermanentlyAsync(MailchimpCredential credential, string listId, SubscriberHash hash, CancellationToken cancellationToken) =>
        CallAsync(credential, "delete_member_permanently", HttpMethod.Post, MemberPath(listId, hash) + "/actions/delete-permanent", null, cancellationToken);

    /// <summary>
    /// <c>POST .../members/{hash}/tags</c>: sets tags active or inactive. Idempotent by nature, so retried.
    /// <paramref name="isSyncing"/> suppresses tag-triggered automations.
    /// </summary>
    public Task<MailchimpResult> UpdateMemberTagsAsync(
        MailchimpCredential credential, string listId, SubscriberHash hash, IReadOnlyList<MailchimpTagUpdate> tags, bool isSyncing, CancellationToken cancellationToken) =>
        CallAsync(credential, "update_member_tags", HttpMethod.Post, MemberPath(listId, hash) + "/tags",
            Body(new MailchimpTagsRequest(tags, isSyncing), Json.MailchimpTagsRequest), cancellationToken, idempotent: true);

    // A batch subscribe answers with the full contact of every member sent; Hub reads only who was created or
    // updated and the errors, so it asks for just those (a partial response): a tenth of the bytes to send and parse.
    // `fields` is documented for every response with dot notation (FACTS.md §6, [FD: api-concepts/methods-and-parameters.mdx]).
    private const string BatchResultFields =
        "new_members.email_address,new_members.status,updated_members.email_address,updated_members.status,errors,total_created,total_updated,error_count";

    /// <summary>
    /// Batch subscribe <c>POST /lists/{list_id}</c> (at most 500 contacts; spec <c>postListsId</c>). Retried on 429, 5xx
    /// and timeouts: a create-only batch repeated after a lost answer meets the contacts it created as
    /// <c>ERROR_CONTACT_EXISTS</c>, which <c>Members.MemberBatchWriter</c> then writes as existing contacts, so the
    /// outcome is the same (only whether Hub created them is then unknown, and Hub assumes it did not).
    /// </summary>
    public Task<MailchimpResult<MailchimpBatchResult>> BatchSubscribeAsync(
        MailchimpCredential credential, string listId, MailchimpBatchSubscribe batch, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(batch.Members.Count, MailchimpBatchSubscribe.MaxMembers, nameof(batch));
        return CallAsync(credential, "batch_subscribe", HttpMethod.Post, $"{ListPath(listId)}?fields={BatchResultFields}", Body(batch, Json.MailchimpBatchSubscribe),
            Json.MailchimpBatchResult, cancellationToken, idempotent: true);
    }

    // ---- Merge fields ----

    /// <summary><c>GET /lists/{list_id}/merge-fields</c>, one page.</summary>
    public Task<MailchimpResult<MailchimpMergeFieldPage>> GetMergeFieldsAsync(MailchimpCredential credential, string listId, int count, int offset, CancellationToken cancellationToken) =>
        CallAsync(credential, "get_merge_fields", HttpMethod.Get, $"{ListPath(listId)}/merge-fields{Page(count, offset)}", null, Json.MailchimpMergeFieldPage, cancellationToken);

    /// <summary><c>POST /lists/{list_id}/merge-fields</c> (spec 3.0.55 <c>postListsIdMergeFields</c>: <c>name</c> and <c>type</c> required, <c>options</c>). Not retried.</summary>
    public Task<MailchimpResult<MailchimpMergeField>> CreateMergeFieldAsync(MailchimpCredential credential, string listId, MailchimpMergeFieldCreate field, CancellationToken cancellationToken) =>
        CallAsync(credential, "create_merge_field", HttpMethod.Post, $"{ListPath(listId)}/merge-fields",
            Body(field, Json.MailchimpMergeFieldCreate), Json.MailchimpMergeField, cancellationToken);

    /// <summary>
    /// <c>PATCH /lists/{list_id}/merge-fields/{merge_id}</c> (spec 3.0.55 <c>patchListsIdMergeFieldsId</c>: <c>name</c> required;
    /// <c>required</c> and <c>options.choices</c> are what Hub changes). The body has no <c>type</c>: a field's type never changes.
    /// </summary>
    public Task<MailchimpResult<MailchimpMergeField>> UpdateMergeFieldAsync(
        MailchimpCredential credential, string listId, long mergeId, MailchimpMergeFieldUpdate field, CancellationToken cancellationToken) =>
        CallAsync(credential, "update_merge_field", HttpMethod.Patch, $"{ListPath(listId)}/merge-fields/{mergeId.ToString(CultureInfo.InvariantCulture)}",
            Body(field, Json.MailchimpMergeFieldUpdate), Json.MailchimpMergeField, cancellationToken);

    // ---- Passthrough ----

    /// <summary>
    /// Sends <paramref name="request"/> (its URI relative to the API base, e.g. <c>lists?count=5</c>)
    /// through the same cap and pipeline and returns Mailchimp's response with the body unread, for
    /// streaming; dispose it to free the concurrency slot. Any answer Mailchimp gave is a success value
    /// (a 401 also calls <see cref="IMailchimpAuthFailureHandler"/>); only faults that outlast the
    /// retries become <c>mailchimp_unavailable</c>. GET, HEAD, OPTIONS, PUT and DELETE are retried;
    /// use <see cref="MailchimpRequestOptions.MarkIdempotent"/> to change that.
    /// </summary>
    public async Task<MailchimpResult<HttpResponseMessage>> SendAsync(MailchimpCredential credential, HttpRequestMessage request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request.RequestUri);
        if (request.RequestUri.IsAbsoluteUri)
        {
            throw new ArgumentException("The passthrough request URI must be relative to the Mailchimp API base.", nameof(request));
        }

        using var activity = StartActivity("passthrough", credential);
        Prepare(request, credential, new Uri(_options.ApiBase(credential.DataCenter), request.RequestUri));
        try
        {
            var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            activity?.SetTag(HubTelemetry.Tags.HttpStatus, (int)response.StatusCode);
            if (response.StatusCode == HttpStatusCode.Unauthorized)
            {
                await ReportUnauthorizedAsync(credential, "passthrough", cancellationToken);
            }

            return MailchimpResult<HttpResponseMessage>.Success(response);
        }
        catch (Exception e) when (IsTransportFault(e, cancellationToken))
        {
            return Unavailable(activity, "passthrough", e);
        }
    }

    // ---- Plumbing ----

    private async Task<MailchimpResult<T>> CallAsync<T>(
        MailchimpCredential credential, string operation, HttpMethod method, string path, HttpContent? content,
        JsonTypeInfo<T>? responseType, CancellationToken cancellationToken, bool? idempotent = null)
    {
        using var activity = StartActivity(operation, credential);
        using var request = new HttpRequestMessage(method, (Uri?)null) { Content = content };
        Prepare(request, credential, new Uri(_options.ApiBase(credential.DataCenter), path));
        if (idempotent is { } marked)
        {
            request.MarkIdempotent(marked);
        }

        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead, cancellationToken);
            activity?.SetTag(HubTelemetry.Tags.HttpStatus, (int)response.StatusCode);
            if (response.IsSuccessStatusCode && responseType is null)
            {
                return MailchimpResult<T>.Success(default!);
            }

            if (response.IsSuccessStatusCode)
            {
                var value = await response.Content.ReadFromJsonAsync(responseType!, cancellationToken)
                    ?? throw new JsonException("Mailchimp answered with an empty body.");
                return MailchimpResult<T>.Success(value);
            }

            return await FailureAsync(activity, credential, operation, response, cancellationToken);
        }
        catch (Exception e) when (IsTransportFault(e, cancellationToken))
        {
            return Unavailable(activity, operation, e);
        }
    }

    /// <summary>A call whose success has no body to read (204 answers).</summary>
    private async Task<MailchimpResult> CallAsync(
        MailchimpCredential credential, string operation, HttpMethod method, string path, HttpContent? content,
        CancellationToken cancellationToken, bool? idempotent = null)
    {
        var result = await CallAsync<bool>(credential, operation, method, path, content, responseType: null, cancellationToken, idempotent);
        return result.IsSuccess ? MailchimpResult.Success : result.Error;
    }

    private static void Prepare(HttpRequestMessage request, MailchimpCredential credential, Uri uri)
    {
        request.RequestUri = uri;
        request.Headers.Authorization = credential.Kind == MailchimpAuthKind.OAuth
            ? new AuthenticationHeaderValue("Bearer", credential.Token.Reveal())
            : new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes("hub:" + credential.Token.Reveal())));
        request.Options.Set(MailchimpRequestOptions.AccountKey, credential.AccountKey);
        if (credential.ReservedSlot is { } reservation)
        {
            request.Options.Set(MailchimpRequestOptions.ReservedSlot, reservation);
        }
    }

    private async Task<MailchimpError> FailureAsync(
        Activity? activity, MailchimpCredential credential, string operation, HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var status = (int)response.StatusCode;
        var error = await MailchimpErrorMapper.FromResponseAsync(response, cancellationToken);
        activity?.SetTag(HubTelemetry.Tags.MailchimpErrorCode, error.Code);
        LogFailed(logger, operation, status, error.Title, error.Code);
        if (status == (int)HttpStatusCode.Unauthorized)
        {
            await ReportUnauthorizedAsync(credential, operation, cancellationToken);
        }

        return error;
    }

    private async Task ReportUnauthorizedAsync(MailchimpCredential credential, string operation, CancellationToken cancellationToken)
    {
        LogUnauthorized(logger, operation, credential.AccountKey);
        await authFailures.OnUnauthorizedAsync(credential, cancellationToken);
    }

    private MailchimpError Unavailable(Activity? activity, string operation, Exception exception)
    {
        var detail = exception switch
        {
            TimeoutRejectedException or OperationCanceledException => "Mailchimp did not answer in time.",
            BrokenCircuitException => "Mailchimp is failing; Hub paused calls to it for a moment.",
            RedisException => "Hub could not reserve a Mailchimp connection slot.",
            JsonException => "Mailchimp answered with a body Hub could not read.",
            _ => "Hub could not reach Mailchimp.",
        };
        activity?.SetTag(HubTelemetry.Tags.MailchimpErrorCode, MailchimpErrorCodes.MailchimpUnavailable);
        activity?.SetStatus(ActivityStatusCode.Error, detail);
        LogUnavailable(logger, operation, exception.GetType().Name, exception);
        return MailchimpError.Unavailable(detail);
    }

    // A store fault (the concurrency slots live in Redis) is not Mailchimp's: it goes up to the caller, so a job pauses
    // until Redis answers and a request is answered 503 store_unavailable, instead of reporting Mailchimp unavailable.
    private static bool IsTransportFault(Exception exception, CancellationToken cancellationToken) => exception switch
    {
        OperationCanceledException when cancellationToken.IsCancellationRequested => false,
        _ when StoreFaults.IsStoreFault(exception) => false,
        HttpRequestException or TimeoutRejectedException or BrokenCircuitException or OperationCanceledException
            or RedisException or JsonException => true,
        _ => false,
    };

    private static Activity? StartActivity(string operation, MailchimpCredential credential)
    {
        var activity = HubTelemetry.Source.StartActivity(HubTelemetry.Mailchimp.OperationPrefix + operation);
        activity?.SetTag(HubTelemetry.Tags.Operation, operation);
        activity?.SetTag(HubTelemetry.Tags.MailchimpAccount, credential.AccountKey);
        return activity;
    }

    private static JsonContent Body<T>(T value, JsonTypeInfo<T> type) => JsonContent.Create(value, type);

    private static string ListPath(string listId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(listId);
        return "lists/" + Uri.EscapeDataString(listId);
    }

    private static string MemberPath(string listId, SubscriberHash hash)
    {
        if (hash.Value is null)
        {
            throw new ArgumentException("The subscriber hash is empty.", nameof(hash));
        }

        return $"{ListPath(listId)}/members/{hash.Value}";
    }

    private static string Page(int count, int offset)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 1000);
        ArgumentOutOfRangeException.ThrowIfNegative(offset);
        return string.Create(CultureInfo.InvariantCulture, $"?count={count}&offset={offset}");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Mailchimp {Operation} failed with {Status} \"{Title}\" ({Code}).")]
    private static partial void LogFailed(ILogger logger, string operation, int status, string title, string code);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp rejected the credential of account {AccountKey} on {Operation} (401); reauthorization required.")]
    private static partial void LogUnauthorized(ILogger logger, string operation, string accountKey);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Mailchimp {Operation} failed after retries: {Fault}.")]
    private static partial void LogUnavailable(ILogger logger, string operation, string fault, Exception exception);
}
