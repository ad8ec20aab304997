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
        // AUTOGRAD_TEST_REDIS=host:port runs these hosts on that Redis instead of memory (a manual check of the
        // suite against the shared store; tests that count jobs or datasets globally expect a store of their own).
        if (Environment.GetEnvironmentVariable("AUTOGRAD_TEST_REDIS") is { Length: > 0 } redis) builder.UseSetting("Store:Redis", redis);
    }

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
