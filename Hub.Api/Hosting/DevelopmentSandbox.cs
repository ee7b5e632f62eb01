using Hub.Sandbox;

namespace Hub.Api.Hosting;

/// <summary>
/// <c>Hub:Sandbox:Enabled</c>: serve the Mailchimp emulator at <c>/sandbox</c> and point
/// <c>Hub:Mailchimp:*</c> at it, so a local run shows the whole flow without a Mailchimp account.
/// Development only; anywhere else start-up stops.
/// </summary>
public static class DevelopmentSandbox
{
    public const string EnabledKey = "Hub:Sandbox:Enabled";
    public const string Prefix = "/sandbox";

    public static WebApplicationBuilder AddDevelopmentSandbox(this WebApplicationBuilder builder)
    {
        if (!builder.Configuration.GetValue<bool>(EnabledKey))
        {
            return builder;
        }

        if (!builder.Environment.IsDevelopment())
        {
            throw new InvalidOperationException($"{EnabledKey} is true in environment '{builder.Environment.EnvironmentName}'. The Mailchimp sandbox may only run in Development; set {EnabledKey} to false.");
        }

        var publicBase = (builder.Configuration["Hub:PublicBaseUrl"] ?? "http://localhost:5080").TrimEnd('/');
        var sandbox = publicBase + Prefix;
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Hub:Mailchimp:AuthorizeUrl"] = sandbox + "/oauth2/authorize",
            ["Hub:Mailchimp:TokenUrl"] = sandbox + "/oauth2/token",
            ["Hub:Mailchimp:MetadataUrl"] = sandbox + "/oauth2/metadata",
            ["Hub:Mailchimp:ApiBaseTemplate"] = sandbox + "/{dc}/3.0",
        });
        builder.Services.AddMailchimpSandbox(options => options.DefaultRedirectUri = publicBase + "/oauth2/proxy");
        return builder;
    }

    public static IEndpointRouteBuilder MapDevelopmentSandbox(this WebApplication app)
    {
        if (app.Configuration.GetValue<bool>(EnabledKey))
        {
            app.MapMailchimpSandbox(Prefix);
        }

        return app;
    }
}
