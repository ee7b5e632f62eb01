using System.Diagnostics;
using StackExchange.Redis;

namespace Hub.Core.Storage;

/// <summary>Executing a conditional Redis transaction so that "a condition failed" and "the store refused it" stay apart.</summary>
public static class StoreTransactions
{
    /// <summary>
    /// Executes <paramref name="transaction"/>: true when it ran, false only when one of its <paramref name="conditions"/>
    /// did not hold. StackExchange.Redis also answers false in two outages, which throw <see cref="StoreUnavailableException"/>
    /// instead (a store fault: 503, job paused):
    /// <list type="bullet">
    /// <item>the server discarded the transaction although every condition held (a replica mid-failover answers the queued
    /// writes with READONLY, then EXEC with EXECABORT), as does the EXECABORT error it reports in the same case at other times;</item>
    /// <item>the conditions were not answered in time: it waits for them at most its sync timeout
    /// (<see cref="IConnectionMultiplexer.TimeoutMilliseconds"/>), then drops the transaction (UNWATCH) with no condition
    /// answered. A false that took that long is taken for this case; a real conflict answered that slowly is then reported
    /// as an outage too, which a retry resolves, where the reverse would tell a caller that something does not exist.</item>
    /// </list>
    /// </summary>
    public static async Task<bool> ExecuteCheckedAsync(this ITransaction transaction, params ConditionResult[] conditions)
    {
        var started = Stopwatch.GetTimestamp();
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

        if (conditions.All(condition => condition.WasSatisfied))
        {
            throw new StoreUnavailableException("The store discarded a transaction whose conditions held.");
        }

        var timeout = TimeSpan.FromMilliseconds(transaction.Multiplexer.TimeoutMilliseconds);
        return Stopwatch.GetElapsedTime(started) >= timeout
            ? throw new StoreUnavailableException($"The store did not answer a transaction's conditions within {timeout.TotalMilliseconds} ms; the transaction was dropped.")
            : false;
    }
}
