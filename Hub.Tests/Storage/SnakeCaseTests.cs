using Hub.Core.Connections;
using Hub.Core.Jobs;
using Hub.Core.OAuth;
using Hub.Core.Storage;
using Hub.Core.Webhooks;

namespace Hub.Tests.Storage;

/// <summary>The enum codec: the exact texts Hub stores and sends stay as they were before the codec, both ways.</summary>
public sealed class SnakeCaseTests
{
    [Test]
    public void Job_states() => AssertTexts(new Dictionary<JobState, string>
    {
        [JobState.Queued] = "queued",
        [JobState.Running] = "running",
        [JobState.Succeeded] = "succeeded",
        [JobState.PartiallySucceeded] = "partially_succeeded",
        [JobState.Failed] = "failed",
        [JobState.Cancelled] = "cancelled",
    });

    [Test]
    public void Connection_states_and_modes()
    {
        AssertTexts(new Dictionary<ConnectionState, string>
        {
            [ConnectionState.NotConfigured] = "not_configured",
            [ConnectionState.AwaitingConsent] = "awaiting_consent",
            [ConnectionState.Connected] = "connected",
            [ConnectionState.ReauthorizationRequired] = "reauthorization_required",
            [ConnectionState.Disabled] = "disabled",
        });
        AssertTexts(new Dictionary<ConnectionMode, string>
        {
            [ConnectionMode.OAuth] = "oauth",
            [ConnectionMode.ApiKey] = "api_key",
        });
    }

    [Test]
    public void Consent_failures_and_issues()
    {
        AssertTexts(new Dictionary<ConsentFailure, string>
        {
            [ConsentFailure.LinkInvalid] = "link_invalid",
            [ConsentFailure.TenantUnavailable] = "tenant_unavailable",
            [ConsentFailure.NotConfigured] = "not_configured",
            [ConsentFailure.AccessDenied] = "access_denied",
            [ConsentFailure.AuthorizationError] = "authorization_error",
            [ConsentFailure.StateInvalid] = "state_invalid",
            [ConsentFailure.CookieMismatch] = "browser_mismatch",
            [ConsentFailure.MissingCode] = "missing_code",
            [ConsentFailure.TokenExchangeFailed] = "token_exchange_failed",
            [ConsentFailure.MetadataFailed] = "metadata_failed",
            [ConsentFailure.ConfigurationChanged] = "configuration_changed",
        });
        AssertTexts(new Dictionary<ConsentIssueKind, string>
        {
            [ConsentIssueKind.DataCenterMismatch] = "data_center_mismatch",
            [ConsentIssueKind.AudienceNotFound] = "audience_not_found",
            [ConsentIssueKind.AudienceUnconfirmed] = "audience_unconfirmed",
        });
    }

    [Test]
    public void Webhook_delivery_statuses() => AssertTexts(new Dictionary<WebhookDeliveryStatus, string>
    {
        [WebhookDeliveryStatus.Pending] = "pending",
        [WebhookDeliveryStatus.Delivered] = "delivered",
        [WebhookDeliveryStatus.Failed] = "failed",
    });

    [Test]
    public void Parsing_is_exact()
    {
        Assert.Multiple(() =>
        {
            Assert.That(SnakeCase<JobState>.TryParse(null, out _), Is.False);
            Assert.That(SnakeCase<JobState>.TryParse("", out _), Is.False);
            Assert.That(SnakeCase<JobState>.TryParse("Queued", out _), Is.False);
            Assert.That(SnakeCase<JobState>.TryParse("PartiallySucceeded", out _), Is.False);
            Assert.That(SnakeCase<JobState>.TryParse("1", out _), Is.False);
            Assert.That(SnakeCase<ConnectionMode>.TryParse("o_auth", out _), Is.False, "an overridden text replaces the plain one");
            Assert.That(() => SnakeCase<JobState>.ToText((JobState)99), Throws.TypeOf<ArgumentOutOfRangeException>());
        });
    }

    private static void AssertTexts<TEnum>(Dictionary<TEnum, string> expected) where TEnum : struct, Enum
    {
        Assert.That(expected.Keys, Is.EquivalentTo(Enum.GetValues<TEnum>()), "every member is pinned");
        Assert.Multiple(() =>
        {
            foreach (var (value, text) in expected)
            {
                Assert.That(SnakeCase<TEnum>.ToText(value), Is.EqualTo(text));
                Assert.That(SnakeCase<TEnum>.TryParse(text, out var parsed) ? parsed : (TEnum?)null, Is.EqualTo(value));
            }
        });
    }
}
