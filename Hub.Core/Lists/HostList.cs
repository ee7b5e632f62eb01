using Hub.Core.Storage;

namespace Hub.Core.Lists;

/// <summary>How a host list maps onto Mailchimp.</summary>
public enum ListMode
{
    /// <summary>The list is a whole managed audience (one list per audience).</summary>
    Audience,

    /// <summary>The list is a tag inside a managed audience (many lists per audience).</summary>
    Tag,
}

/// <summary>The status a new member gets: <c>subscribed</c>, or <c>pending</c> for double opt-in.</summary>
public enum NewMemberStatus
{
    Subscribed,
    Pending,
}

/// <summary>What happens in Mailchimp to a member who leaves the host list (only members Hub added).</summary>
public enum RemovalPolicy
{
    /// <summary>Archive the contact (it can be re-added later). In tag mode: remove the tag, archive only when no other Hub list of the audience holds the member.</summary>
    Archive,

    /// <summary>Set the contact to unsubscribed (in tag mode: remove the tag and unsubscribe only when no other Hub list holds the member).</summary>
    Unsubscribe,

    /// <summary>Leave the contact as it is (in tag mode the tag is still removed).</summary>
    None,
}

/// <summary>A host application's mailing list linked to a managed audience or a tag in one.</summary>
public sealed record HostList
{
    public required ListKey Key { get; init; }
    public required string Name { get; init; }
    public required ListMode Mode { get; init; }
    public required string AudienceId { get; init; }

    /// <summary>The Mailchimp tag in tag mode; null in audience mode.</summary>
    public string? Tag { get; init; }

    public NewMemberStatus DefaultStatus { get; init; } = NewMemberStatus.Subscribed;
    public RemovalPolicy RemovalPolicy { get; init; } = RemovalPolicy.Archive;
    public required DateTimeOffset CreatedAt { get; init; }
    public required DateTimeOffset UpdatedAt { get; init; }
    public ListSyncStatus? LastSync { get; init; }

    /// <summary>The contact fields the list declares, as provisioned on its audience (null: none declared).</summary>
    public IReadOnlyList<ListField>? Fields { get; init; }
}

/// <summary>The outcome of the list's most recent sync job or inline batch.</summary>
/// <param name="JobId">The sync job's id; null for an inline batch (answered at once, no job).</param>
/// <param name="State">The job's state.</param>
/// <param name="FinishedAt">When it finished.</param>
public sealed record ListSyncStatus(string? JobId, [OneOf<Jobs.JobState>] string State, DateTimeOffset? FinishedAt);
