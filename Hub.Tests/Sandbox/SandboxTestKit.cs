using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hub.Sandbox;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

internal static class SandboxTestKit
{
    public static async Task<JsonObject> JsonAsync(this HttpResponseMessage response) =>
        (await response.Content.ReadFromJsonAsync<JsonObject>())!;

    public static Task<HttpResponseMessage> SendJsonAsync(this HttpClient client, HttpMethod method, string path, object body) =>
        client.SendAsync(new HttpRequestMessage(method, path) { Content = JsonContent.Create(body, options: SandboxJson.Options) });

    /// <summary>A fresh account with its own audience, so each test owns its data.</summary>
    public static async Task<(SandboxCredential Key, HttpClient Client, string ListId)> NewAudienceAsync(this SandboxHost host, string dc = "us21")
    {
        var key = await host.CreateAccountAsync("Shop " + Guid.NewGuid().ToString("N")[..6], dc);
        var listId = await host.CreateListAsync(key);
        return (key, host.Marketing(key), listId);
    }

    public static object Member(string email, string status = "subscribed") => new Dictionary<string, object> { ["email_address"] = email, ["status"] = status };

    public static string Hash(string email) => Convert.ToHexStringLower(System.Security.Cryptography.MD5.HashData(System.Text.Encoding.UTF8.GetBytes(email.ToLowerInvariant())));
}
