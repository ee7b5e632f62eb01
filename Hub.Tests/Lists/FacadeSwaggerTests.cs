using System.Net.Http.Json;
using System.Text.Json;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

[TestFixture]
public sealed class FacadeSwaggerTests
{
    [Test]
    public async Task Swagger_documents_every_facade_route_and_the_main_writes_have_example_bodies()
    {
        await using var hub = await HubHost.StartAsync();
        using var client = hub.Client();
        var document = await client.GetFromJsonAsync<JsonElement>("/swagger/v1/swagger.json");
        var paths = document.GetProperty("paths");

        string[] documented =
        [
            "get /api/v1/audiences", "post /api/v1/audiences", "get /api/v1/audiences/{audienceId}", "patch /api/v1/audiences/{audienceId}",
            "delete /api/v1/audiences/{audienceId}", "post /api/v1/audiences/{audienceId}/manage", "delete /api/v1/audiences/{audienceId}/manage",
            "get /api/v1/lists", "post /api/v1/lists", "get /api/v1/lists/{key}", "patch /api/v1/lists/{key}", "delete /api/v1/lists/{key}",
            "get /api/v1/lists/{key}/members", "post /api/v1/lists/{key}/members", "get /api/v1/lists/{key}/members/{email}",
            "delete /api/v1/lists/{key}/members/{email}", "post /api/v1/lists/{key}/members/batch", "get /api/v1/mailchimp/{path}",
        ];
        Assert.Multiple(() =>
        {
            foreach (var route in documented)
            {
                var (method, path) = (route.Split(' ')[0], route.Split(' ')[1]);
                Assert.That(paths.TryGetProperty(path, out var item) && item.TryGetProperty(method, out _), Is.True, route);
            }
        });

        (string Method, string Path, string Field)[] withExamples =
        [
            ("post", "/api/v1/audiences", "name"), ("patch", "/api/v1/audiences/{audienceId}", "permissionReminder"),
            ("post", "/api/v1/lists", "key"), ("patch", "/api/v1/lists/{key}", "defaultStatus"),
            ("post", "/api/v1/lists/{key}/members", "email"), ("post", "/api/v1/lists/{key}/members/batch", "add"),
            ("post", "/api/v1/mailchimp/{path}", "email_address"),
        ];
        Assert.Multiple(() =>
        {
            foreach (var (method, path, field) in withExamples)
            {
                var example = paths.GetProperty(path).GetProperty(method).GetProperty("requestBody").GetProperty("content")
                    .GetProperty("application/json").GetProperty("example");
                Assert.That(example.TryGetProperty(field, out _), Is.True, $"{method} {path}: {example}");
            }
        });
    }
}
