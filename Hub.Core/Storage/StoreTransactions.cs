using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Executing a conditional Redis transaction so that "a condition failed" and "the store refused it" stay apart.</summary>
public static class StoreTransactions
{
    /// <summary>Adds <paramref name="condition"/> to <paramref name="transaction"/>; hand the result to <see cref="ExecuteCheckedAsync"/>.</summary>
    public static CheckedCondition AddCondition(this ITransaction transaction, StoreCondition condition) =>
        new(transaction.AddCondition(condition.Condition), condition);

    /// <summary>
    /// Executes <paramref name="transaction"/>: true when it ran, false only when one of its <paramref name="conditions"/>
    /// did not hold. StackExchange.Redis also answers false in outages, which throw <see cref="StoreUnavailableException"/>
    /// instead (a store fault: 503, job paused):
    /// <list type="bullet">
    /// <item>the server discarded the transaction although every condition held (a replica mid-failover answers the queued
    /// writes with READONLY, then EXEC with EXECABORT), as does the EXECABORT error it reports in the same case at other times;</item>
    /// <item>a condition was never answered as such: the server answered its read with an error (LOADING after a restart,
    /// BUSY behind a long script, CLUSTERDOWN or MOVED while a cluster reshards), or not within the client's sync timeout
    /// (<see cref="IConnectionMultiplexer.TimeoutMilliseconds"/>, after which StackExchange.Redis drops the transaction).
    /// Both look like a failed condition, so a failed condition is read again on its own: that read fails with the same
    /// store fault, or tells whether the condition really does not hold.</item>
    /// </list>
    /// A transaction another client voided (it changed a watched key between the conditions and EXEC, so EXEC answered nil,
    /// <see cref="ITransactionAsync.WasWatchConflict"/>) throws <see cref="StoreConflictException"/>, with nothing applied:
    /// run the whole read-and-write again (<see cref="RetryOnConflictAsync{T}"/>).
    /// </summary>
    public static async Task<bool> ExecuteCheckedAsync(this ITransaction transaction, params CheckedCondition[] conditions)
    {
        bool executed;
        try
        {
            executed = await transaction.ExecuteAsync();
        }
        catch (RedisServerException exception) when (exception.Message.StartsWith("EXECABORT", StringComparison.Ordinal))
        {
            // The same refusal, when StackExchange.Redis reports it as the server's error rather than as false.
            throw new StoreUnavailableException("The store discarded a transaction: " + exception.Message, exception);
        }

        if (executed)
        {
            return true;
        }

        var database = transaction.Multiplexer.GetDatabase(transaction.Database);
        foreach (var condition in conditions.Where(condition => !condition.Result.WasSatisfied))
        {
            if (!await condition.Condition.HoldsAsync(database))
            {
                return false;
            }
        }

        if (transaction.WasWatchConflict)
        {
            throw new StoreConflictException("Another client changed a key the transaction watched; nothing was applied. Read again and retry.");
        }

        throw new StoreUnavailableException(conditions.All(condition => condition.Result.WasSatisfied)
            ? "The store discarded a transaction whose conditions held."
            : "The store did not answer a transaction's conditions (an error or no answer in time) although they hold; the transaction was dropped.");
    }

    /// <summary>How often <see cref="RetryOnConflictAsync{T}"/> tries before the conflict stands.</summary>
    public const int MaxConflictAttempts = 16;

    /// <summary>
    /// Runs <paramref name="attempt"/>, which reads what it needs, builds one transaction and executes it, again each time
    /// another client voids that transaction (<see cref="StoreConflictException"/>), at most <see cref="MaxConflictAttempts"/> times.
    /// </summary>
    public static async Task<T> RetryOnConflictAsync<T>(Func<Task<T>> attempt)
    {
        for (var tries = 1; ; tries++)
        {
            try
            {
                return await attempt();
            }
            catch (StoreConflictException) when (tries < MaxConflictAttempts)
            {
                // Nothing was applied: read again and build the transaction afresh.
                await PauseAfterConflictAsync(tries);
            }
        }
    }

    /// <summary>
    /// A short random pause before attempt <paramref name="attempt"/> + 1 after a conflict, up to 2, 4, 8 … and at most 100 ms,
    /// so writers that keep voiding each other fall out of step. Over <see cref="MaxConflictAttempts"/> attempts a writer waits
    /// for up to about a second for one that keeps writing the same keys.
    /// </summary>
    private static Task PauseAfterConflictAsync(int attempt) =>
        Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(1, Math.Min(100, 1 << Math.Min(attempt, 7)) + 1)));
}

/// <summary>A condition added with <see cref="StoreTransactions.AddCondition"/>: StackExchange.Redis's result, and the condition to read again.</summary>
public sealed record CheckedCondition(ConditionResult Result, StoreCondition Condition);

/// <summary>
/// A transaction's condition (one of StackExchange.Redis's <see cref="StackExchange.Redis.Condition"/>s) together with a plain
/// read that checks it again, for <see cref="StoreTransactions.ExecuteCheckedAsync"/>.
/// </summary>
public sealed class StoreCondition
{
    private readonly Func<IDatabaseAsync, Task<bool>> _holds;

    private StoreCondition(Condition condition, Func<IDatabaseAsync, Task<bool>> holds)
    {
        Condition = condition;
        _holds = holds;
    }

    internal Condition Condition { get; }

    public static StoreCondition KeyExists(RedisKey key) =>
        new(Condition.KeyExists(key), async database => await database.KeyExistsAsync(key));

    public static StoreCondition KeyNotExists(RedisKey key) =>
        new(Condition.KeyNotExists(key), async database => !await database.KeyExistsAsync(key));

    /// <summary>The hash field holds <paramref name="value"/>; a null value means the field does not exist (as in StackExchange.Redis).</summary>
    public static StoreCondition HashEqual(RedisKey key, RedisValue field, RedisValue value) =>
        new(Condition.HashEqual(key, field, value), async database => await database.HashGetAsync(key, field) == value);

    public static StoreCondition HashLengthEqual(RedisKey key, long length) =>
        new(Condition.HashLengthEqual(key, length), async database => await database.HashLengthAsync(key) == length);

    public static StoreCondition ListLengthEqual(RedisKey key, long length) =>
        new(Condition.ListLengthEqual(key, length), async database => await database.ListLengthAsync(key) == length);

    /// <summary>Whether the condition holds now, by a read of its own (which throws what any read throws while the store cannot serve).</summary>
    public Task<bool> HoldsAsync(IDatabaseAsync database) => _holds(database);
}
