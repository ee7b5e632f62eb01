using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Hub.Tests.Infrastructure;

/// <summary>A small ASP.NET Core app on a free loopback port, without logging: what the sandbox and the webhook receiver run on.</summary>
internal static class LoopbackApp
{
    /// <summary>Builds the app (<paramref name="configure"/> adds services), maps its endpoints and starts it; returns it and its address (no trailing '/').</summary>
    public static async Task<(WebApplication App, string Address)> StartAsync(Action<WebApplication> map, Action<WebApplicationBuilder>? configure = null)
    {
        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        configure?.Invoke(builder);
        var app = builder.Build();
        map(app);
        await app.StartAsync();
        return (app, Address(app.Services));
    }

    /// <summary>The first address the server of <paramref name="services"/> listens on.</summary>
    public static string Address(IServiceProvider services) =>
        services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    public static async ValueTask StopAsync(WebApplication app)
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
