using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Polly;

namespace Hub.Core.Mailchimp;

public static class MailchimpServiceCollectionExtensions
{
    /// <summary>The Mailchimp client (<see cref="AddMailchimpClient"/>) and the passthrough's rules.</summary>
    public static IServiceCollection AddHubMailchimp(this IServiceCollection services)
    {
        services.AddMailchimpClient();
        services.TryAddSingleton<PassthroughRules>();
        return services;
    }

    /// <summary>
    /// Registers <see cref="MailchimpClient"/>: binds <c>Hub:Mailchimp</c>, one typed HttpClient with
    /// exactly one resilience handler (overall timeout, retries for idempotent calls, a circuit breaker
    /// per host, an attempt timeout) and, inside it, the Redis-backed per-account concurrency cap.
    /// Needs <c>AddHubStorage()</c> (or an <see cref="StackExchange.Redis.IConnectionMultiplexer"/> and
    /// <see cref="Storage.RedisKeys"/>) for the cap.
    /// </summary>
    public static IServiceCollection AddMailchimpClient(this IServiceCollection services)
    {
        // Registering twice would stack a second resilience handler on the same client.
        if (services.Any(descriptor => descriptor.ServiceType == typeof(MailchimpConcurrencyLimiter)))
        {
            return services;
        }

        services.AddOptions<MailchimpOptions>().BindConfiguration(MailchimpOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IMailchimpAuthFailureHandler, NoOpMailchimpAuthFailureHandler>();
        services.TryAddSingleton<MailchimpConcurrencyLimiter>();
        services.TryAddTransient<MailchimpConcurrencyHandler>();

        // The pipeline owns every timeout, so HttpClient's own 100 s default must not cut in first.
        var client = services.AddHttpClient<MailchimpClient>(http => http.Timeout = Timeout.InfiniteTimeSpan);
        client.AddResilienceHandler("mailchimp", (pipeline, context) =>
            ConfigurePipeline(pipeline, context.ServiceProvider.GetRequiredService<IOptions<MailchimpOptions>>().Value))
            .SelectPipelineByAuthority();
        client.AddHttpMessageHandler<MailchimpConcurrencyHandler>();

        // Redirects are not followed (the passthrough hands Mailchimp's own answer back). One handler
        // lives as long as the process; its pooled connections are renewed every 5 minutes instead, so
        // DNS changes are still picked up.
        client.ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan);

        // Every call is already a span, MailchimpClient logs failures and the pipeline its retries: the factory's
        // per-request log scopes and lines would only cost time on each call.
        client.RemoveAllLoggers();
        return services;
    }

    private static void ConfigurePipeline(ResiliencePipelineBuilder<HttpResponseMessage> pipeline, MailchimpOptions options)
    {
        pipeline
            .AddTimeout(options.Timeout)
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = Math.Max(1, options.MaxRetryAttempts),
                Delay = options.RetryBaseDelay,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                ShouldRetryAfterHeader = true,
                ShouldHandle = args => ValueTask.FromResult(
                    options.MaxRetryAttempts > 0
                    && args.Context.GetRequestMessage() is { } request
                    && MailchimpRequestOptions.IsIdempotent(request)
                    && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
            })
            .AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
            {
                // 429 is Mailchimp's per-user connection limit: one busy tenant must not open the
                // breaker for every tenant on the same host.
                ShouldHandle = args => ValueTask.FromResult(
                    HttpClientResiliencePredicates.IsTransient(args.Outcome)
                    && args.Outcome.Result?.StatusCode != HttpStatusCode.TooManyRequests),
            })
            .AddTimeout(options.AttemptTimeout);
    }
}
