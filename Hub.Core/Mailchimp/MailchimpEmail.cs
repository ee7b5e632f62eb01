namespace Hub.Core.Mailchimp;

/// <summary>
/// Syntax check for addresses before they reach Mailchimp, rejecting what Mailchimp rejects as
/// invalid: no single '@', whitespace or control characters, quoted or odd local parts, dots at
/// the edges or doubled, a domain without a dot, bad labels, a non-alphabetic top-level domain.
/// Mailchimp's own "looks fake" judgement (reputation, disposable domains) cannot be checked here.
/// </summary>
public static class MailchimpEmail
{
    private const string LocalSpecials = "!#$%&'*+-/=?^_`{|}~.";

    public static bool IsValid(string? email)
    {
        if (string.IsNullOrEmpty(email) || email.Length > 254)
        {
            return false;
        }

        var at = email.IndexOf('@');
        if (at <= 0 || at != email.LastIndexOf('@') || at > 64 || at == email.Length - 1)
        {
            return false;
        }

        var local = email.AsSpan(0, at);
        var domain = email.AsSpan(at + 1);
        return IsValidLocal(local) && IsValidDomain(domain);
    }

    private static bool IsValidLocal(ReadOnlySpan<char> local)
    {
        if (local[0] == '.' || local[^1] == '.' || local.Contains("..", StringComparison.Ordinal))
        {
            return false;
        }

        foreach (var c in local)
        {
            if (!char.IsAsciiLetterOrDigit(c) && !LocalSpecials.Contains(c))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsValidDomain(ReadOnlySpan<char> domain)
    {
        var labels = 0;
        var lastLabel = ReadOnlySpan<char>.Empty;
        foreach (var range in domain.Split('.'))
        {
            var label = domain[range];
            if (label.Length is 0 or > 63 || label[0] == '-' || label[^1] == '-')
            {
                return false;
            }

            foreach (var c in label)
            {
                if (!char.IsAsciiLetterOrDigit(c) && c != '-')
                {
                    return false;
                }
            }

            labels++;
            lastLabel = label;
        }

        return labels >= 2 && lastLabel.Length >= 2 && (lastLabel.ContainsOnlyAsciiLetters() || lastLabel.StartsWith("xn--", StringComparison.OrdinalIgnoreCase));
    }

    private static bool ContainsOnlyAsciiLetters(this ReadOnlySpan<char> value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetter(c))
            {
                return false;
            }
        }

        return true;
    }
}
