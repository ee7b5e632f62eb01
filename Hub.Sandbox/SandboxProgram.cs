using System.Globalization;

namespace Hub.Sandbox;

/// <summary>Standalone host: <c>dotnet run --project Hub.Sandbox -- --port 5090</c>.</summary>
public static class SandboxProgram
{
    public static void Main(string[] args)
    {
        var port = 5090;
        var portIndex = Array.IndexOf(args, "--port");
        if (portIndex >= 0 && (portIndex + 1 >= args.Length || !int.TryParse(args[portIndex + 1], CultureInfo.InvariantCulture, out port)))
        {
            Console.Error.WriteLine("Usage: Hub.Sandbox [--port N]");
            Environment.Exit(2);
        }

        var builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{port}");
        builder.Services.AddMailchimpSandbox();
        var app = builder.Build();
        app.MapMailchimpSandbox();

        app.Lifetime.ApplicationStarted.Register(() =>
        {
            var state = app.Services.GetRequiredService<SandboxState>();
            var account = state.GetAccount(state.DefaultAccountId)!;
            var baseUrl = $"http://127.0.0.1:{port}";
            Console.WriteLine($"Mailchimp sandbox listening on {baseUrl}");
            Console.WriteLine($"  marketing API: {baseUrl}/{account.Dc}/3.0  (API key {state.DefaultApiKey})");
            Console.WriteLine($"  OAuth:         {baseUrl}/oauth2/authorize  (client sandbox-client / sandbox-secret)");
            Console.WriteLine($"  control API:   {baseUrl}/_control");
        });
        app.Run();
    }
}
