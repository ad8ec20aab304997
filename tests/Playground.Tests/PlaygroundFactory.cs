using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>The service on a real port (Kestrel) and a headless Chromium driven by Playwright.</summary>
public sealed class PlaygroundFactory : WebApplicationFactory<Program>, IAsyncLifetime
{
    // Generous: in CI the browser shares two cores with the service and the other test assemblies.
    public static readonly TimeSpan Patience = TimeSpan.FromSeconds(180);

    IPlaywright? _playwright;

    public PlaygroundFactory() => UseKestrel(0);

    public IBrowser Browser { get; private set; } = null!;

    public string BaseAddress =>
        Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();

    protected override void ConfigureWebHost(IWebHostBuilder builder) => builder
        .UseEnvironment("Testing")
        .ConfigureServices(services => services.AddTransient<IStartupFilter, ContentSecurityPolicyFilter>());

    /// <summary>
    /// Opens the playground (with a URL fragment, if given) in a 1400x1000 page. Errors collects what the page
    /// reports as errors: console errors, uncaught exceptions, and every breach of its Content-Security-Policy.
    /// </summary>
    public async Task<(IPage Page, List<string> Errors)> OpenAsync(string fragment = "")
    {
        var page = await Browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1400, Height = 1000 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") lock (errors) errors.Add(message.Text); };
        page.PageError += (_, error) => { lock (errors) errors.Add(error); };
        // Reported as a console error whether or not the browser logs the breach itself.
        await page.AddInitScriptAsync("""
            document.addEventListener("securitypolicyviolation", e =>
              console.error(`CSP violation: ${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}:${e.columnNumber} ${e.sample}`));
            """);
        var response = await page.GotoAsync(BaseAddress + "/" + fragment);
        var policy = await response!.HeaderValueAsync("content-security-policy");
        Assert.NotNull(policy);
        Assert.Contains("script-src 'self';", policy);
        Assert.Contains("style-src 'self'", policy);
        return (page, errors);
    }

    public static Task WaitAsync(IPage page, string condition) =>
        page.WaitForFunctionAsync(condition, null, new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds });

    /// <summary>A full-page screenshot in TestResults/ at the repository root, which CI keeps.</summary>
    public static async Task SaveScreenshotAsync(IPage page, string name, ITestOutputHelper output)
    {
        var path = Path.Combine(ResultsDirectory(), name);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = true });
        output.WriteLine($"screenshot: {path}");
    }

    public static string ResultsDirectory()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Autograd.Service.sln"))) directory = directory.Parent;
        var results = Path.Combine(directory?.FullName ?? AppContext.BaseDirectory, "TestResults");
        Directory.CreateDirectory(results);
        return results;
    }

    public async Task InitializeAsync()
    {
        if (!File.Exists(ChromiumFactAttribute.ChromiumPath)) return;
        StartServer();
        _playwright = await Playwright.CreateAsync();
        Browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumFactAttribute.ChromiumPath,
            Headless = true,
            Args =
            [
                "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync",
            ],
        });
    }

    async Task IAsyncLifetime.DisposeAsync()
    {
        if (Browser is not null) await Browser.CloseAsync();
        _playwright?.Dispose();
        await base.DisposeAsync();
    }
}

/// <summary>One service and one browser for all the playground's test classes, which then run one at a time.</summary>
[CollectionDefinition(Name)]
public sealed class PlaygroundCollection : ICollectionFixture<PlaygroundFactory>
{
    public const string Name = "Playground";
}
