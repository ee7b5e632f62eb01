using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Api.Admin;
using Hub.Api.Connections;
using Hub.Api.Events;
using Hub.Api.Jobs;
using Hub.Api.Lists;
using Hub.Api.People;
using Hub.Api.Webhooks;
using Hub.Core.Audiences;
using Hub.Core.Events;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Members;
using Hub.Core.People;
using Hub.Core.Storage;
using Hub.Core.Webhooks;
using Microsoft.OpenApi;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Hub.Api.Hosting;

/// <summary>
/// An example of every record a route answers with, built from the records themselves (so a renamed or retyped member
/// breaks the build, not the document), shown as the example of each 2xx response. Collections are built from their items'.
/// </summary>
public static class ResponseExamples
{
    private const string TenantId = "tn_zd7m8aretmbm1e7ht8k9";
    private const string JobId = "job_wj05b59cx6vzrhk32mum";
    private const string AudienceId = "0b30051403";
    private static readonly DateTimeOffset Created = new(2026, 12, 3, 11, 49, 4, TimeSpan.Zero);
    private static readonly DateTimeOffset Finished = Created.AddSeconds(6);

    private static readonly AudienceContact Contact = new() { Company = "Acme Ltd", Address1 = "1 Main St", City = "Atlanta", State = "GA", Zip = "30308", Country = "US" };
    private static readonly CampaignDefaults Campaign = new() { FromName = "Acme", FromEmail = "news@acme.example", Subject = "Acme news", Language = "en" };
    private static readonly TenantResponse Tenant = new(
        TenantId, "Acme", ["https://app.acme.example"], "https://app.acme.example/hub-events", "You bought from Acme.", Contact, Campaign,
        Enabled: true, AllowPassthroughWrites: false, AllowAudienceAdoption: false, Created, Created);

    private static readonly ListSyncStatus LastSync = new(JobId, "succeeded", Finished);
    private static readonly ListField Company = new() { Tag = "COMPANY", Name = "Company", Type = ListFieldTypes.Text, MergeId = 5, CreatedByHub = true };
    private static readonly JsonNode? AnnFields = JsonNode.Parse("""{"FNAME":"Ann","LNAME":"Lee","COMPANY":"Lee & Co"}""");
    private static readonly MemberView Member = new(
        "ann@customer.example", "subscribed", AnnFields!.AsObject().ToDictionary(pair => pair.Key, pair => pair.Value?.DeepClone()), ["gold"], "en", false, Finished);

    private static readonly Audience AcmeAudience = new(
        AudienceId, "Acme customers", "You bought from Acme.", Contact, Campaign, false, false, 1204, Created, Managed: true, CreatedByHub: true);

    private static readonly JsonElement MemberEvent = JsonSerializer.SerializeToElement(new
    {
        id = "ev_5c4qrdx0e9k2m7ahwz1t", type = "unsubscribed", audienceId = AudienceId, email = "ann@customer.example", reason = "manual",
        occurredAt = "2026-12-03 11:49:04", receivedAt = Created, listKeys = new[] { "newsletter" }, cursor = "1764762544000001",
    });

    private static readonly JobResponse Job = new(
        JobId, "sync", "newsletter", "partially_succeeded", new JobCountsResponse(1000, 12, 3, 1, 983, 1),
        [new MemberError("bad@customer", "The email is not a valid address.", Retryable: false, "validation", "email")], 1,
        Created, Created.AddSeconds(1), Finished, 5.2, 1, 0, null, null, false, $"https://hub.example.com/api/v1/jobs/{JobId}");

    private static readonly ListResponse List = new(
        "newsletter", "Newsletter", "audience", AudienceId, null, "subscribed", "archive", 1204, LastSync, Created, Created, [Company]);

    private static readonly WebhookDeliveryResponse Delivery = new(
        "wh_t9mohqlxpn0gmkktdw1l", WebhookEvents.SyncCompleted, "delivered", Finished, null, [new WebhookAttempt(1, Finished, 200, null, 42)]);

    private static readonly Dictionary<Type, object> ByType = new()
    {
        [typeof(TenantResponse)] = Tenant,
        [typeof(CreatedTenantResponse)] = new CreatedTenantResponse(Tenant, "whsec_yD3EiYsLEyOwGSTapN2qmekf2bL5C7ghqnP8Jt17sdg"),
        [typeof(WebhookSecretResponse)] = new WebhookSecretResponse("whsec_Qb1pVtA0x8b6mWcJ2aH6yO0k3pLr9sZt5uE7nFgD4iC"),
        [typeof(IssuedKeyResponse)] = new IssuedKeyResponse("kljfugj0u4ss", "production", "hub_kljfugj0u4ss_WM-yMqHVdPqpvLMRWYQXbToib6pewwCNQsk32HIU-6k", Created),
        [typeof(ApiKeyResponse)] = new ApiKeyResponse("kljfugj0u4ss", "production", Created),
        [typeof(ReEncryptionResponse)] = new ReEncryptionResponse(41, 3, "2026-12"),
        [typeof(Audience)] = AcmeAudience,
        [typeof(ConnectionResponse)] = new ConnectionResponse(
            "connected", "oauth", "us21", "https://us21.api.mailchimp.com/3.0", "Acme Ltd", "owner@acme.example", Created, [AudienceId],
            "123456789012", "https://us21.api.mailchimp.com/3.0", AudienceId, null),
        [typeof(ConsentLinkResponse)] = new ConsentLinkResponse("https://hub.example.com/oauth2/authorize?session=Zk9hV2xQ0aJ3", Created.AddHours(24)),
        [typeof(AudienceEventsResponse)] = new AudienceEventsResponse(AudienceId, "registered", "8c2bd2b5b1", true, Created, Finished, null, null),
        [typeof(ReceivedEventResponse)] = new ReceivedEventResponse("ev_5c4qrdx0e9k2m7ahwz1t", Ignored: false, Duplicate: false),
        [typeof(JobResponse)] = Job,
        [typeof(string)] = "ok",
        [typeof(Page<Audience>)] = PageOf(AcmeAudience, total: 3),
        [typeof(Page<JsonElement>)] = new Page<JsonElement>([MemberEvent], "1764762544000001", null),
        [typeof(Page<TenantResponse>)] = PageOf(Tenant, total: 12),
        [typeof(Page<ApiKeyResponse>)] = PageOf(new ApiKeyResponse("kljfugj0u4ss", "production", Created), total: 2),
        [typeof(Page<MemberView>)] = PageOf(Member, total: 1204),
        [typeof(Page<JobResponse>)] = PageOf(Job, total: null),
        [typeof(Page<WebhookDeliveryResponse>)] = PageOf(Delivery, total: null),
        [typeof(JobAcceptedResponse)] = new JobAcceptedResponse(JobId, "queued", Job.StatusUrl, null),
        [typeof(ListResponse)] = List,
        [typeof(Page<ListResponse>)] = PageOf(List, total: 4),
        [typeof(MemberView)] = Member,
        [typeof(BatchMembersResponse)] = new BatchMembersResponse(1, 1,
        [
            new MemberOutcomeResponse("ann@customer.example", MemberOutcome.Added, null),
            new MemberOutcomeResponse("bad@customer", MemberOutcome.Failed, new MemberErrorResponse(Problems.TypePrefix + "validation", "Invalid member", "The email is not a valid address.", null)),
        ]),
        [typeof(ErasureResponse)] = new ErasureResponse(
            JobId, "f392ba8364ecbd62ee6bd049b9d3ee413b86d571d1c2c0c85aee151293165ade", "succeeded", "Request of 2026-12-01 by e-mail",
            [new ErasureAudience(AudienceId, ErasureAudienceStates.Deleted, 1)], true, Created, Created.AddSeconds(1), Finished, null, 1, false,
            $"https://hub.example.com/api/v1/people/erasures/{JobId}"),
        [typeof(PersonResponse)] = new PersonResponse(
            "ann@customer.example", "f392ba8364ecbd62ee6bd049b9d3ee413b86d571d1c2c0c85aee151293165ade", null,
            [new PersonAudienceResponse(AudienceId, true, "subscribed", Member.MergeFields, ["gold"], Finished, ["newsletter"], null)],
            [new PersonListResponse("newsletter", true, AudienceId, "audience", null, true, true, true, false, false, ["crm-1042"], LastSync)],
            new PersonRecordsResponse(["newsletter"], [], [], [], [], 0)),
        [typeof(WebhookDeliveryResponse)] = Delivery,
    };

    /// <summary>A first page holding <paramref name="item"/>, with a next page.</summary>
    private static Page<T> PageOf<T>(T item, long? total) => new([item], new PageCursor(Created.ToUnixTimeMilliseconds(), "tn_zd7m8aretmbm1e7ht8k9").Encode(), total);

    /// <summary>An example of <paramref name="type"/> as JSON, or null when there is none (a collection's is built from its items').</summary>
    public static JsonNode? For(Type type)
    {
        if (ByType.TryGetValue(type, out var example))
        {
            return JsonSerializer.SerializeToNode(example, type, JsonSerializerOptions.Web);
        }

        if (type.IsGenericType && type.GetGenericArguments() is [var item] && For(item) is { } itemExample)
        {
            var definition = type.GetGenericTypeDefinition();
            if (definition == typeof(List<>) || definition == typeof(IReadOnlyList<>))
            {
                return new JsonArray(itemExample);
            }
        }

        return null;
    }

    /// <summary>Sets each 2xx JSON response's example from the type the route declares for it.</summary>
    internal sealed class Filter : IOperationFilter
    {
        public void Apply(OpenApiOperation operation, OperationFilterContext context)
        {
            foreach (var declared in context.ApiDescription.SupportedResponseTypes)
            {
                if (declared is not { StatusCode: >= 200 and < 300, Type: { } type } || type == typeof(void)
                    || operation.Responses?.GetValueOrDefault(declared.StatusCode.ToString(System.Globalization.CultureInfo.InvariantCulture)) is not { Content: { } content }
                    || For(type) is not { } example)
                {
                    continue;
                }

                foreach (var (mediaType, media) in content)
                {
                    if (mediaType.Contains("json", StringComparison.Ordinal))
                    {
                        media.Example = example.DeepClone();
                    }
                }
            }
        }
    }
}
