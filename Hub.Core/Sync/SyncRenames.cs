using System.Globalization;
using System.Text.Json;
using Hub.Core.Jobs;
using Hub.Core.Members;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using StackExchange.Redis;

namespace Hub.Core.Sync;

/// <summary>A change of address staged with a job: a member whose <c>externalId</c> the list knows under <see cref="OldEmail"/>.</summary>
public sealed record StagedRename(string OldHash, string OldEmail, string NewHash, string NewEmail, string ExternalId);

/// <summary>The changes of address staged with a sync job (see Lua/stage_members.lua), read one at a time, and the marks of those that could not be made.</summary>
public sealed class SyncRenames(IConnectionMultiplexer redis, RedisKeys keys)
{
    private IDatabase Db => redis.GetDatabase();

    public async Task<long> CountAsync(TenantId tenant, JobId job) => (long?)await Db.HashGetAsync(keys.JobInput(tenant, job), DesiredSetChunks.RenameCount) ?? 0;

    public async Task<StagedRename> GetAsync(TenantId tenant, JobId job, long number) =>
        ((string?)await Db.HashGetAsync(keys.JobInput(tenant, job), DesiredSetChunks.Rename(number)))?.Split('\n') is [var oldHash, var oldEmail, var newHash, var newEmail, var externalId]
            ? new StagedRename(oldHash, oldEmail, newHash, newEmail, externalId)
            : throw new InvalidOperationException($"Job {job} has no staged change of address {number.ToString(CultureInfo.InvariantCulture)}.");

    /// <summary>
    /// The change could not be made: the member is not written under the new address (its error is reported instead) and
    /// the contact under the old address stays, as if the host still listed it, so nothing is half done.
    /// </summary>
    public async Task MarkNotRenamedAsync(TenantId tenant, JobId job, StagedRename rename, MemberError error)
    {
        var batch = Db.CreateBatch();
        var marked = batch.HashSetAsync(keys.JobInput(tenant, job), DesiredSetChunks.NotRenamed(rename.NewHash), JobStore.SerializeError(error));
        var kept = batch.HashSetAsync(keys.JobInput(tenant, job), rename.OldHash, new DesiredMember { Email = rename.OldEmail }.ToJson(), When.NotExists);
        batch.Execute();
        await Task.WhenAll(marked, kept);
    }

    /// <summary>Whether an earlier try of this run already decided not to make the change (it crashed before its checkpoint): the decision stands.</summary>
    public Task<bool> IsMarkedAsync(TenantId tenant, JobId job, StagedRename rename) => Db.HashExistsAsync(keys.JobInput(tenant, job), DesiredSetChunks.NotRenamed(rename.NewHash));

    /// <summary>Whether the host listed the old address itself in this job (then the address is not changed: it would leave the row's person without a contact or create one anew).</summary>
    public Task<bool> OldAddressListedAsync(TenantId tenant, JobId job, StagedRename rename) => Db.HashExistsAsync(keys.JobInput(tenant, job), rename.OldHash);

    internal static MemberError? ErrorOf(RedisValue mark) =>
        mark.IsNullOrEmpty ? null : JsonSerializer.Deserialize(mark.ToString(), HubJsonContext.Default.MemberError);
}
