using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Executing a conditional Redis transaction so that "a condition failed" and "the store refused it" stay apart.</summary>
public static class StoreTransactions
{
    /// <summary>
    /// Executes <paramref name="transaction"/>: true when it ran, false only when one of its <paramref name="conditions"/>
    /// did not hold. StackExchange.Redis also answers false when the server discarded the transaction although every
    /// condition held (a replica mid-failover answers the queued writes with READONLY, then EXEC with EXECABORT); that
    /// is an outage, not a conflict, and throws <see cref="StoreUnavailableException"/> (a store fault: 503, job paused), as
    /// does the EXECABORT error it reports in the same case at other times.
    /// </summary>
    public static async Task<bool> ExecuteCheckedAsync(this ITransaction transaction, params ConditionResult[] conditions)
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

        return conditions.All(condition => condition.WasSatisfied)
            ? throw new StoreUnavailableException("The store discarded a transaction whose conditions held.")
            : false;
    }
}
