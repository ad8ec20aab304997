using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>The page under the strict Content-Security-Policy it is served with.</summary>
[Collection(PlaygroundCollection.Name)]
public sealed class PageSafetyTests(PlaygroundFactory factory, ITestOutputHelper output)
{
    [ChromiumFact]
    public async Task TheVendoredPlotlyStylesheetHoldsTheRulesPlotlyWouldInject()
    {
        // Plotly adds its rules in a <style> element, which the policy forbids, unless the page links them from a
        // file with id plotly.js-style-global and class no-inline-styles, as index.html does with lib/plotly/plotly.css.
        // Here, on a page without the policy or the link, plotly injects them; the file must hold the same rules.
        await using var context = await factory.Browser.NewContextAsync(new BrowserNewContextOptions { BypassCSP = true });
        var page = await context.NewPageAsync();
        await page.GotoAsync(factory.BaseAddress + "/health/live");
        await page.AddScriptTagAsync(new PageAddScriptTagOptions { Url = factory.BaseAddress + "/lib/plotly/plotly-cartesian.min.js" });
        var injected = await page.EvaluateAsync<string[]>(
            "() => [...document.getElementById('plotly.js-style-global').sheet.cssRules].map(r => r.cssText)");
        var vendored = await page.EvaluateAsync<string[]>("""
            async () => {
              const response = await fetch("/lib/plotly/plotly.css");
              const sheet = new CSSStyleSheet();
              sheet.replaceSync(response.ok ? await response.text() : "");
              return [...sheet.cssRules].map(r => r.cssText);
            }
            """);
        if (!injected.SequenceEqual(vendored))
        {
            // What the file should hold, for a plotly update: copy it over src/Api/wwwroot/lib/plotly/plotly.css.
            var expected = Path.Combine(PlaygroundFactory.ResultsDirectory(), "plotly.css");
            await File.WriteAllTextAsync(expected, string.Join("\n", injected) + "\n");
            output.WriteLine($"the rules plotly injects: {expected}");
        }
        Assert.NotEmpty(injected);
        Assert.Equal(injected, vendored);
    }
}
