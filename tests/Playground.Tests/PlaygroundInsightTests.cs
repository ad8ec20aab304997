using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>A finished job's curvature certificate and learning-rate preflight, shown under its result.</summary>
[Collection(PlaygroundCollection.Name)]
public sealed class PlaygroundInsightTests(PlaygroundFactory factory, ITestOutputHelper output)
{
    [ChromiumFact]
    public async Task AFinishedJobShowsItsCertificateAndPreflight()
    {
        var (page, errors) = await factory.OpenAsync();
        await page.ClickAsync("#example-paraboloid");
        await page.ClickAsync("#start");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('certificate').textContent !== '–'");
        // 0.2·x1² + 0.2·x2² has the Hessian 0.4·I everywhere: a minimum, λmax 0.4, stable sgd rate 2/0.4 = 5.
        Assert.StartsWith("minimum: eigenvalues 0.4, 0.4 (condition 1,", await page.TextContentAsync("#certificate"));
        Assert.StartsWith("λmax 0.4, stable sgd rate 5 (used", await page.TextContentAsync("#preflight"));
        await PlaygroundFactory.SaveScreenshotAsync(page, "playground-certificate.png", output);
        Assert.Empty(errors);
    }
}
