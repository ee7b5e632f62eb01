using System.Net.Http.Headers;
using System.Text;
using System.Text.Encodings.Web;
using Hub.Core.OAuth;
using Hub.Core.Storage;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Hub.Api.OAuth;

/// <summary>
/// Hub's result pages for the consent flow: server-rendered, no external assets, Dutch and English,
/// every value HTML-encoded.
/// </summary>
public static class ConsentPages
{
    private static readonly HtmlEncoder Html = HtmlEncoder.Default;

    private const string Style = """
        body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;background:#ffffff;color:#1a1a1a;line-height:1.5;margin:0}
        main{max-width:36rem;margin:3rem auto;padding:0 1.25rem}
        h1{font-size:1.6rem;margin-bottom:.5rem}
        .ok{border-left:.4rem solid #0b6b2e;padding-left:1rem}
        .fail{border-left:.4rem solid #a4161a;padding-left:1rem}
        .note{background:#fff4d6;color:#3d2e00;padding:.75rem 1rem;border-radius:.25rem}
        .requester{color:#3a3a3a;margin-bottom:0}
        a{color:#0b4f9c}
        a.button{display:inline-block;background:#0b4f9c;color:#ffffff;padding:.6rem 1.2rem;border-radius:.25rem;text-decoration:none;margin-top:1rem}
        a:focus,a.button:focus{outline:3px solid #1a1a1a;outline-offset:2px}
        """;

    /// <summary>The page language: <c>?locale=</c>, then the consent link's locale, then Accept-Language, then English.</summary>
    public static string Locale(HttpRequest request, string? stored)
    {
        if (request.Query["locale"].ToString() is var query && ConsentHandshake.Locales.Contains(query))
        {
            return query;
        }

        if (stored is not null && ConsentHandshake.Locales.Contains(stored))
        {
            return stored;
        }

        var preferred = request.Headers.AcceptLanguage.ToString().Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(part => StringWithQualityHeaderValue.TryParse(part, out var value) ? value : null)
            .OfType<StringWithQualityHeaderValue>()
            .OrderByDescending(value => value.Quality ?? 1)
            .Select(value => value.Value.Split('-')[0].ToLowerInvariant())
            .FirstOrDefault(ConsentHandshake.Locales.Contains);
        return preferred ?? "en";
    }

    /// <summary>The page after a connected consent: who asked, the account, and any issue with the handed-over values.</summary>
    public static ContentHttpResult Success(string locale, string? tenantName, string? accountName, IReadOnlyList<ConsentIssue> issues)
    {
        var nl = locale == "nl";
        var body = Requester(tenantName, nl)
            .Append("<div class=\"ok\"><h1>").Append(nl ? "Mailchimp is gekoppeld" : "Mailchimp is connected").Append("</h1>")
            .Append("<p>").Append(nl ? "Mailchimp-account: " : "Mailchimp account: ")
            .Append("<strong id=\"account-name\">").Append(Html.Encode(accountName ?? "")).Append("</strong></p>")
            .Append("<p>").Append(nl
                ? "De koppeling is klaar. U hoeft dit maar één keer te doen; u kunt dit venster sluiten."
                : "The connection is ready. You only need to do this once; you can close this window.").Append("</p></div>");
        if (issues.Count > 0)
        {
            body.Append("<p class=\"note\" role=\"note\" id=\"issue\"><strong>").Append(nl ? "Let op: " : "Please note: ").Append("</strong>")
                .Append(Html.Encode(string.Join(" ", issues.Select(issue => issue.Text(locale))))).Append(' ')
                .Append(nl ? "Controleer de gegevens die u aan de applicatie hebt gegeven." : "Check the values you handed to the application.").Append("</p>");
        }

        return Page(locale, nl ? "Mailchimp gekoppeld" : "Mailchimp connected", body.ToString(), StatusCodes.Status200OK);
    }

    /// <summary>A consent that did not connect; <paramref name="tenantName"/> (who asked) when known.</summary>
    public static ContentHttpResult Failure(string locale, ConsentFailure failure, string? returnUrl, string? tenantName)
    {
        var nl = locale == "nl";
        var (title, what, next) = Texts(failure, nl);
        var body = Requester(tenantName, nl).Append(FailureBody(nl, title, what, next, ConsentHandshake.ReasonCode(failure)));
        AppendBackLink(body, returnUrl, nl);
        return Page(locale, title, body.ToString(), StatusCodes.Status400BadRequest);
    }

    /// <summary>404 on <c>/oauth2/result</c> with no result for this browser: already shown, expired, or never there.</summary>
    public static ContentHttpResult ResultUnavailable(string locale)
    {
        var nl = locale == "nl";
        var (title, what, next) = nl
            ? ("Er is hier niets (meer) te zien", "Het resultaat van een koppeling wordt één keer getoond, direct na afloop, in de browser waarin u koppelde.", "Of Mailchimp gekoppeld is, ziet u in de applicatie. Wilt u opnieuw koppelen, vraag daar dan een nieuwe koppellink aan.")
            : ("Nothing (more) to show here", "The result of a connection is shown once, right after it finished, in the browser that made it.", "The application shows whether Mailchimp is connected. To connect again, ask it for a new connection link.");
        return Page(locale, title, FailureBody(nl, title, what, next, "result_unavailable").ToString(), StatusCodes.Status404NotFound);
    }

    /// <summary>503: Hub's store did not answer, so the consent step could not run. The caller sets Retry-After.</summary>
    public static ContentHttpResult StoreUnavailable(string locale)
    {
        var nl = locale == "nl";
        var (title, what, next) = nl
            ? ("Hub is even niet bereikbaar", "Hub kan zijn gegevensopslag nu niet bereiken en kon deze stap daarom niet uitvoeren.", "Probeer het over een paar seconden opnieuw. Meldt de pagina dan dat de link niet meer werkt, vraag in de applicatie een nieuwe koppellink aan.")
            : ("Hub is briefly unavailable", "Hub cannot reach its data store right now, so it could not take this step.", "Try again in a few seconds. If the page then says the link no longer works, ask the application for a new connection link.");
        return Page(locale, title, FailureBody(nl, title, what, next, StoreFaults.Code).ToString(), StatusCodes.Status503ServiceUnavailable);
    }

    /// <summary>Who asks for access: the tenant's name, HTML-encoded; nothing when it is not known.</summary>
    private static StringBuilder Requester(string? tenantName, bool nl)
    {
        var text = new StringBuilder();
        if (!string.IsNullOrWhiteSpace(tenantName))
        {
            text.Append("<p class=\"requester\" id=\"requester\"><strong>").Append(Html.Encode(tenantName)).Append("</strong>")
                .Append(nl ? " vraagt toegang tot uw Mailchimp-account." : " asks for access to your Mailchimp account.").Append("</p>");
        }

        return text;
    }

    private static StringBuilder FailureBody(bool nl, string title, string what, string next, string code) => new StringBuilder()
        .Append("<div class=\"fail\"><h1>").Append(Html.Encode(title)).Append("</h1>")
        .Append("<h2>").Append(nl ? "Wat er gebeurde" : "What happened").Append("</h2><p>").Append(Html.Encode(what)).Append("</p>")
        .Append("<h2>").Append(nl ? "Wat u nu kunt doen" : "What to do next").Append("</h2><p>").Append(Html.Encode(next)).Append("</p>")
        .Append("<p><small>Code: ").Append(Html.Encode(code)).Append("</small></p></div>");

    private static void AppendBackLink(StringBuilder body, string? returnUrl, bool nl)
    {
        if (returnUrl is not null)
        {
            body.Append("<p><a class=\"button\" href=\"").Append(Html.Encode(returnUrl)).Append("\">")
                .Append(nl ? "Terug naar de applicatie" : "Back to the application").Append("</a></p>");
        }
    }

    private static (string Title, string What, string Next) Texts(ConsentFailure failure, bool nl) => failure switch
    {
        ConsentFailure.LinkInvalid => nl
            ? ("Deze koppellink werkt niet meer", "De link is onbekend, al gebruikt of verlopen. Een koppellink werkt maar één keer.", "Vraag in de applicatie een nieuwe koppellink aan en open die.")
            : ("This connection link no longer works", "The link is unknown, already used or expired. A connection link works only once.", "Ask the application for a new connection link and open it."),
        ConsentFailure.TenantUnavailable => nl
            ? ("Koppelen is nu niet mogelijk", "Het account in de applicatie is uitgeschakeld of bestaat niet meer.", "Neem contact op met de beheerder van de applicatie.")
            : ("Connecting is not possible now", "The account in the application is disabled or no longer exists.", "Contact the administrator of the application."),
        ConsentFailure.NotConfigured => nl
            ? ("De Mailchimp-app ontbreekt", "Er zijn geen gegevens van een Mailchimp-app ingesteld, dus er valt niets goed te keuren.", "Vul in de applicatie de Client ID en het Client secret in en vraag dan een nieuwe link aan.")
            : ("The Mailchimp app is missing", "No Mailchimp app details are set, so there is nothing to approve.", "Enter the Client ID and Client secret in the application, then ask for a new link."),
        ConsentFailure.AccessDenied => nl
            ? ("U hebt geen toestemming gegeven", "U koos bij Mailchimp voor weigeren, dus er is niets gekoppeld.", "Wilt u toch koppelen? Vraag een nieuwe link aan en kies bij Mailchimp voor toestaan.")
            : ("You did not give permission", "You chose to deny access at Mailchimp, so nothing was connected.", "Want to connect after all? Ask for a new link and choose Allow at Mailchimp."),
        ConsentFailure.AuthorizationError => nl
            ? ("Mailchimp meldde een fout", "Mailchimp stuurde een fout terug in plaats van toestemming.", "Controleer of de Mailchimp-app de juiste redirect-URI heeft en probeer het met een nieuwe link opnieuw.")
            : ("Mailchimp reported an error", "Mailchimp sent an error back instead of a permission.", "Check that the Mailchimp app has the right redirect URI and try again with a new link."),
        ConsentFailure.StateInvalid => nl
            ? ("Deze aanmelding is verlopen", "De terugkeer van Mailchimp hoort niet bij een lopende koppeling: te laat, al gebruikt of onbekend.", "Begin opnieuw met een nieuwe koppellink uit de applicatie; rond het binnen 10 minuten af.")
            : ("This sign-in has expired", "The return from Mailchimp does not belong to a connection in progress: too late, already used or unknown.", "Start again with a new connection link from the application and finish within 10 minutes."),
        ConsentFailure.CookieMismatch => nl
            ? ("Andere browser herkend", "De koppeling is in een andere browser (of met geblokkeerde cookies) begonnen dan waarin hij terugkwam.", "Open een nieuwe koppellink en rond alles af in dezelfde browser, met cookies toegestaan.")
            : ("A different browser came back", "The connection was started in another browser (or with cookies blocked) than the one that returned.", "Open a new connection link and finish everything in the same browser, with cookies allowed."),
        ConsentFailure.MissingCode => nl
            ? ("Antwoord van Mailchimp onvolledig", "Mailchimp stuurde geen toestemmingscode mee.", "Probeer het opnieuw met een nieuwe koppellink.")
            : ("Incomplete answer from Mailchimp", "Mailchimp did not send a permission code.", "Try again with a new connection link."),
        ConsentFailure.TokenExchangeFailed => nl
            ? ("Mailchimp weigerde de koppeling", "Mailchimp accepteerde de gegevens van de app niet (bijvoorbeeld een gewijzigd Client secret) of de code was verlopen.", "Controleer de Client ID en het Client secret in de applicatie en vraag een nieuwe link aan.")
            : ("Mailchimp refused the connection", "Mailchimp did not accept the app's details (for example a changed Client secret) or the code had expired.", "Check the Client ID and Client secret in the application and ask for a new link."),
        ConsentFailure.MetadataFailed => nl
            ? ("Accountgegevens niet opgehaald", "Mailchimp gaf toestemming, maar de gegevens van het account konden niet worden opgehaald.", "Probeer het over een paar minuten opnieuw met een nieuwe link.")
            : ("Account details not retrieved", "Mailchimp gave permission, but the account details could not be retrieved.", "Try again in a few minutes with a new link."),
        _ => nl
            ? ("De instellingen zijn gewijzigd", "De gegevens van de Mailchimp-app zijn veranderd terwijl u bij Mailchimp was.", "Vraag een nieuwe koppellink aan en probeer het opnieuw.")
            : ("The settings changed", "The Mailchimp app details changed while you were at Mailchimp.", "Ask for a new connection link and try again."),
    };

    private static ContentHttpResult Page(string locale, string title, string body, int status)
    {
        var html = $"""
            <!DOCTYPE html>
            <html lang="{locale}">
            <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{Html.Encode(title)} – Hub</title>
            <style>{Style}</style></head>
            <body><main>{body}</main></body>
            </html>
            """;
        return TypedResults.Content(html, "text/html; charset=utf-8", Encoding.UTF8, status);
    }
}
