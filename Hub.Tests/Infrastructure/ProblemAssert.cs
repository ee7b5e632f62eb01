using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Hub.Tests.Infrastructure;

public static class ProblemAssert
{
    /// <summary>Asserts a problem+json answer with the status and Hub problem code; returns the body.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status, string? code = null)
    {
        var text = await response.Content.ReadAsStringAsync();
        Assert.Multiple(() =>
        {
            Assert.That(response.StatusCode, Is.EqualTo(status), text);
            Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), text);
        });
        var body = JsonDocument.Parse(text).RootElement;
        Assert.That(body.GetProperty("status").GetInt32(), Is.EqualTo((int)status));
        if (code is not null)
        {
            Assert.That(body.GetProperty("type").GetString(), Is.EqualTo("urn:hub:problem:" + code), text);
        }

        Assert.That(text, Does.Not.Contain("   at "), "no stack trace in a problem body");
        return body;
    }

    public static Task<JsonElement> JsonAsync(this HttpResponseMessage response) => response.Content.ReadFromJsonAsync<JsonElement>();
}
