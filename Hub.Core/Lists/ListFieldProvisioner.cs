using Hub.Core.Audiences;
using Hub.Core.Mailchimp;
using Hub.Core.Tenants;

namespace Hub.Core.Lists;

/// <summary>
/// Makes an audience hold the merge fields a list declares. A field the audience lacks is created (and remembered as
/// Hub's); one Hub created is kept in line with the declaration (name, required, choices); one Hub did not create is used
/// as it is. Hub never deletes a field or changes its type: a declared type that differs from the audience's field is a
/// <see cref="FacadeErrors.MergeFieldConflict"/> naming both types, found before anything is changed.
/// </summary>
public sealed class ListFieldProvisioner(MailchimpClient mailchimp, ListStore lists)
{
    private const int PageSize = 1000; // spec 3.0.55 getListsIdMergeFields: count at most 1000

    public async Task<MailchimpResult<IReadOnlyList<ListField>>> ProvisionAsync(
        TenantId tenant, MailchimpCredential credential, string audienceId, IReadOnlyList<ListFieldDeclaration> declared, CancellationToken cancellationToken)
    {
        if (declared.Count == 0)
        {
            return MailchimpResult<IReadOnlyList<ListField>>.Success([]);
        }

        var read = await ReadAsync(credential, audienceId, cancellationToken);
        if (!read.IsSuccess)
        {
            return read.Error;
        }

        var existing = read.Value;
        var clashes = declared.Select((field, i) => (Field: field, Index: i))
            .Where(entry => existing.TryGetValue(entry.Field.Tag!, out var current) && current.Type != entry.Field.Type)
            .Select(entry => new MailchimpFieldError($"fields[{entry.Index}].type",
                $"Audience '{audienceId}' has {entry.Field.Tag} as type {existing[entry.Field.Tag!].Type}; the list declares it as type {entry.Field.Type}."))
            .ToList();
        if (clashes.Count > 0)
        {
            return new MailchimpError(FacadeErrors.MergeFieldConflict, null, "Merge field conflict",
                string.Join(" ", clashes.Select(clash => clash.Message)) + " Hub never changes a field's type: declare the audience's type, or another tag.", clashes);
        }

        var createdByHub = await lists.FieldsCreatedAsync(tenant, audienceId, cancellationToken);
        var provisioned = new List<ListField>();
        foreach (var field in declared)
        {
            MailchimpResult<MailchimpMergeField> done;
            bool ours;
            if (existing.TryGetValue(field.Tag!, out var current))
            {
                ours = createdByHub.Contains(current.MergeId);
                done = ours && Differs(current, field)
                    ? await mailchimp.UpdateMergeFieldAsync(credential, audienceId, current.MergeId,
                        new MailchimpMergeFieldUpdate(field.Name!, field.Required ?? false, ChoicesOf(field)), cancellationToken)
                    : current;
            }
            else
            {
                (done, ours) = await CreateAsync(tenant, credential, audienceId, field, cancellationToken);
            }

            if (!done.IsSuccess)
            {
                return done.Error;
            }

            provisioned.Add(ToListField(done.Value, ours));
        }

        return MailchimpResult<IReadOnlyList<ListField>>.Success(provisioned);
    }

    /// <summary>Creates the field; when another request created the same tag meanwhile, uses that one if its type fits.</summary>
    private async Task<(MailchimpResult<MailchimpMergeField> Field, bool CreatedByHub)> CreateAsync(
        TenantId tenant, MailchimpCredential credential, string audienceId, ListFieldDeclaration field, CancellationToken cancellationToken)
    {
        var options = ListFieldTypes.HasChoices(field.Type!) ? ChoicesOf(field)
            : field.DateFormat is { } format ? new MailchimpMergeFieldOptions(DateFormat: format)
            : null;
        var created = await mailchimp.CreateMergeFieldAsync(credential, audienceId,
            new MailchimpMergeFieldCreate(field.Name!, field.Type!, field.Tag, field.Required ?? false, Options: options), cancellationToken);
        if (created.IsSuccess)
        {
            await lists.MarkFieldCreatedAsync(tenant, audienceId, created.Value.MergeId, created.Value.Tag, cancellationToken);
            return (created, true);
        }

        if (created.Error.Code != MailchimpErrorCodes.InvalidResource
            || (await ReadAsync(credential, audienceId, cancellationToken)) is not { IsSuccess: true } reread
            || !reread.Value.TryGetValue(field.Tag!, out var raced) || raced.Type != field.Type)
        {
            return (created, false);
        }

        return (raced, (await lists.FieldsCreatedAsync(tenant, audienceId, cancellationToken)).Contains(raced.MergeId));
    }

    /// <summary>Every merge field of the audience by tag.</summary>
    private async Task<MailchimpResult<Dictionary<string, MailchimpMergeField>>> ReadAsync(MailchimpCredential credential, string audienceId, CancellationToken cancellationToken)
    {
        var fields = new Dictionary<string, MailchimpMergeField>(StringComparer.Ordinal);
        for (var offset = 0; ; offset += PageSize)
        {
            var page = await mailchimp.GetMergeFieldsAsync(credential, audienceId, PageSize, offset, cancellationToken);
            if (!page.IsSuccess)
            {
                return page.Error;
            }

            foreach (var field in page.Value.MergeFields)
            {
                fields[field.Tag] = field;
            }

            if (page.Value.MergeFields.Count < PageSize || offset + PageSize >= page.Value.TotalItems)
            {
                return fields;
            }
        }
    }

    private static bool Differs(MailchimpMergeField current, ListFieldDeclaration declared) =>
        current.Name != declared.Name || current.Required != (declared.Required ?? false)
        || (ListFieldTypes.HasChoices(current.Type) && !(current.Options?.Choices ?? []).SequenceEqual(declared.Choices ?? [], StringComparer.Ordinal));

    private static MailchimpMergeFieldOptions? ChoicesOf(ListFieldDeclaration field) =>
        ListFieldTypes.HasChoices(field.Type!) ? new MailchimpMergeFieldOptions(Choices: field.Choices) : null;

    private static ListField ToListField(MailchimpMergeField field, bool createdByHub) => new()
    {
        Tag = field.Tag,
        Name = field.Name,
        Type = field.Type,
        Required = field.Required,
        Choices = ListFieldTypes.HasChoices(field.Type) ? field.Options?.Choices ?? [] : null,
        DateFormat = field.Type is ListFieldTypes.Date or ListFieldTypes.Birthday ? field.Options?.DateFormat : null,
        PhoneFormat = field.Type == ListFieldTypes.Phone ? field.Options?.PhoneFormat : null,
        MergeId = field.MergeId,
        CreatedByHub = createdByHub,
    };
}
