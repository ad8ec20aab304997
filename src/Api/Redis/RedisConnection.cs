using Microsoft.Extensions.Diagnostics.HealthChecks;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// The one multiplexer a process shares with Redis, configured by <c>Store:Redis</c> or <c>ConnectionStrings:redis</c>.
/// It connects in the background (<c>AbortOnConnectFail=false</c>): the service starts while Redis is down, is not
/// ready until it comes, and reconnects by itself when Redis returns.
/// </summary>
public sealed class RedisConnection : IDisposable
{
    /// <summary>Every key and channel of the service starts with this, so that it can share a Redis with others.</summary>
    public const string Prefix = "autograd:";

    readonly ConnectionMultiplexer _multiplexer;

    public RedisConnection(string configuration)
    {
        var options = ConfigurationOptions.Parse(configuration);
        options.AbortOnConnectFail = false;
        // While Redis is unreachable, fail at once (a 503 with Retry-After) rather than queue commands until a timeout.
        options.BacklogPolicy = BacklogPolicy.FailFast;
        _multiplexer = ConnectionMultiplexer.Connect(options);
    }

    /// <summary>The connection string to use, or null to keep every store in memory.</summary>
    public static string? ConfiguredIn(IConfiguration configuration) =>
        configuration["Store:Redis"] is { Length: > 0 } store ? store
        : configuration.GetConnectionString("redis") is { Length: > 0 } named ? named : null;

    public IDatabase Database => _multiplexer.GetDatabase();
    public ISubscriber Subscriber => _multiplexer.GetSubscriber();
    public bool IsConnected => _multiplexer.IsConnected;

    public void Dispose() => _multiplexer.Dispose();
}

/// <summary>Ready while Redis answers a PING.</summary>
public sealed class RedisHealthCheck(RedisConnection redis) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            var latency = await redis.Database.PingAsync().WaitAsync(TimeSpan.FromSeconds(2), cancellationToken);
            return HealthCheckResult.Healthy($"Redis answered in {latency.TotalMilliseconds:0.0} ms");
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            return HealthCheckResult.Unhealthy("Redis, the shared store, is unreachable", e);
        }
    }
}

/// <summary>
/// Wake-ups for readers of event logs: a writer publishes the job's id on one channel after appending, and every
/// process completes the waits of its readers of that job. A lost message only delays a reader until its periodic
/// re-read (<see cref="RedisEventLog.Reread"/>): the multiplexer has no blocking XREAD, by design.
/// </summary>
public sealed class RedisWakeups
{
    static readonly RedisChannel Channel = RedisChannel.Literal(RedisConnection.Prefix + "wake");

    readonly RedisConnection _redis;
    readonly System.Collections.Concurrent.ConcurrentDictionary<string, TaskCompletionSource> _waiting = new();

    public RedisWakeups(RedisConnection redis)
    {
        _redis = redis;
        // Registered at once and renewed by the multiplexer on every reconnect, also if Redis is down right now.
        _redis.Subscriber.SubscribeAsync(Channel, (_, id) => Wake(id.ToString())).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);
    }

    /// <summary>Completes at the next wake-up for <paramref name="jobId"/>; take it before reading so that none is missed in between.</summary>
    public Task Next(string jobId) =>
        _waiting.GetOrAdd(jobId, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task;

    public void Publish(string jobId) => _redis.Subscriber.Publish(Channel, jobId, CommandFlags.FireAndForget);

    void Wake(string jobId)
    {
        if (_waiting.TryRemove(jobId, out var waiting)) waiting.TrySetResult();
    }
}
