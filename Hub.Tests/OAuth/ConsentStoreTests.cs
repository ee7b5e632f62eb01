using Hub.Core.OAuth;
using Hub.Core.Storage;
using Hub.Core.Tenants;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Hub.Tests.OAuth;

/// <summary>The OAuth state's take-if-the-cookie-matches, on redis-server and on the embedded Garnet (which Development runs on).</summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public class ConsentStoreTests(string backend) : BackendFixture(backend)
{
    private ConsentStore Store() =>
        new(Backend.Connection, new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() })), Options.Create(new OAuthOptions()));

    [Test]
    public async Task A_state_is_taken_once_and_only_with_its_cookie()
    {
        var store = Store();
        var tenant = TenantId.New();
        var (state, cookie) = await store.CreateStateAsync(tenant, "client-1", "https://app.example.com/back", "nl", default);

        var withoutCookie = await store.TakeStateAsync(state.Reveal(), null, default);
        var withOtherCookie = await store.TakeStateAsync(state.Reveal(), "another-browser", default);
        var withItsCookie = await store.TakeStateAsync(state.Reveal(), cookie.Reveal(), default);
        var again = await store.TakeStateAsync(state.Reveal(), cookie.Reveal(), default);

        Assert.Multiple(() =>
        {
            Assert.That(withoutCookie, Is.EqualTo(new TakenState(new ConsentState(tenant, "client-1", "https://app.example.com/back", "nl"), CookieMatched: false)));
            Assert.That(withOtherCookie!.CookieMatched, Is.False);
            Assert.That(withItsCookie, Is.EqualTo(new TakenState(new ConsentState(tenant, "client-1", "https://app.example.com/back", "nl"), CookieMatched: true)));
            Assert.That(again, Is.Null, "single use");
        });
        Assert.That(await store.TakeStateAsync("not-a-state", cookie.Reveal(), default), Is.Null);
    }
}
