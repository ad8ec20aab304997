using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// Chooses where jobs, event logs and datasets live: in this process's memory (the default), or in Redis when
/// <c>Store:Redis</c> or <c>ConnectionStrings:redis</c> holds a connection string. Decided when the stores are first
/// resolved, so that settings a test host adds late are seen.
/// </summary>
public static class StoreRegistration
{
    public static IServiceCollection AddStores(this IServiceCollection services)
    {
        services.AddSingleton(sp => new RedisConnection(Configured(sp)
            ?? throw new InvalidOperationException("Redis is not configured: set Store:Redis or ConnectionStrings:redis.")));
        services.AddSingleton<RedisWakeups>();
        services.AddSingleton<IJobStore>(sp => Configured(sp) is null
            ? ActivatorUtilities.CreateInstance<InMemoryJobStore>(sp)
            : ActivatorUtilities.CreateInstance<RedisJobStore>(sp));
        services.AddSingleton<IDatasetStore>(sp => Configured(sp) is null
            ? ActivatorUtilities.CreateInstance<InMemoryDatasetStore>(sp)
            : ActivatorUtilities.CreateInstance<RedisDatasetStore>(sp));
        services.AddSingleton(sp => new SharedQueue(Configured(sp) is null ? null : ActivatorUtilities.CreateInstance<RedisJobQueue>(sp)));
        services.AddSingleton<IJobQueue>(sp => sp.GetRequiredService<SharedQueue>().Queue ?? ActivatorUtilities.CreateInstance<InMemoryJobQueue>(sp));
        services.AddHealthChecks().AddCheck<StoreHealthCheck>("store");
        return services;
    }

    static string? Configured(IServiceProvider services) => RedisConnection.ConfiguredIn(services.GetRequiredService<IConfiguration>());

    /// <summary>True for the failures of an unreachable or timing-out store, which are 503s and not bugs.</summary>
    public static bool IsUnavailable(Exception e) => e is RedisConnectionException or RedisTimeoutException;

    /// <summary>The 503 for a request that needs the store while it is unreachable.</summary>
    public static ProblemException Unavailable() =>
        new(StatusCodes.Status503ServiceUnavailable, "store-unavailable", "The shared store is unreachable",
            "The service keeps jobs and datasets in Redis, which does not answer right now; retry after the Retry-After interval.",
            new Dictionary<string, object?> { ["retryAfterSeconds"] = 5 });
}

/// <summary>Ready when the store answers: always for memory, while Redis answers a PING for Redis.</summary>
public sealed class StoreHealthCheck(IServiceProvider services, IConfiguration configuration) : IHealthCheck
{
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        RedisConnection.ConfiguredIn(configuration) is null
            ? Task.FromResult(HealthCheckResult.Healthy("Jobs and datasets are kept in memory"))
            : new RedisHealthCheck(services.GetRequiredService<RedisConnection>()).CheckHealthAsync(context, cancellationToken);
}
