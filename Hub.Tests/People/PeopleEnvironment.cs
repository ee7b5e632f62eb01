using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Hub.Tests.Events;
using Hub.Tests.Infrastructure;
using StackExchange.Redis;

namespace Hub.Tests.People;

/// <summary>Helpers of the people tests over an <see cref="EventsEnvironment"/> (list webhooks on, so member events and their webhooks name people).</summary>
public static class PeopleEnvironment
{
    /// <summary>An address of its own per test, with an upper-case part and a '+', so its lower-cased, URL-encoded and JSON-escaped forms all differ.</summary>
    public static string NewAddress(string name = "Ann.Lee") => $"{name}+{Guid.NewGuid().ToString("N")[..10]}@Example.com";

    /// <summary>Every form an address could be stored in: as given, lower-cased, URL-encoded (both), JSON-escaped, and its MD5 subscriber hash.</summary>
    public static string[] FormsOf(string address)
    {
        var lower = address.Trim().ToLowerInvariant();
        return
        [
            address, lower, Uri.EscapeDataString(address), Uri.EscapeDataString(lower), lower.Replace("+", "\\u002B", StringComparison.Ordinal),
            Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(lower))),
        ];
    }

    /// <summary>The keys of the whole Redis that hold the address in any form, except those of <paramref name="allowedTenant"/> (its own copy).</summary>
    public static async Task<List<string>> KeysHoldingAsync(IConnectionMultiplexer redis, string address, string? allowedTenant = null) =>
        [.. (await TestRedis.KeysHoldingAsync(redis, FormsOf(address))).Where(key => allowedTenant is null || !key.Contains(allowedTenant, StringComparison.Ordinal))];

    public static async Task<HttpResponseMessage> PostErasureAsync(HttpClient client, object body) =>
        await client.PostAsJsonAsync("/api/v1/people/erasures", body);

    /// <summary>Starts an erasure; asserts 202 and returns its answer.</summary>
    public static async Task<JsonElement> StartErasureAsync(HttpClient client, string email, string? reason = null)
    {
        using var response = await PostErasureAsync(client, new { email, reason });
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Accepted), text);
        return JsonDocument.Parse(text).RootElement;
    }

    /// <summary>Waits until the erasure has ended and returns it.</summary>
    public static async Task<JsonElement> WaitForErasureAsync(HttpClient client, string erasureId, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(30));
        while (true)
        {
            var erasure = await client.GetFromJsonAsync<JsonElement>($"/api/v1/people/erasures/{erasureId}");
            if (erasure.GetProperty("state").GetString() is not ("queued" or "running"))
            {
                return erasure;
            }

            Assert.That(DateTime.UtcNow, Is.LessThan(deadline), $"Erasure {erasureId} did not end: {erasure}");
            await Task.Delay(50);
        }
    }

    public static async Task<JsonElement> FindAsync(HttpClient client, string email)
    {
        using var response = await client.GetAsync($"/api/v1/people/{Uri.EscapeDataString(email)}");
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        return JsonDocument.Parse(text).RootElement;
    }

    public static List<string> Strings(JsonElement array) => [.. array.EnumerateArray().Select(item => item.GetString()!)];
}
