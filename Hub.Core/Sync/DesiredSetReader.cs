using System.IO.Hashing;
using System.IO.Pipelines;
using System.Runtime.InteropServices;
using System.Text.Json;
using Hub.Core.Diagnostics;
using Hub.Core.Jobs;
using Hub.Core.Lists;
using Hub.Core.Members;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Hub.Core.Sync;

/// <summary>How a desired-set body is written.</summary>
public enum DesiredSetFormat
{
    /// <summary>A JSON array when the first non-blank byte is <c>[</c>, otherwise NDJSON.</summary>
    Detect,

    /// <summary>One JSON array of member objects.</summary>
    JsonArray,

    /// <summary>One member object per line (<c>application/x-ndjson</c>).</summary>
    Ndjson,
}

/// <summary>A desired set staged in Redis under <see cref="Id"/>, the id the sync job must be enqueued with.</summary>
public sealed record StagedDesiredSet(JobId Id, TenantId Tenant, long Count, long Rows, IReadOnlyList<MemberError> Issues, long IssueCount, long InvalidCount)
{
    /// <summary>Rows whose address was erased (see <see cref="ErasedPeople"/>): not staged, counted failed with the error <c>erased</c>.</summary>
    public long ErasedCount { get; init; }

    /// <summary>No valid member: the API refuses this unless the caller allowed an empty set (it would remove every member Hub added).</summary>
    public bool IsEmpty => Count == 0;

    /// <summary>
    /// The request that turns this staged set into a job: total is the distinct valid members and the invalid and erased rows
    /// (which count as failed), so the job's counts add up to it, and the staging issues (invalid, erased and duplicate rows) become the job's first errors.
    /// </summary>
    public JobRequest ToJobRequest(string kind, string listKey, string? argument = null) => new(Tenant, kind, listKey)
    {
        Id = Id,
        Argument = argument,
        InitialCounts = new JobCounts(Total: Count + InvalidCount + ErasedCount, Failed: InvalidCount + ErasedCount),
        InitialErrors = Issues,
        InitialErrorTotal = IssueCount,
    };
}

/// <summary>The body is not JSON (or NDJSON): where it broke, 1-based, for a 400 answer. Nothing stays staged.</summary>
public sealed record DesiredSetSyntaxError(long Line, long Position, string Message);

/// <summary>Either a staged set or a syntax error.</summary>
public sealed record DesiredSetStagingResult(StagedDesiredSet? Staged, DesiredSetSyntaxError? Error)
{
    public bool IsStaged => Staged is not null;
}

/// <summary>
/// Streams a desired set (a JSON array, or NDJSON) from a request body into Redis without holding it in
/// memory: elements are read one at a time, validated, and written in pipelined batches (one written while the next is parsed) of
/// <see cref="BatchSize"/> with HSETNX (one script call per batch) into <c>job:{id}:desired</c> (subscriber hash → member JSON), which
/// also de-duplicates by lower-cased email (the first row wins, later ones are reported). Invalid rows are
/// reported and not written; one whose address is readable (a bad merge value, an unknown property) is staged as kept, an
/// empty value no chunk lists, so the sync does not remove a member the host still lists, and a later valid row of the
/// same address takes its place. Until a job is enqueued with the staging id, the hash carries a TTL of
/// <see cref="StagingTtl"/>, so a body abandoned half-way disappears; a syntax error deletes it at once,
/// so a malformed body never leaves data or a job behind.
/// <para>
/// The same hash holds the set's order as numbered chunks: field <c>#0</c>, <c>#1</c>, ... (one per batch, in
/// body order) is the concatenated 32-character subscriber hashes of the members that batch added. A plan walks
/// the chunks by number, so where it stopped means the same thing after Redis restarts, reloads its data or fails
/// over (a hash's own order, and so an HSCAN cursor, does not survive a restart: Redis seeds its hash function anew
/// at start-up). See <see cref="DesiredSetChunks"/>.
/// </para>
/// </summary>
public sealed class DesiredSetReader(IConnectionMultiplexer redis, RedisKeys keys, ErasedPeople erased, IOptions<JobsOptions> options)
{
    public const int BatchSize = 1000;

    private static readonly RedisScript StageMembers = RedisScript.Load("Sync", "stage_members");
    public static readonly TimeSpan StagingTtl = TimeSpan.FromHours(6);

    // What Lua/stage_members.lua answers per member (or, for an erased address, the id of its erasure).
    private const long DuplicateEmail = 0, StagedNew = 1, StagedWithRename = 3, Kept = 4;

    /// <summary>
    /// A row to stage. <see cref="Invalid"/>: the error of an invalid row whose address is readable, staged as kept so the
    /// sync neither writes nor removes that member; reported once Redis said the address is not erased (an erased
    /// person's address is never named in a job's errors).
    /// </summary>
    private readonly record struct StagedRow(DesiredMember Member, long Row, MemberError? Invalid = null);

    /// <summary>
    /// Reads the body and stages its valid members as a job's input. A member whose address changed in Mailchimp
    /// (<paramref name="moved"/>: old subscriber hash to new address, from <see cref="MemberLedger.MovedAsync"/>) is staged
    /// under its new address: the host still lists the old one until it hears of the change.
    /// </summary>
    /// <remarks>
    /// A member with an <c>externalId</c> the list knows under another address is staged with a change of address
    /// (<see cref="DesiredSetChunks.Rename"/>: the sync changes the contact's address before it writes members); a second row
    /// with an <c>externalId</c> an earlier row has is reported and left out (the first wins). The list's map of external ids
    /// learns the ones it did not know.
    /// </remarks>
    public async Task<DesiredSetStagingResult> StageAsync(
        TenantId tenant, ListKey list, Stream body, DesiredSetFormat format, CancellationToken cancellationToken,
        IReadOnlyDictionary<string, string>? moved = null, IReadOnlyList<ListField>? fields = null)
    {
        using var span = HubTelemetry.Source.StartActivity("desired-set stage");
        var id = JobId.New();
        var key = keys.JobInput(tenant, id);
        var db = redis.GetDatabase();
        var issues = new List<MemberError>();
        long issueCount = 0, invalid = 0, rows = 0, count = 0, erasedCount = 0;
        // Members are checked against the tenant's erased people only when someone was erased (a sync staged while the first
        // erasure begins is checked again when it writes, see SyncRun).
        var mark = await erased.AnyAsync(tenant) ? await erased.MarkerAsync(tenant) : null;
        var batch = new List<StagedRow>(BatchSize);
        var maxIssues = options.Value.MaxStoredErrors;
        var completed = false;
        var chunk = 0;
        // The rows' external ids seen so far, as 64-bit hashes (a second row with one is left out): 8 bytes a row, not the id.
        // XxHash3, not a cryptographic hash: nobody gains from a collision here, and two ids of 100,000 share a hash with a
        // chance of about 1 in 3,700,000,000.
        var externalIds = new HashSet<ulong>();

        void Report(string email, string reason) => Issue(new MemberError(email, reason, Retryable: false));

        void Issue(MemberError error)
        {
            issueCount++;
            if (issues.Count < maxIssues)
            {
                issues.Add(error);
            }
        }

        // One batch is written to Redis while the next is read and parsed: FlushAsync first takes the result
        // of the batch before (which rows were duplicates), then starts writing this one without waiting for it.
        var pendingWrite = Task.FromResult<(List<StagedRow> Rows, RedisResult[] Outcomes)>(([], []));
        async Task FlushAsync()
        {
            var (written, outcomes) = await pendingWrite;
            for (var i = 0; i < written.Count; i++)
            {
                if (outcomes[i].Resp2Type == ResultType.BulkString)
                {
                    erasedCount++;
                    Issue(ErasedPeople.ErrorFor(outcomes[i].ToString(), $"Row {written[i].Row}: "));
                    continue;
                }

                switch ((long)outcomes[i])
                {
                    case StagedNew or StagedWithRename:
                        count++;
                        break;
                    case Kept:
                        invalid++;
                        Issue(written[i].Invalid!);
                        break;
                    default:
                        Report(written[i].Member.Email, $"Row {written[i].Row}: duplicate of an earlier row with the same email; the earlier row is used.");
                        break;
                }
            }

            pendingWrite = batch.Count > 0 ? WriteAsync(batch) : Task.FromResult<(List<StagedRow>, RedisResult[])>(([], []));
            batch = new List<StagedRow>(BatchSize);
        }

        async Task AddAsync(StagedRow row)
        {
            batch.Add(moved is not null && moved.TryGetValue(row.Member.SubscriberHash, out var newEmail) ? row with { Member = row.Member with { Email = newEmail } } : row);
            if (batch.Count == BatchSize)
            {
                await FlushAsync();
            }
        }

        async Task<(List<StagedRow> Rows, RedisResult[] Outcomes)> WriteAsync(List<StagedRow> members)
        {
            // One script call per batch rather than a thousand HSETNX commands: far less work for the client.
            const int perMember = 5;
            var arguments = new RedisValue[2 + (perMember * members.Count)];
            arguments[0] = (long)StagingTtl.TotalSeconds;
            arguments[1] = DesiredSetChunks.Field(chunk++);
            for (var i = 0; i < members.Count; i++)
            {
                var member = members[i].Member;
                arguments[2 + (perMember * i)] = member.SubscriberHash;
                arguments[3 + (perMember * i)] = members[i].Invalid is null ? member.ToUtf8Json() : RedisValue.EmptyString;
                arguments[4 + (perMember * i)] = member.ExternalId ?? "";
                arguments[5 + (perMember * i)] = member.Email;
                arguments[6 + (perMember * i)] = mark?.Invoke(member.Email) ?? "";
            }

            return (members, (RedisResult[])(await StageMembers.EvaluateAsync(db, [key, keys.ListExternalIds(tenant, list), keys.ErasedPeople(tenant)], arguments))!);
        }

        var reader = PipeReader.Create(body, new StreamPipeReaderOptions(leaveOpen: true));
        try
        {
            var isArray = format switch
            {
                DesiredSetFormat.JsonArray => true,
                DesiredSetFormat.Ndjson => false,
                _ => await StartsWithArrayAsync(reader, cancellationToken),
            };

            var elements = JsonSerializer.DeserializeAsyncEnumerable(reader.AsStream(leaveOpen: true), HubJsonContext.Default.JsonElement, topLevelValues: !isArray, cancellationToken);
            await foreach (var element in elements)
            {
                rows++;
                if (DesiredMember.TryCreate(element, out var member, out var email, out var error)
                    && member!.ExternalId is { } externalId && !externalIds.Add(XxHash3.HashToUInt64(MemoryMarshal.AsBytes(externalId.AsSpan()))))
                {
                    Report(member.Email, $"Row {rows}: an earlier row has the same externalId; the earlier row is used.");
                }
                else if (member is not null && ListFieldRules.Problem(fields, member.MergeFields) is { } badValue)
                {
                    await AddAsync(new StagedRow(new DesiredMember { Email = member.Email }, rows,
                        new MemberError(member.Email, $"Row {rows}: {badValue.Message}", Retryable: false, Field: badValue.Field)));
                }
                else if (member is not null)
                {
                    await AddAsync(new StagedRow(member, rows));
                }
                else if (DesiredMember.IsValidEmail(email))
                {
                    await AddAsync(new StagedRow(new DesiredMember { Email = email }, rows, new MemberError(email, $"Row {rows}: {error}", Retryable: false)));
                }
                else
                {
                    invalid++;
                    Report(email, $"Row {rows}: {error}");
                }
            }

            await FlushAsync();
            await FlushAsync(); // takes the last batch's result
            completed = true;
            return new DesiredSetStagingResult(new StagedDesiredSet(id, tenant, count, rows, issues, issueCount, invalid) { ErasedCount = erasedCount }, null);
        }
        catch (JsonException exception)
        {
            var line = (exception.LineNumber ?? 0) + 1;
            var position = (exception.BytePositionInLine ?? 0) + 1;
            return new DesiredSetStagingResult(null, new DesiredSetSyntaxError(line, position,
                $"The body is not valid {(format == DesiredSetFormat.Ndjson ? "NDJSON" : "JSON")} at line {line}, position {position}."));
        }
        finally
        {
            await ((Task)pendingWrite).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            await reader.CompleteAsync();
            if (!completed)
            {
                await db.KeyDeleteAsync(key);
            }
        }
    }

    /// <summary>Deletes a staged set that will not become a job (e.g. an empty set the caller did not allow).</summary>
    public Task DiscardAsync(TenantId tenant, JobId id, CancellationToken cancellationToken) => redis.GetDatabase().KeyDeleteAsync(keys.JobInput(tenant, id));

    private static async Task<bool> StartsWithArrayAsync(PipeReader reader, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await reader.ReadAsync(cancellationToken);
            foreach (var segment in result.Buffer)
            {
                foreach (var b in segment.Span)
                {
                    if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n' or 0xEF or 0xBB or 0xBF))
                    {
                        reader.AdvanceTo(result.Buffer.Start);
                        return b == (byte)'[';
                    }
                }
            }

            if (result.IsCompleted)
            {
                reader.AdvanceTo(result.Buffer.Start);
                return false;
            }

            // Only blanks so far: keep them and wait for more.
            reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }
}
