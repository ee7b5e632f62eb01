using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using Hub.Core.Mailchimp;
using Hub.Core.Members;

namespace Hub.Core.People;

/// <summary>
/// One person's address, normalised as Mailchimp identifies a contact (<see cref="ErasedPeople.Normalize"/>: trimmed,
/// lower-cased), with its subscriber hash, and what tells whether a stored text mentions them: the address in any case,
/// URL-encoded, or its subscriber hash; inside JSON also when escaped. <see cref="ToString"/> never shows the address, so
/// it does not reach a log or a trace by accident.
/// </summary>
public sealed class Person
{
    private Person(string address)
    {
        Address = address;
        SubscriberHash = Mailchimp.SubscriberHash.FromEmail(address).Value;
    }

    /// <summary>The normalised address.</summary>
    public string Address { get; }

    /// <summary>Mailchimp's id of the contact in every audience: MD5 of <see cref="Address"/>.</summary>
    public string SubscriberHash { get; }

    /// <summary>A person for a valid address (any case, surrounding spaces allowed); false for anything Mailchimp would refuse as malformed.</summary>
    public static bool TryCreate(string? email, [NotNullWhen(true)] out Person? person)
    {
        person = email is not null && MailchimpEmail.IsValid(ErasedPeople.Normalize(email)) ? new Person(ErasedPeople.Normalize(email)) : null;
        return person is not null;
    }

    /// <summary>Whether <paramref name="text"/> holds the address (in any case, or URL-encoded) or its subscriber hash.</summary>
    public bool IsIn(string? text) =>
        !string.IsNullOrEmpty(text)
        && (text.Contains(Address, StringComparison.OrdinalIgnoreCase)
            || text.Contains(Uri.EscapeDataString(Address), StringComparison.OrdinalIgnoreCase)
            || text.Contains(SubscriberHash, StringComparison.OrdinalIgnoreCase));

    /// <summary>Whether a stored JSON document mentions the person in any of its names or string values (read unescaped), or in its text.</summary>
    public bool IsInJson(string json)
    {
        if (IsIn(json))
        {
            return true;
        }

        try
        {
            using var document = JsonDocument.Parse(json);
            return IsIn(document.RootElement);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    public bool IsIn(Jobs.MemberError error) => IsIn(error.Email) || IsIn(error.Reason);

    /// <summary>The text with every mention of the address or its hash replaced, for a message Hub keeps (a Mailchimp error detail).</summary>
    public string Redact(string text) =>
        text.Replace(Address, "(the address)", StringComparison.OrdinalIgnoreCase).Replace(SubscriberHash, "(its hash)", StringComparison.OrdinalIgnoreCase);

    public override string ToString() => "[person]";

    private bool IsIn(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.String => IsIn(element.GetString()),
        JsonValueKind.Object => element.EnumerateObject().Any(property => IsIn(property.Name) || IsIn(property.Value)),
        JsonValueKind.Array => element.EnumerateArray().Any(IsIn),
        _ => false,
    };
}
