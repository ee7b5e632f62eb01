using Hub.Api.Admin;
using Hub.Api.Audiences;
using Hub.Api.Lists;
using Hub.Api.Mailchimp;
using Hub.Api.Connections;
using Hub.Api.Events;
using Hub.Api.Jobs;
using Hub.Api.Hosting;
using Hub.Api.OAuth;
using Hub.Api.People;
using Hub.Api.Tenants;
using Hub.Api.Webhooks;
using Hub.Core.Audiences;
using Hub.Core.Connections;
using Hub.Core.Events;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.OAuth;
using Hub.Core.People;
using Hub.Core.Security;
using Hub.Core.Storage;
using Hub.Core.Sync;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;

var builder = WebApplication.CreateBuilder(args);

builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1024 * 1024);
builder.AddHubTelemetry();
builder.Services.AddHubProblemDetails();
builder.Services.AddHubForwardedHeaders();
builder.Services.AddHubStorage();
builder.Services.AddHubSecurity();
builder.Services.AddHubTenants();
builder.Services.AddHubMailchimp();
builder.Services.AddHubConnections();
builder.Services.AddHubOAuth();
builder.Services.AddHubWebhooks();
builder.Services.AddHubAudiences();
builder.Services.AddHubLists();
builder.Services.AddHubMembers();
builder.Services.AddHubJobs();
builder.Services.AddHubSync();
builder.Services.AddHubEvents();
builder.Services.AddHubPeople();
builder.AddDevelopmentSandbox();
builder.Services.AddHubAuthentication();
builder.Services.AddHubRateLimits();
builder.Services.AddHubHealthChecks();
builder.Services.AddHubOpenApi();

var app = builder.Build();

app.UseForwardedHeaders();
app.UseExceptionHandler();
app.UseMiddleware<StoreOutage.LayoutGate>();
app.UseMiddleware<DotSegments>();
app.UseStatusCodePages();
app.UseSwagger();
app.UseSwaggerUI();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();
app.UseMiddleware<OversizedRequests>();

app.MapHubHealthChecks();
app.MapAdminApi();
app.MapOAuthEndpoints();
app.MapMailchimpEventReceiver();
app.MapDevelopmentSandbox();
var v1 = app.MapTenantApiGroup();
v1.MapTenantProfileApi();
v1.MapConnectionApi();
v1.MapWebhookApi();
v1.MapAudiencesApi();
v1.MapListsApi();
v1.MapJobsApi();
v1.MapEventsApi();
v1.MapPeopleApi();
v1.MapPassthroughApi();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
