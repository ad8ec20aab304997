using System.Text.Json.Nodes;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>
/// The page never turns data into markup: a shared link or a response carrying HTML shows it as text and runs
/// nothing, under the strict Content-Security-Policy the page is served with.
/// </summary>
[Collection(PlaygroundCollection.Name)]
public sealed class PageSafetyTests(PlaygroundFactory factory, ITestOutputHelper output)
{
    const string Img = """<img src=x onerror="window.__pwned=1">""";
    const string Script = "<script>window.__pwned=2</script>";

    [ChromiumFact]
    public async Task AMaliciousLinkShowsItsMarkupAsTextAndRunsNothing()
    {
        string[] labels = [Img + "[1]", Img + "[2]", Script];
        var state = new Dictionary<string, string>
        {
            ["formula"] = $"x1 + {Img} + {Script}",
            ["parameters"] = $$"""{"{{Img.Replace("\"", "\\\"")}}": [1, 2], "{{Script}}": 3}""",
            ["constants"] = $$"""{"{{Script}}": 1}""",
            ["data"] = Img,
            ["optimizer"] = Script,
            ["learningRate"] = Img,
            ["axisX"] = Script,
            ["axisY"] = labels[1],
        };
        var fragment = "#" + string.Join("&", state.Select(p => $"{Uri.EscapeDataString(p.Key)}={Uri.EscapeDataString(p.Value)}"));
        var (page, errors) = await factory.OpenAsync(fragment);

        // The parameter names become the contour's axis choices: options whose text is the name as written.
        await page.WaitForSelectorAsync("#axis-choice:not([hidden])");
        foreach (var id in new[] { "axis-x", "axis-y" })
            Assert.Equal(labels, await page.EvaluateAsync<string[]>($"() => [...document.getElementById('{id}').options].map(o => o.textContent)"));
        Assert.Equal(Script, await page.InputValueAsync("#axis-x"));
        Assert.Equal(labels[1], await page.InputValueAsync("#axis-y"));
        Assert.Equal(state["formula"], await page.InputValueAsync("#formula"));
        Assert.Contains(Img, await page.TextContentAsync("#dataset-id"));

        // Explain and Start send it all to the service, which refuses it; the page shows the refusals as text.
        foreach (var (button, path) in new[] { ("#explain", "/gradient"), ("#start", "/minimize") })
        {
            await page.RunAndWaitForResponseAsync(() => page.ClickAsync(button), r => new Uri(r.Url).AbsolutePath == path,
                new PageRunAndWaitForResponseOptions { Timeout = (float)PlaygroundFactory.Patience.TotalMilliseconds });
            await page.WaitForSelectorAsync(".error:not([hidden])");
            var shown = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.error:not([hidden])')].map(e => e.textContent)");
            output.WriteLine($"{button}: {string.Join(" | ", shown)}");
        }

        await PlaygroundFactory.SaveScreenshotAsync(page, "playground-malicious-link.png", output);
        await AssertNothingRanAsync(page);
        // The refused requests show as failed resource loads; nothing else, and no breach of the policy.
        Assert.All(errors, e => Assert.Contains("400", e));
    }

    [ChromiumFact]
    public async Task ATapeWhoseNamesCarryMarkupIsDrawnAsText()
    {
        var (page, errors) = await factory.OpenAsync();
        await page.ClickAsync("#example-paraboloid");
        // The service accepts only plain names, so a response with markup in it is made here from a real one.
        await page.RouteAsync("**/gradient", async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!;
            foreach (var node in body["tape"]!.AsArray())
            {
                if (node!["name"] is JsonValue name) node["name"] = Img + name.GetValue<string>();
                if (node["span"] is JsonObject span) span["text"] = Script;
            }
            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.ToJsonString() });
        });
        await page.ClickAsync("#explain");
        await page.WaitForSelectorAsync(".tape-node", new PageWaitForSelectorOptions { Timeout = (float)PlaygroundFactory.Patience.TotalMilliseconds });

        var names = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.tape-node')].map(r => r.dataset.name).filter(n => n)");
        Assert.Equal([Img + "x1", Img + "x2"], names);
        var cells = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.tape-node td')].map(c => c.textContent)");
        Assert.Contains(Img + "x1", cells);
        Assert.Contains(Script, cells);
        // Plotly reads <tags> in its strings; the graph's labels show the names as written (long ones cut short).
        Assert.True(await page.EvaluateAsync<bool>(
            "text => [...document.querySelectorAll('#graph-plot text')].some(t => t.textContent.startsWith(text))", Img[..17]));

        await PlaygroundFactory.SaveScreenshotAsync(page, "playground-markup-in-tape.png", output);
        await AssertNothingRanAsync(page);
        Assert.Empty(errors);
    }

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

    static async Task AssertNothingRanAsync(IPage page)
    {
        Assert.Equal("undefined", await page.EvaluateAsync<string>("() => typeof window.__pwned"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('img, iframe, object, embed').length"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('script:not([src])').length"));
    }
}
