using Hub.Core.Audiences;
using Hub.Core.Lists;
using Hub.Core.Mailchimp;
using Hub.Core.Members;
using Hub.Core.Tenants;

namespace Hub.Core.People;

/// <summary>What Mailchimp holds of a person in one managed audience: the contact (null when there is none), the tenant's lists there that hold it, or why it could not be read.</summary>
public sealed record PersonInAudience(string AudienceId, MemberView? Contact, IReadOnlyList<ListKey> Lists, MailchimpError? Error);

/// <summary>
/// One of the tenant's lists that holds the person, in Mailchimp or in Hub's records. Hub keeps no time per member: the list's
/// last sync (<see cref="HostList.LastSync"/>) is when Hub last wrote or confirmed its members; a single upsert since is not in it.
/// </summary>
public sealed record PersonListView(ListKey Key, HostList? List, bool InMailchimp, PersonInList? Records);

/// <summary>Everything Hub and the tenant's managed audiences hold of a person (<c>GET /api/v1/people/{email}</c>).</summary>
public sealed record PersonReport(Person Person, string PersonHash, string? ErasureId, IReadOnlyList<PersonInAudience> Audiences, IReadOnlyList<PersonListView> Lists, PersonRecordsFound Records);

/// <summary>Answers a subject access request in one call: reads the contact in every managed audience of the tenant, and Hub's own records.</summary>
public sealed class PersonFinder(ErasedPeople erased, PersonRecords records, ListStore lists, TenantMailchimp tenantMailchimp, MailchimpClient mailchimp)
{
    public async Task<MailchimpResult<PersonReport>> FindAsync(Tenant tenant, string? email, CancellationToken cancellationToken)
    {
        if (!Person.TryCreate(email, out var person))
        {
            return FacadeErrors.Invalid("email", "Not a valid email address.");
        }

        var mark = await erased.MarkAsync(tenant.Id, person.Address);
        var erasure = await erased.ErasureOfAsync(tenant.Id, mark);
        var linked = await lists.ListAsync(tenant.Id, cancellationToken);
        var audiences = await ReadAudiencesAsync(tenant, person, linked, cancellationToken);
        var found = await records.FindAsync(tenant.Id, person, cancellationToken);

        var inMailchimp = audiences.SelectMany(audience => audience.Lists).ToHashSet();
        var recorded = found.Lists.ToDictionary(list => list.List);
        var keys = inMailchimp.Concat(recorded.Keys).Distinct().OrderBy(key => key.ToString(), StringComparer.Ordinal).ToList();
        var views = keys.Select(key => new PersonListView(key, linked.FirstOrDefault(list => list.Key == key), inMailchimp.Contains(key), recorded.GetValueOrDefault(key))).ToList();
        return new PersonReport(person, mark, erasure, audiences, views, found);
    }

    private async Task<IReadOnlyList<PersonInAudience>> ReadAudiencesAsync(Tenant tenant, Person person, IReadOnlyList<HostList> linked, CancellationToken cancellationToken)
    {
        var managed = await tenantMailchimp.ManagedAsync(tenant.Id, cancellationToken);
        var (credential, notConnected) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        var hash = SubscriberHash.Parse(person.SubscriberHash);
        return await Task.WhenAll(managed.Order(StringComparer.Ordinal).Select(async audienceId =>
        {
            if (credential is null)
            {
                return new PersonInAudience(audienceId, null, [], notConnected);
            }

            var read = await mailchimp.GetMemberAsync(credential, audienceId, hash, cancellationToken);
            if (!read.IsSuccess)
            {
                return new PersonInAudience(audienceId, null, [], read.Error.Code == MailchimpErrorCodes.NotFound ? null : read.Error);
            }

            var contact = read.Value;
            var holding = linked.Where(list => list.AudienceId == audienceId
                && (list.Mode == ListMode.Audience || contact.Tags?.Any(tag => tag.Name == list.Tag) == true)).Select(list => list.Key).ToList();
            return new PersonInAudience(audienceId, MemberView.From(contact, []), holding, null);
        }));
    }
}
