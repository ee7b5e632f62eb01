using Hub.Api.Admin;
using Hub.Api.Hosting;
using Hub.Api.Tenants;
using Hub.Core.Security;
using Hub.Core.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.WebHost.ConfigureKestrel(kestrel => kestrel.Limits.MaxRequestBodySize = 1024 * 1024);
builder.AddHubTelemetry();
builder.Services.AddHubProblemDetails();
builder.Services.AddHubStorage();
builder.Services.AddHubTenants();
builder.Services.AddHubAuthentication();
builder.Services.AddHubRateLimits();
builder.Services.AddHubHealthChecks();
builder.Services.AddHubOpenApi();

var app = builder.Build();

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseSwagger();
app.UseSwaggerUI();
app.UseAuthentication();
app.UseAuthorization();
app.UseRateLimiter();

app.MapHubHealthChecks();
app.MapAdminApi();
app.MapTenantApiGroup().MapTenantProfileApi();

app.Run();

/// <summary>Entry point, visible to WebApplicationFactory in the tests.</summary>
public partial class Program;
