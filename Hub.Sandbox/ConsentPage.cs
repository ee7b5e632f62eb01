using System.Text;
using System.Text.Encodings.Web;

namespace Hub.Sandbox;

/// <summary>The sandbox's consent screen: plain HTML forms and buttons, no external assets, so a headless browser can click "Allow".</summary>
internal static class ConsentPage
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    public static IResult Render(string clientId, string redirectUri, string? state, IReadOnlyList<SandboxAccount> accounts, string defaultAccountId)
    {
        var hidden = new StringBuilder()
            .Append(Hidden("response_type", "code")).Append(Hidden("client_id", clientId)).Append(Hidden("redirect_uri", redirectUri));
        if (state is not null) hidden.Append(Hidden("state", state));

        string accountField;
        if (accounts.Count == 1)
        {
            accountField = Hidden("account", accounts[0].Id) + $"<p>Account: <strong id=\"account-name\">{Html.Encode(accounts[0].Name)}</strong></p>";
        }
        else
        {
            var options = string.Concat(accounts.Select(a =>
                $"<option value=\"{Html.Encode(a.Id)}\"{(a.Id == defaultAccountId ? " selected" : "")}>{Html.Encode(a.Name)} ({Html.Encode(a.Dc)})</option>"));
            accountField = $"<p><label>Account: <select name=\"account\" id=\"account\">{options}</select></label></p>";
        }

        var page = $$"""
            <!DOCTYPE html>
            <html lang="en"><head><meta charset="utf-8"><title>Mailchimp Sandbox - Authorize</title>
            <style>body{font-family:sans-serif;max-width:32rem;margin:3rem auto}button{font-size:1rem;padding:.5rem 1.5rem;margin-right:1rem}</style>
            </head><body>
            <h1>Mailchimp Sandbox</h1>
            <p><strong>{{Html.Encode(clientId)}}</strong> wants to access your Mailchimp account.</p>
            <form method="post" action="authorize" id="allow-form">{{hidden}}{{accountField}}<input type="hidden" name="decision" value="allow"><button type="submit" id="allow">Allow</button></form>
            <form method="post" action="authorize" id="deny-form">{{hidden}}<input type="hidden" name="decision" value="deny"><button type="submit" id="deny">Deny</button></form>
            </body></html>
            """;
        return TypedResults.Content(page, "text/html", Encoding.UTF8);
    }

    public static IResult Error(string message) =>
        TypedResults.Content(
            $"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Invalid request</title></head><body><h1>Invalid request</h1><p>{Html.Encode(message)}</p></body></html>",
            "text/html", Encoding.UTF8, 400);

    private static string Hidden(string name, string value) =>
        $"<input type=\"hidden\" name=\"{name}\" value=\"{Html.Encode(value)}\">";
}
