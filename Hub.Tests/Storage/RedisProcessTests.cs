using Hub.Tests.Infrastructure;

namespace Hub.Tests.Storage;

/// <summary>The test-owned redis-server keeps acknowledged writes across a graceful shutdown and a kill, as the fault tests rely on.</summary>
[TestFixture]
public sealed class RedisProcessTests
{
    [Test]
    public async Task Acknowledged_writes_survive_a_shutdown_and_a_kill_and_restarts_keep_the_port()
    {
        await using var redis = await RedisProcess.StartAsync();
        var port = redis.Port;
        Assert.That(await redis.SendAsync("SET", "before-shutdown", "1"), Is.EqualTo("OK"));

        await redis.ShutdownAsync();
        Assert.That(redis.IsRunning, Is.False);
        await redis.RestartAsync();
        Assert.That(await redis.SendAsync("SET", "before-kill", "2"), Is.EqualTo("OK"));

        await redis.KillAsync();
        Assert.That(redis.IsRunning, Is.False);
        await redis.RestartAsync();

        Assert.Multiple(async () =>
        {
            Assert.That(redis.Port, Is.EqualTo(port));
            Assert.That(await redis.SendAsync("GET", "before-shutdown"), Is.EqualTo("1"));
            Assert.That(await redis.SendAsync("GET", "before-kill"), Is.EqualTo("2"));
            Assert.That(await redis.SendAsync("GET", "never-written"), Is.Null);
            Assert.That(await redis.SendAsync("NO-SUCH-COMMAND"), Is.InstanceOf<RedisError>());
        });
    }
}
