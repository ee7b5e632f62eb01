using Hub.Core.Events;
using Hub.Core.Storage;
using Hub.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace Hub.Tests.Events;

/// <summary>
/// The schedule of a tenant's list-webhook checks: a change scheduled while the tenant is being checked (an audience
/// became managed) is not put off by the check's own rescheduling, which once pushed it a day away.
/// </summary>
[TestFixture(TestBackend.Redis)]
[TestFixture(TestBackend.Garnet)]
[TestFixture(TestBackend.Cluster)]
public sealed class AudienceHookScheduleTests(string backend) : BackendFixture(backend)
{
    private AudienceHookStore NewStore() =>
        new(Backend.Connection, new RedisKeys(Options.Create(new StorageOptions { KeyPrefix = TestRedis.NewPrefix() })), TimeProvider.System);

    [Test]
    public async Task A_change_scheduled_during_a_check_is_not_put_off_by_the_checks_next_schedule()
    {
        var store = NewStore();
        var tenant = TenantId.New();
        await store.ScheduleAsync(tenant);
        var (claimed, claimedUntil) = await store.ClaimDueAsync(10, TimeSpan.FromMinutes(1));
        Assert.That(claimed, Is.EqualTo(new[] { tenant }));

        await store.ScheduleAsync(tenant); // an audience became managed while the check ran
        var rescheduled = await store.RescheduleAsync(tenant, claimedUntil, DateTimeOffset.UtcNow.AddDays(1));

        Assert.That(rescheduled, Is.False);
        Assert.That((await store.ClaimDueAsync(10, TimeSpan.FromMinutes(1))).Tenants, Is.EqualTo(new[] { tenant }), "still due now");
    }

    [Test]
    public async Task Without_a_change_the_check_schedules_the_next_one()
    {
        var store = NewStore();
        var tenant = TenantId.New();
        await store.ScheduleAsync(tenant);
        var (_, claimedUntil) = await store.ClaimDueAsync(10, TimeSpan.FromMilliseconds(1));

        Assert.That(await store.RescheduleAsync(tenant, claimedUntil, DateTimeOffset.UtcNow.AddDays(1)), Is.True);
        await Task.Delay(50); // past the claim's own short lease: only the new schedule can keep it from being due
        Assert.That((await store.ClaimDueAsync(10, TimeSpan.FromMinutes(1))).Tenants, Is.Empty);
    }
}
