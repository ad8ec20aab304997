using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Tests;

/// <summary>
/// The service in memory, in the "Testing" environment. Shared by a test class through
/// <see cref="IClassFixture{TFixture}"/>; a test that needs other limits creates its own factory with
/// <see cref="WithSettings"/> and disposes it, so no test changes what another one sees.
/// </summary>
public sealed class AutogradApiFactory : WebApplicationFactory<Program>
{
    public const string EnvironmentName = "Testing";

    protected override void ConfigureWebHost(IWebHostBuilder builder)
    {
        builder.UseEnvironment(EnvironmentName);
        // Keep the test output readable: only warnings and errors from the service's own logging.
        builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        // AUTOGRAD_TEST_REDIS=host:port runs these hosts on that Redis instead of memory (.ci/run's second pass over the
        // suite). Each host gets a Redis database of its own, as each in-memory host has a store of its own, so that tests
        // running in parallel never see each other's jobs or datasets. Use a fresh server (databases are numbered from 1 in each
        // run) with enough of them: .ci/run starts one with --databases 10000.
        if (Environment.GetEnvironmentVariable(RedisVariable) is { Length: > 0 } redis)
            builder.UseSetting("Store:Redis", $"{redis},defaultDatabase={Interlocked.Increment(ref _lastDatabase)}");
    }

    /// <summary>The environment variable that points every test host at a Redis (host:port).</summary>
    public const string RedisVariable = "AUTOGRAD_TEST_REDIS";

    static int _lastDatabase;

    /// <summary>
    /// A separate factory (own host, own formula cache) with configuration overridden, e.g.
    /// <c>("Limits:MaxExpressionLength", "50")</c>. The caller disposes it.
    /// </summary>
    public WebApplicationFactory<Program> WithSettings(params (string Key, string Value)[] settings) =>
        WithWebHostBuilder(builder =>
        {
            foreach (var (key, value) in settings) builder.UseSetting(key, value);
        });
}

/// <summary>
/// The trait that keeps a test out of .ci/run's second pass on Redis (<c>--filter "Store!=InMemoryOnly"</c>): for tests
/// that assert what only a process holding everything itself can show, such as its own heap or memory budget.
/// </summary>
public static class Stores
{
    public const string Trait = "Store";
    public const string InMemoryOnly = "InMemoryOnly";
}
