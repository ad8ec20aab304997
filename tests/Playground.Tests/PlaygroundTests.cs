using System.Globalization;
using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>The playground in a real browser: the tutorial's run drawn live, and its computational graph.</summary>
[Collection(PlaygroundCollection.Name)]
public sealed class PlaygroundTests(PlaygroundFactory factory, ITestOutputHelper output)
{
    static readonly TimeSpan Patience = PlaygroundFactory.Patience;

    Task<(IPage Page, List<string> Errors)> OpenAsync(string fragment = "") => factory.OpenAsync(fragment);

    Task SaveScreenshot(IPage page, string name) => PlaygroundFactory.SaveScreenshotAsync(page, name, output);

    [ChromiumFact]
    public async Task RosenbrockRunDrawsThePathAndEndsAtTheTutorialsPoint()
    {
        var (page, errors) = await OpenAsync();
        await page.ClickAsync("#example-rosenbrock");
        await page.ClickAsync("#start");
        await page.WaitForFunctionAsync("() => document.getElementById('final-params').textContent.includes('0.')",
            null, new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds });

        var final = await page.TextContentAsync("#final-params");
        Assert.Contains("0.9918", final);
        Assert.Contains("0.9830", final);

        // Plotly keeps each plot's traces on its element: a contour and the path over it, and the loss curve.
        await page.WaitForFunctionAsync("() => (document.getElementById('contour-plot').data?.[1]?.x?.length ?? 0) >= 1000",
            null, new PageWaitForFunctionOptions { Timeout = (float)Patience.TotalMilliseconds });
        Assert.Equal("contour", await page.EvaluateAsync<string>("() => document.getElementById('contour-plot').data[0].type"));
        Assert.True(await page.EvaluateAsync<int>("() => document.getElementById('contour-plot').data[0].z.length") >= 10);
        Assert.True(await page.EvaluateAsync<int>("() => document.getElementById('contour-plot').data[1].x.length") >= 100);
        Assert.Equal(1000, await page.EvaluateAsync<int>("() => document.getElementById('loss-plot').data[0].y.length"));
        Assert.Equal("log", await page.EvaluateAsync<string>("() => document.getElementById('loss-plot').layout.yaxis.type"));
        Assert.Contains("#", page.Url);

        await SaveScreenshot(page, "playground-rosenbrock.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task ExplainOnTheParaboloidShowsTheTutorialsSevenNodes()
    {
        var (page, errors) = await OpenAsync();
        await page.ClickAsync("#example-paraboloid");
        await page.ClickAsync("#explain");
        await page.WaitForSelectorAsync(".tape-node", new PageWaitForSelectorOptions { Timeout = (float)Patience.TotalMilliseconds });

        var rows = await page.QuerySelectorAllAsync(".tape-node");
        Assert.Equal(7, rows.Count);
        Assert.Equal(-3.4, await Number(rows[^1], "data-value"), 12);
        foreach (var name in new[] { "x1", "x2" })
        {
            var input = await page.QuerySelectorAsync($".tape-node[data-name='{name}']");
            Assert.NotNull(input);
            Assert.Equal(0.8, await Number(input!, "data-adjoint"), 12);
        }
        Assert.Equal(2, await page.EvaluateAsync<int>("() => document.getElementById('graph-plot').data.length"));

        await SaveScreenshot(page, "playground-explain.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task AFormulaErrorPointsAtItsColumnNextToTheFormula()
    {
        var (page, errors) = await OpenAsync();
        await page.FillAsync("#formula", "x[1] * * 2");
        await page.ClickAsync("#start");
        await page.WaitForSelectorAsync("#formula-error:not([hidden])", new PageWaitForSelectorOptions { Timeout = (float)Patience.TotalMilliseconds });
        var text = await page.TextContentAsync("#formula-error");
        Assert.Contains("column 8", text);
        Assert.Contains("       ^", text);
        // The failed request is a 400 the page reports; the browser logs it as a failed resource load.
        Assert.All(errors, e => Assert.Contains("400", e));
    }

    static async Task<double> Number(IElementHandle element, string attribute) =>
        JsonSerializer.Deserialize<double>((await element.GetAttributeAsync(attribute))!, JsonSerializerOptions.Default);
}
