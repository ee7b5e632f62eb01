namespace Hub.Tests.Infrastructure;

/// <summary>What a test needs from the machine: a Redis, redis-server, Chromium, node and npm.</summary>
public static class Prerequisite
{
    /// <summary>
    /// Stops the test because a prerequisite is missing: a failure with <c>CI=true</c>, so CI never passes by skipping,
    /// and ignored elsewhere. Never returns; the exception is there for <c>throw Prerequisite.Missing(...)</c>.
    /// </summary>
    public static Exception Missing(string message)
    {
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
        return new InvalidOperationException(message);
    }
}
