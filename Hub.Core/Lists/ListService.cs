using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Hub.Core.Audiences;
using Hub.Core.Mailchimp;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Core.Webhooks;

namespace Hub.Core.Lists;

/// <summary>A request to link a host list: to an existing managed audience (<see cref="AudienceId"/>) or a new one (<see cref="NewAudience"/>), whole or as a tag.</summary>
public sealed record ListLink(
    string? Key, string? Name, string? Mode, string? AudienceId, AudienceDraft? NewAudience, string? Tag,
    string? DefaultStatus, string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields = null);

/// <summary>What may change on a linked list; null fields stay as they are. <see cref="Fields"/> replaces the declared fields.</summary>
public sealed record ListChanges(
    string? Name, string? PermissionReminder, string? DefaultStatus, string? RemovalPolicy, IReadOnlyList<ListFieldDeclaration?>? Fields = null);

/// <summary>A list with how many members Hub has synced into it.</summary>
public sealed record ListView(HostList List, long MemberCount);

/// <summary>Links host lists to managed audiences or tags, and unlinks them.</summary>
public sealed class ListService(
    ListStore lists, IListMembers members, AudienceService audiences, TenantMailchimp tenantMailchimp, ListFieldProvisioner fields,
    IWebhookPublisher webhooks, TimeProvider time)
{
    public const int MaxTagLength = 100;

    public async Task<MailchimpResult<ListView>> LinkAsync(Tenant tenant, ListLink link, CancellationToken cancellationToken)
    {
        var errors = new List<MailchimpFieldError>();
        if (!ListKey.TryParse(link.Key, out var key))
        {
            errors.Add(new("key", ListKey.Rule));
        }

        if (link.Name is { Length: > 100 } || (link.Name is not null && string.IsNullOrWhiteSpace(link.Name)))
        {
            errors.Add(new("name", "A name has 1 to 100 characters."));
        }

        var mode = ParseMode(link.Mode, errors);
        if (string.IsNullOrWhiteSpace(link.AudienceId) == (link.NewAudience is null))
        {
            errors.Add(new("audienceId", "Give either audienceId (an audience Hub manages) or newAudience (to create one)."));
        }

        if (mode == ListMode.Audience && link.Tag is not null)
        {
            errors.Add(new("tag", "A tag applies only to mode 'tag'."));
        }
        else if (link.Tag is not null && (string.IsNullOrWhiteSpace(link.Tag) || link.Tag.Length > MaxTagLength))
        {
            errors.Add(new("tag", $"A tag has 1 to {MaxTagLength} characters."));
        }

        var defaultStatus = ParseStatus(link.DefaultStatus, errors) ?? NewMemberStatus.Subscribed;
        var removalPolicy = ParsePolicy(link.RemovalPolicy, errors) ?? RemovalPolicy.Archive;
        var declared = ListFieldRules.Validate(link.Fields, errors);
        if (link.NewAudience is { } draft)
        {
            errors.AddRange(AudienceService.Validate(draft.Name, draft.PermissionReminder ?? tenant.DefaultPermissionReminder,
                draft.Contact ?? tenant.DefaultContact, draft.CampaignDefaults ?? tenant.DefaultCampaignDefaults, requireAll: true)
                .Select(error => error with { Field = "newAudience." + error.Field }));
        }

        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        if (await lists.GetAsync(tenant.Id, key, cancellationToken) is not null)
        {
            return FacadeErrors.Create(FacadeErrors.ListExists, "List exists", $"This tenant already has a list '{key}'. Update or unlink it instead.");
        }

        string audienceId;
        if (link.NewAudience is { } newAudience)
        {
            var created = await audiences.CreateAsync(tenant, newAudience, cancellationToken);
            if (!created.IsSuccess)
            {
                return created.Error;
            }

            audienceId = created.Value.Id;
        }
        else
        {
            audienceId = link.AudienceId!.Trim();
            if (await tenantMailchimp.GuardAsync(tenant.Id, audienceId, cancellationToken) is { } notManaged)
            {
                return notManaged;
            }

            var sharing = await lists.ListInAudienceAsync(tenant.Id, audienceId, cancellationToken);
            if (sharing.Any(other => other.Mode == ListMode.Audience) || (mode == ListMode.Audience && sharing.Count > 0))
            {
                return FacadeErrors.Create(FacadeErrors.AudienceInUse, "Audience in use",
                    $"Audience '{audienceId}' already holds {string.Join(", ", sharing.Select(other => $"'{other.Key}'"))}. " +
                    "A list in mode 'audience' needs the audience to itself; use mode 'tag' to share one audience between lists.");
            }
        }

        var provisioned = await ProvisionAsync(tenant, audienceId, declared, cancellationToken);
        if (!provisioned.IsSuccess)
        {
            return provisioned.Error;
        }

        var now = time.GetUtcNow();
        var list = new HostList
        {
            Key = key,
            Name = link.Name?.Trim() ?? key.ToString(),
            Mode = mode,
            AudienceId = audienceId,
            Tag = mode == ListMode.Tag ? (link.Tag?.Trim() ?? key.ToString()) : null,
            DefaultStatus = defaultStatus,
            RemovalPolicy = removalPolicy,
            Fields = provisioned.Value,
            CreatedAt = now,
            UpdatedAt = now,
        };
        return await lists.CreateAsync(tenant.Id, list, cancellationToken)
            ? new ListView(list, 0)
            : FacadeErrors.Create(FacadeErrors.ListExists, "List exists", $"This tenant already has a list '{key}'.");
    }

    public async Task<MailchimpResult<ListView>> GetAsync(Tenant tenant, ListKey key, CancellationToken cancellationToken) =>
        await lists.GetAsync(tenant.Id, key, cancellationToken) is { } list
            ? new ListView(list, await members.CountAsync(tenant.Id, key, cancellationToken))
            : FacadeErrors.ListMissing(key.ToString());

    /// <summary>A page of the tenant's lists by key, after <paramref name="after"/> (the last key seen), with their member counts.</summary>
    public async Task<Page<ListView>> ListAsync(Tenant tenant, PageCursor? after, int limit, CancellationToken cancellationToken)
    {
        var page = Page<HostList>.Of(await lists.ListAsync(tenant.Id, cancellationToken), list => new PageCursor(0, list.Key.ToString()), after, limit);
        var counts = await Task.WhenAll(page.Items.Select(list => members.CountAsync(tenant.Id, list.Key, cancellationToken)));
        return new Page<ListView>([.. page.Items.Select((list, i) => new ListView(list, counts[i]))], page.NextCursor, page.Total);
    }

    public async Task<MailchimpResult<ListView>> UpdateAsync(Tenant tenant, ListKey key, ListChanges changes, CancellationToken cancellationToken)
    {
        var errors = new List<MailchimpFieldError>();
        if (changes.Name is { } name && (string.IsNullOrWhiteSpace(name) || name.Length > 100))
        {
            errors.Add(new("name", "A name has 1 to 100 characters."));
        }

        var status = ParseStatus(changes.DefaultStatus, errors);
        var policy = ParsePolicy(changes.RemovalPolicy, errors);
        var declared = ListFieldRules.Validate(changes.Fields, errors);
        if (changes.PermissionReminder is { } reminder && string.IsNullOrWhiteSpace(reminder))
        {
            errors.Add(new("permissionReminder", "A permission reminder cannot be empty."));
        }

        if (errors.Count > 0)
        {
            return FacadeErrors.Invalid(errors);
        }

        if (await lists.GetAsync(tenant.Id, key, cancellationToken) is not { } current)
        {
            return FacadeErrors.ListMissing(key.ToString());
        }

        if (changes.PermissionReminder is { } permissionReminder)
        {
            if (current.Mode == ListMode.Tag)
            {
                return FacadeErrors.Invalid("permissionReminder",
                    $"In mode 'tag' the permission reminder belongs to audience '{current.AudienceId}', shared by its lists; change it with PATCH /api/v1/audiences/{current.AudienceId}.");
            }

            var updated = await audiences.UpdateAsync(tenant, current.AudienceId, new AudienceChanges(null, permissionReminder, null, null), cancellationToken);
            if (!updated.IsSuccess)
            {
                return updated.Error;
            }
        }

        var provisioned = await ProvisionAsync(tenant, current.AudienceId, declared, cancellationToken);
        if (!provisioned.IsSuccess)
        {
            return provisioned.Error;
        }

        var now = time.GetUtcNow();
        var saved = await lists.UpdateAsync(tenant.Id, key, list => list with
        {
            Name = changes.Name?.Trim() ?? list.Name,
            Fields = declared is null ? list.Fields : provisioned.Value,
            DefaultStatus = status ?? list.DefaultStatus,
            RemovalPolicy = policy ?? list.RemovalPolicy,
            UpdatedAt = now,
        }, cancellationToken);
        return saved is null
            ? FacadeErrors.ListMissing(key.ToString())
            : new ListView(saved, await members.CountAsync(tenant.Id, key, cancellationToken));
    }

    /// <summary>
    /// Unlinks a list. Tag mode: removes the list's tag from the members Hub tagged (the contacts stay).
    /// Audience mode: deletes the audience in Mailchimp only when <paramref name="deleteAudience"/> is set.
    /// Then sends <c>list.unlinked</c>.
    /// </summary>
    public async Task<MailchimpResult> UnlinkAsync(Tenant tenant, ListKey key, bool deleteAudience, CancellationToken cancellationToken)
    {
        if (await lists.GetAsync(tenant.Id, key, cancellationToken) is not { } list)
        {
            return FacadeErrors.ListMissing(key.ToString());
        }

        if (deleteAudience && list.Mode == ListMode.Tag)
        {
            return FacadeErrors.Invalid("deleteAudience", "Only a list in mode 'audience' owns its audience; a tag list shares it with other lists.");
        }

        if (list.Mode == ListMode.Tag && await members.CountAsync(tenant.Id, key, cancellationToken) > 0)
        {
            if (await members.UntagAllAsync(tenant, list, cancellationToken) is { } untagError)
            {
                return untagError;
            }
        }

        if (deleteAudience)
        {
            var deleted = await audiences.DeleteAsync(tenant, list.AudienceId, cancellationToken, unlinking: key);
            if (!deleted.IsSuccess && deleted.Error.Code != MailchimpErrorCodes.NotFound)
            {
                return deleted;
            }
        }

        // Queued before Hub forgets the list, keyed by this link of the key (its creation time): an unlink that fails
        // after this point and is repeated sends one event, and a later link of the same key unlinked again sends its own.
        var unlinked = new JsonObject
        {
            ["listKey"] = key.ToString(),
            ["audienceId"] = list.AudienceId,
            ["mode"] = SnakeCase<ListMode>.ToText(list.Mode),
            ["tag"] = list.Tag,
            ["audienceDeleted"] = deleteAudience,
            ["unlinkedAt"] = time.GetUtcNow(),
        };
        await webhooks.PublishAsync(tenant.Id, WebhookEvents.ListUnlinked, JsonSerializer.SerializeToElement(unlinked, HubJsonContext.Default.JsonObject),
            eventKey: $"{key}\n{list.CreatedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)}", cancellationToken);

        await members.ForgetAsync(tenant.Id, key, cancellationToken);
        await lists.DeleteAsync(tenant.Id, key, cancellationToken);
        return MailchimpResult.Success;
    }

    /// <summary>
    /// Provisions the declared fields on the audience (<see cref="ListFieldProvisioner"/>): the list's fields, or null when
    /// none are declared (or <paramref name="declared"/> is null: nothing to change).
    /// </summary>
    private async Task<MailchimpResult<IReadOnlyList<ListField>?>> ProvisionAsync(
        Tenant tenant, string audienceId, IReadOnlyList<ListFieldDeclaration>? declared, CancellationToken cancellationToken)
    {
        if (declared is not { Count: > 0 })
        {
            return MailchimpResult<IReadOnlyList<ListField>?>.Success(null);
        }

        var (credential, error) = await tenantMailchimp.CredentialAsync(tenant, cancellationToken);
        if (credential is null)
        {
            return error!;
        }

        var provisioned = await fields.ProvisionAsync(tenant.Id, credential, audienceId, declared, cancellationToken);
        return provisioned.IsSuccess ? MailchimpResult<IReadOnlyList<ListField>?>.Success(provisioned.Value) : provisioned.Error;
    }

    private static ListMode ParseMode(string? value, List<MailchimpFieldError> errors) =>
        Parse<ListMode>(value, ListMode.Audience, "mode", "Mode is 'audience' (the list is the whole audience) or 'tag' (the list is a tag in a shared audience).", errors)
        ?? ListMode.Audience;

    private static NewMemberStatus? ParseStatus(string? value, List<MailchimpFieldError> errors) =>
        Parse<NewMemberStatus>(value, null, "defaultStatus", "The default status is 'subscribed' or 'pending' (double opt-in).", errors);

    private static RemovalPolicy? ParsePolicy(string? value, List<MailchimpFieldError> errors) =>
        Parse<RemovalPolicy>(value, null, "removalPolicy", "The removal policy is 'archive', 'unsubscribe' or 'none'.", errors);

    /// <summary>The member named by <paramref name="value"/> (its snake_case text), <paramref name="absent"/> when there is none, or null with the field's error.</summary>
    private static TEnum? Parse<TEnum>(string? value, TEnum? absent, string field, string rule, List<MailchimpFieldError> errors) where TEnum : struct, Enum
    {
        if (value is null)
        {
            return absent;
        }

        if (SnakeCase<TEnum>.TryParse(value, out var parsed))
        {
            return parsed;
        }

        errors.Add(new(field, rule));
        return null;
    }
}
