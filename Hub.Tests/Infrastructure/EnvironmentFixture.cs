namespace Hub.Tests.Infrastructure;

/// <summary>One environment (sandbox, Hub, webhook receiver) shared by the tests of a fixture, started once and stopped after the last test.</summary>
public abstract class EnvironmentFixture<TEnvironment>(Func<Task<TEnvironment>> start) where TEnvironment : class, IAsyncDisposable
{
    private protected TEnvironment _env = null!;

    [OneTimeSetUp]
    public async Task StartEnvironmentAsync() => _env = await start();

    [OneTimeTearDown]
    public async Task StopEnvironmentAsync()
    {
        if (_env is not null)
        {
            await _env.DisposeAsync();
        }
    }
}
