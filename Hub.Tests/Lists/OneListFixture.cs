using Hub.Tests.Infrastructure;

namespace Hub.Tests.Lists;

/// <summary>A facade environment with one connected tenant and one list <paramref name="key"/> linked to a new audience, shared by the tests of a fixture.</summary>
public abstract class OneListFixture(string key) : EnvironmentFixture<FacadeEnvironment>(() => FacadeEnvironment.StartAsync())
{
    private protected FacadeTenant _tenant = null!;
    private protected string _audienceId = "";

    [OneTimeSetUp]
    public async Task CreateTenantWithListAsync()
    {
        _tenant = await _env.CreateTenantAsync();
        _audienceId = (await FacadeEnvironment.LinkListAsync(_tenant, key)).GetProperty("audienceId").GetString()!;
    }

    [OneTimeTearDown]
    public void DisposeTenant() => _tenant?.Dispose();
}
