using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Hub.Tests.Infrastructure;

namespace Hub.Tests.Sandbox;

/// <summary>Merge fields over real HTTP: CRUD and tag rules, the value checks per type, unknown tags, skip_merge_validation, batch errors.</summary>
public sealed class SandboxMergeFieldTests
{
    private SandboxHost _host = null!;

    [OneTimeSetUp]
    public async Task StartAsync() => _host = await SandboxHost.StartAsync();

    [OneTimeTearDown]
    public async Task StopAsync() => await _host.DisposeAsync();

    /// <summary>Asserts a 400 problem+json with this detail and returns its errors as (field, message).</summary>
    private static async Task<List<(string Field, string Message)>> RefusedAsync(HttpResponseMessage response, string title, string detail)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.BadRequest), body);
        Assert.That(response.Content.Headers.ContentType!.MediaType, Is.EqualTo("application/problem+json"));
        var json = JsonNode.Parse(body)!;
        Assert.That(json["title"]!.GetValue<string>(), Is.EqualTo(title));
        Assert.That(json["detail"]!.GetValue<string>(), Is.EqualTo(detail));
        return json["errors"]?.AsArray().Select(e => (e!["field"]!.GetValue<string>(), e["message"]!.GetValue<string>())).ToList() ?? [];
    }

    private static Task<List<(string Field, string Message)>> InvalidAsync(HttpResponseMessage response) =>
        RefusedAsync(response, "Invalid Resource", "The resource submitted could not be validated. For field-specific details, see the 'errors' array.");

    private static Task<List<(string Field, string Message)>> MergeInvalidAsync(HttpResponseMessage response) =>
        RefusedAsync(response, "Invalid Resource", "Your merge fields were invalid.");

    private static Task<HttpResponseMessage> PutAsync(HttpClient client, string listId, string email, object mergeFields, string query = "") =>
        client.PutAsJsonAsync($"lists/{listId}/members/{SandboxTestKit.Hash(email)}{query}",
            new { email_address = email, status_if_new = "subscribed", merge_fields = mergeFields });

    private static async Task<JsonObject> AddFieldAsync(HttpClient client, string listId, object body)
    {
        using var response = await client.PostAsJsonAsync($"lists/{listId}/merge-fields", body);
        var json = await response.JsonAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), json.ToJsonString());
        return json;
    }

    [Test]
    public async Task Merge_fields_are_created_read_changed_and_deleted_with_the_members_values()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        var created = await AddFieldAsync(client, listId, new { name = "Company", type = "text", tag = "company", help_text = "Where you work", display_order = 7 });
        var id = created["merge_id"]!.GetValue<int>();
        Assert.Multiple(() =>
        {
            Assert.That(created["tag"]!.GetValue<string>(), Is.EqualTo("COMPANY"));
            Assert.That(created["help_text"]!.GetValue<string>(), Is.EqualTo("Where you work"));
            Assert.That(created["display_order"]!.GetValue<int>(), Is.EqualTo(7));
            Assert.That(created["public"]!.GetValue<bool>(), Is.True);
        });
        var read = await (await client.GetAsync($"lists/{listId}/merge-fields/{id}")).JsonAsync();
        Assert.That(read.ToJsonString(), Is.EqualTo(created.ToJsonString()));

        using var patched = await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{id}",
            new { name = "Employer", required = true, @public = false, default_value = "n/a", help_text = "", display_order = 3 });
        var changed = await patched.JsonAsync();
        Assert.Multiple(() =>
        {
            Assert.That(patched.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            Assert.That(changed["name"]!.GetValue<string>(), Is.EqualTo("Employer"));
            Assert.That(changed["tag"]!.GetValue<string>(), Is.EqualTo("COMPANY"));
            Assert.That(changed["required"]!.GetValue<bool>(), Is.True);
            Assert.That(changed["public"]!.GetValue<bool>(), Is.False);
            Assert.That(changed["default_value"]!.GetValue<string>(), Is.EqualTo("n/a"));
            Assert.That(changed["display_order"]!.GetValue<int>(), Is.EqualTo(3));
        });

        // The type is fixed; PATCH needs name (spec); the field's value goes with it.
        Assert.That(await InvalidAsync(await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{id}", new { name = "Employer", type = "number" })),
            Is.EqualTo(new[] { ("type", "The type of a merge field cannot be changed.") }));
        Assert.That((await InvalidAsync(await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{id}", new { required = false })))[0].Field, Is.EqualTo("name"));
        using var put = await PutAsync(client, listId, "ann@shop.test", new { COMPANY = "Acme", FNAME = "Ann" });
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        using var deleted = await client.DeleteAsync($"lists/{listId}/merge-fields/{id}");
        Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.Multiple(async () =>
        {
            Assert.That((await client.GetAsync($"lists/{listId}/merge-fields/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.DeleteAsync($"lists/{listId}/merge-fields/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await client.GetAsync($"lists/{listId}/merge-fields/abc")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
            Assert.That((await _host.GetMembersAsync(listId)).Single().MergeFields.Keys, Is.EquivalentTo(new[] { "FNAME" }));
            var member = await (await client.GetAsync($"lists/{listId}/members/ann@shop.test")).JsonAsync();
            Assert.That(member["merge_fields"]!.AsObject().Select(p => p.Key), Is.EqualTo(new[] { "FNAME", "LNAME", "ADDRESS", "PHONE" }));
        });
    }

    [Test]
    public async Task Tags_are_upper_cased_at_most_10_letters_digits_or_underscores_and_unique()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AddFieldAsync(client, listId, new { name = "Shoe", type = "number", tag = "SHOE_SIZE1" });
        Assert.Multiple(async () =>
        {
            foreach (var tag in new[] { "SHOE_SIZE12", "SHOE-SIZE", "SCHUHGRÖSSE" })
                Assert.That(await InvalidAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "X", type = "text", tag })),
                    Is.EqualTo(new[] { ("tag", "A merge tag has 1 to 10 characters: letters, digits or underscores.") }), tag);
            foreach (var tag in new[] { "shoe_size1", "FNAME", "EMAIL" })
                await RefusedAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "X", type = "text", tag }),
                    "Invalid Resource", $"A Merge Field with the tag \"{tag.ToUpperInvariant()}\" already exists for this list.");
        });
        var fields = (await (await client.GetAsync($"lists/{listId}/merge-fields")).JsonAsync())["merge_fields"]!.AsArray();
        Assert.That(fields.Select(f => f!["tag"]!.GetValue<string>()), Is.EqualTo(new[] { "FNAME", "LNAME", "ADDRESS", "PHONE", "SHOE_SIZE1" }));

        // A PATCH may rename a tag to a free one (the values move with it), never onto a taken one.
        var lname = fields[1]!["merge_id"]!.GetValue<int>();
        await PutAsync(client, listId, "bo@shop.test", new { LNAME = "Lee" });
        await RefusedAsync(await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{lname}", new { name = "Surname", tag = "FNAME" }),
            "Invalid Resource", "A Merge Field with the tag \"FNAME\" already exists for this list.");
        using var renamed = await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{lname}", new { name = "Surname", tag = "SURNAME" });
        Assert.That((await renamed.JsonAsync())["tag"]!.GetValue<string>(), Is.EqualTo("SURNAME"));
        Assert.That((await _host.GetMembersAsync(listId)).Single().MergeFields["SURNAME"]!.GetValue<string>(), Is.EqualTo("Lee"));
    }

    [Test]
    public async Task Options_follow_the_type_and_radio_or_dropdown_need_choices()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        Assert.That(await InvalidAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Size", type = "dropdown" })),
            Is.EqualTo(new[] { ("options.choices", "A radio or dropdown field needs at least one choice.") }));
        Assert.That((await InvalidAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Day", type = "date", options = new { date_format = "YYYY/DD/MM" } })))[0].Field,
            Is.EqualTo("options.date_format"));
        Assert.That((await InvalidAsync(await client.PostAsJsonAsync($"lists/{listId}/merge-fields", new { name = "Tel", type = "phone", options = new { phone_format = "FR" } })))[0].Field,
            Is.EqualTo("options.phone_format"));

        var dropdown = await AddFieldAsync(client, listId, new { name = "Size", type = "dropdown", tag = "SIZE", options = new { choices = new[] { "S", "M" } } });
        var birthday = await AddFieldAsync(client, listId, new { name = "Birthday", type = "birthday", tag = "BDAY", options = new { date_format = "dd/mm" } });
        var date = await AddFieldAsync(client, listId, new { name = "Joined", type = "date", tag = "JOINED" });
        Assert.Multiple(() =>
        {
            Assert.That(birthday["options"]!["date_format"]!.GetValue<string>(), Is.EqualTo("DD/MM"));
            Assert.That(date["options"]!["date_format"]!.GetValue<string>(), Is.EqualTo("MM/DD/YYYY"));
        });
        var id = dropdown["merge_id"]!.GetValue<int>();
        var patched = await (await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{id}", new { name = "Size", options = new { choices = new[] { "S", "M", "L" } } })).JsonAsync();
        Assert.That(patched["options"]!["choices"]!.AsArray().Select(c => c!.GetValue<string>()), Is.EqualTo(new[] { "S", "M", "L" }));
        Assert.That((await InvalidAsync(await client.PatchAsJsonAsync($"lists/{listId}/merge-fields/{id}", new { name = "Size", options = new { choices = Array.Empty<string>() } })))[0].Field,
            Is.EqualTo("options.choices"));
    }

    private static IEnumerable<TestCaseData> TypeCases()
    {
        static TestCaseData Case(string type, object? options, object[] accepted, object[] refused, string message) =>
            new TestCaseData(type, options, accepted, refused, message).SetName($"Values_of_a_{type}_field_{(options is null ? "" : "with_options_")}are_checked");

        yield return Case("number", null, [42, -1.5, "3.25", ""], ["AAAAA", new { n = 1 }], "Please enter a number");
        yield return Case("date", null, ["2024-02-29", "2024/12/31", "31-12-2024", "12/31/2024"], ["31/12/2024", "2023-02-29", "Dec 1 2024", 20240101], "Please enter the date");
        yield return Case("date", new { date_format = "DD/MM/YYYY" }, ["31/12/2024", "2024-12-31"], ["12/31/2024"], "Please enter the date");
        yield return Case("birthday", null, ["01/22", "02/29"], ["22/01", "1/22", "1990-01-22", "13/01"], "Please enter a month (01-12) and a day (01-31)");
        yield return Case("birthday", new { date_format = "DD/MM" }, ["22/01"], ["01/22"], "Please enter a month (01-12) and a day (01-31)");
        yield return Case("address", null,
            [new { addr1 = "1 Main St", city = "Atlanta", state = "GA", zip = "30308" }, new { addr1 = "1 Rue", addr2 = "B", city = "Paris", state = "IDF", zip = "75001", country = "FR" }, ""],
            [new { addr1 = "1 Main St", city = "Atlanta", state = "GA" }, new { addr1 = "1 Main St", city = "Atlanta", state = "GA", zip = 30308 }, "1 Main St  Atlanta  GA  30308", new { addr1 = "1", city = "A", state = "G", zip = "3", floor = "2" }],
            "Please enter a complete address");
        yield return Case("phone", null, ["+44 20 7946 0000", "anything"], [5551234567], "Please enter a valid phone number");
        yield return Case("phone", new { phone_format = "US" }, ["(404) 555-0100", "404-555-0100", "+1 404 555 0100"], ["555-0100", "+44 20 7946 0000"], "Please enter a valid phone number");
        yield return Case("url", null, ["https://shop.test/a?b=c", "http://x.test"], ["shop.test", "ftp://x.test/f", "not a url"], "Please enter a valid URL");
        yield return Case("imageurl", null, ["https://cdn.test/a.png"], ["a.png"], "Please enter a valid URL");
        yield return Case("zip", null, ["30308"], ["3030", "30308-1234", 30308], "Please enter a five digit US zip code");
        yield return Case("radio", new { choices = new[] { "Yes", "No" } }, ["Yes", "No"], ["yes", "Maybe"], "Please choose one of: Yes, No");
        yield return Case("dropdown", new { choices = new[] { "S", "M" } }, ["M"], ["XL"], "Please choose one of: S, M");
        yield return Case("text", null, ["Ann", 12], [new { a = 1 }], "Please enter text");
    }

    [TestCaseSource(nameof(TypeCases))]
    public async Task Values_are_checked_against_the_field_type(string type, object? options, object[] accepted, object[] refused, string message)
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AddFieldAsync(client, listId, options is null ? new { name = "Field", type, tag = "F" } : new { name = "Field", type, tag = "F", options });
        Assert.Multiple(async () =>
        {
            foreach (var value in accepted)
            {
                using var ok = await PutAsync(client, listId, "ok@shop.test", new Dictionary<string, object> { ["F"] = value });
                Assert.That(ok.StatusCode, Is.EqualTo(HttpStatusCode.OK), $"{type} {System.Text.Json.JsonSerializer.Serialize(value)}: {await ok.Content.ReadAsStringAsync()}");
            }
            foreach (var value in refused)
                Assert.That(await MergeInvalidAsync(await PutAsync(client, listId, "no@shop.test", new Dictionary<string, object> { ["F"] = value })),
                    Is.EqualTo(new[] { ("F", message) }), $"{type} {System.Text.Json.JsonSerializer.Serialize(value)}");
        });
        Assert.That((await _host.GetMembersAsync(listId)).Select(m => m.EmailAddress), Is.EqualTo(new[] { "ok@shop.test" }));
    }

    [Test]
    public async Task Text_is_truncated_to_255_bytes()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        using var put = await PutAsync(client, listId, "t@shop.test", new { FNAME = new string('é', 200) });
        var stored = (await put.JsonAsync())["merge_fields"]!["FNAME"]!.GetValue<string>();
        Assert.That(stored, Is.EqualTo(new string('é', 127)));
    }

    [Test]
    public async Task Unknown_tags_bad_values_and_missing_required_fields_are_refused_together_on_every_member_write()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AddFieldAsync(client, listId, new { name = "City", type = "text", tag = "CITY", required = true });
        var expected = new[] { ("COMPANY", "The audience has no merge field with the tag \"COMPANY\"."), ("ADDRESS", "Please enter a complete address"), ("CITY", "Please enter a value") };
        var fields = new { company = "Acme", ADDRESS = "somewhere" };
        Assert.Multiple(async () =>
        {
            Assert.That(await MergeInvalidAsync(await PutAsync(client, listId, "u@shop.test", fields)), Is.EqualTo(expected));
            Assert.That(await MergeInvalidAsync(await client.PostAsJsonAsync($"lists/{listId}/members", new { email_address = "u@shop.test", status = "subscribed", merge_fields = fields })),
                Is.EqualTo(expected));
        });
        using var created = await PutAsync(client, listId, "u@shop.test", new { CITY = "Atlanta" });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await MergeInvalidAsync(await client.PatchAsJsonAsync($"lists/{listId}/members/u@shop.test", new { merge_fields = new { NOPE = "x" } })),
            Is.EqualTo(new[] { ("NOPE", "The audience has no merge field with the tag \"NOPE\".") }));

        // A value that is neither string, number nor object fails the request schema, skipped or not.
        foreach (var query in new[] { "", "?skip_merge_validation=true" })
            Assert.That(await InvalidAsync(await PutAsync(client, listId, "u@shop.test", new Dictionary<string, object?> { ["CITY"] = true, ["FNAME"] = null }, query)),
                Is.EqualTo(new[] { ("merge_fields.CITY", "Data did not match any of the schemas described in anyOf."), ("merge_fields.FNAME", "Data did not match any of the schemas described in anyOf.") }));
    }

    [Test]
    public async Task Skip_merge_validation_stores_values_unchecked_and_drops_tags_without_a_field()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AddFieldAsync(client, listId, new { name = "Birthday", type = "birthday", tag = "BDAY", required = true });
        using var put = await PutAsync(client, listId, "s@shop.test", new { BDAY = "1990-01-22", COMPANY = "Acme" }, "?skip_merge_validation=true");
        var member = await put.JsonAsync();
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), member.ToJsonString());
        Assert.That(member["merge_fields"]!["BDAY"]!.GetValue<string>(), Is.EqualTo("1990-01-22"));
        Assert.That(member["merge_fields"]!.AsObject().ContainsKey("COMPANY"), Is.False);
    }

    [Test]
    public async Task Batch_subscribe_reports_merge_field_errors_per_member()
    {
        var (_, client, listId) = await _host.NewAudienceAsync();
        await AddFieldAsync(client, listId, new { name = "Birthday", type = "birthday", tag = "BDAY" });
        object Member(string email, object fields) => new { email_address = email, status = "subscribed", merge_fields = fields };
        var members = new[]
        {
            Member("good@shop.test", new { BDAY = "01/22", FNAME = "Good" }),
            Member("date@shop.test", new { BDAY = "1990-01-22" }),
            Member("tag@shop.test", new { COMPANY = "Acme" }),
            Member("bool@shop.test", new Dictionary<string, object> { ["FNAME"] = false }),
        };
        var result = await (await client.PostAsJsonAsync($"lists/{listId}", new { members })).JsonAsync();
        var errors = result["errors"]!.AsArray().Select(e => (
            e!["email_address"]!.GetValue<string>(), e["error"]!.GetValue<string>(), e["error_code"]!.GetValue<string>(), e["field"]!.GetValue<string>(), e["field_message"]!.GetValue<string>()));
        Assert.That(result["total_created"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(errors, Is.EquivalentTo(new[]
        {
            ("date@shop.test", "Your merge fields were invalid.", "ERROR_GENERIC", "BDAY", "Please enter a month (01-12) and a day (01-31)"),
            ("tag@shop.test", "Your merge fields were invalid.", "ERROR_GENERIC", "COMPANY", "The audience has no merge field with the tag \"COMPANY\"."),
            ("bool@shop.test", "Data did not match any of the schemas described in anyOf.", "ERROR_GENERIC", "merge_fields.FNAME", "Data did not match any of the schemas described in anyOf."),
        }));

        var skipped = await (await client.PostAsJsonAsync($"lists/{listId}?skip_merge_validation=true", new { members = members[1..3] })).JsonAsync();
        Assert.That(skipped["total_created"]!.GetValue<int>(), Is.EqualTo(2));
    }
}
