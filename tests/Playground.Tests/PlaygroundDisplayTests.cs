using System.Text.Json;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace Autograd.Playground.Tests;

/// <summary>What a newcomer sees: losses of any sign, a clean page per run, the contour's resolution, replays, readable plots.</summary>
[Collection(PlaygroundCollection.Name)]
public sealed class PlaygroundDisplayTests(PlaygroundFactory factory, ITestOutputHelper output)
{
    const string Finished = "() => document.getElementById('cancel').disabled && document.getElementById('final-params').textContent !== '–'";

    async Task<(IPage Page, List<string> Errors)> RunAsync(string example)
    {
        var (page, errors) = await factory.OpenAsync();
        await page.ClickAsync($"#example-{example}");
        await page.ClickAsync("#start");
        await PlaygroundFactory.WaitAsync(page, Finished);
        return (page, errors);
    }

    Task Screenshot(IPage page, string name) => PlaygroundFactory.SaveScreenshotAsync(page, name, output);

    [ChromiumFact]
    public async Task TheParaboloidsNegativeLossFallsOnALinearAxis()
    {
        var (page, errors) = await RunAsync("paraboloid");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('loss-plot').data?.[0]?.y?.length === 200");

        Assert.Equal("linear", await page.EvaluateAsync<string>("() => document.getElementById('loss-plot').layout.yaxis.type"));
        Assert.Equal("loss", await page.EvaluateAsync<string>("() => document.getElementById('loss-plot').layout.yaxis.title.text"));
        var y = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').data[0].y");
        Assert.Equal(-3.4, y[0], 12);
        Assert.InRange(y[^1], -5, -4.999);
        Assert.All(y, v => Assert.InRange(v, -5, -3.4));
        var range = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').layout.yaxis.range");
        Assert.True(range[0] < -5 && range[1] > -3.4, $"range {range[0]}..{range[1]}");

        await Screenshot(page, "playground-paraboloid-loss.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task TheTwoLayerNetworkTrainsLiveWithAContourOverTwoMatrixElements()
    {
        var (page, errors) = await RunAsync("network");
        // 1,500 iterations recorded every 5th (and the first): the loss curve has about 300 points and falls.
        await PlaygroundFactory.WaitAsync(page, "() => (document.getElementById('loss-plot').data?.[0]?.y?.length ?? 0) >= 300");
        var y = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').data[0].y");
        Assert.InRange(y.Length, 300, 301);
        Assert.True(y[^1] < 0.5 * y[0], $"loss {y[0]} -> {y[^1]}");
        Assert.Contains("400 generated rows", await page.TextContentAsync("#dataset-info"));
        // The contour's axes offer every element of the matrix, row-major, and start on the example's two.
        var options = await page.EvaluateAsync<string[]>("() => [...document.getElementById('axis-x').options].map(o => o.value)");
        Assert.Equal(25, options.Length);
        Assert.Equal("W1[1,1]", options[0]);
        Assert.Equal("W1[2,6]", options[11]);
        Assert.Equal("W1[1,1]", await page.InputValueAsync("#axis-x"));
        Assert.Equal("W1[2,1]", await page.InputValueAsync("#axis-y"));
        await Screenshot(page, "playground-network-loss.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task ARaceOverlaysEachRunsLossAndPathInItsOwnColourAndRanksThem()
    {
        var (page, errors) = await RunAsync("race");
        const string traces = "(id) => JSON.stringify(document.getElementById(id).data.filter(t => t.type !== 'contour').map(t => ({ color: t.line.color, n: t.x.length })))";
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.length === 4");
        var loss = JsonDocument.Parse(await page.EvaluateAsync<string>(traces, "loss-plot")).RootElement.EnumerateArray().ToArray();
        var path = JsonDocument.Parse(await page.EvaluateAsync<string>(traces, "contour-plot")).RootElement.EnumerateArray().ToArray();
        foreach (var plot in new[] { loss, path })
        {
            Assert.Equal(3, plot.Select(t => t.GetProperty("color").GetString()).Distinct().Count());
        }
        // sgd and adam run all 300 iterations; lbfgs converges sooner and stops.
        Assert.Equal(300, loss[0].GetProperty("n").GetInt32());
        Assert.Equal(300, path[1].GetProperty("n").GetInt32());
        Assert.InRange(loss[2].GetProperty("n").GetInt32(), 2, 299);
        var ranking = (await page.TextContentAsync("#final-params") ?? "").Split('\n');
        Assert.Equal(3, ranking.Length);
        Assert.StartsWith("1. lbfgs", ranking[0]);
        Assert.Equal(["■ sgd", "■ adam", "■ lbfgs"], await page.Locator("#race-legend span").AllTextContentsAsync());
        await Screenshot(page, "playground-race.png");
        Assert.True(errors.Count == 0, string.Join("\n", errors));
    }

    [ChromiumFact]
    public async Task TheLabFitsTheReadmesDataFromItsFirstIteration()
    {
        var (page, errors) = await RunAsync("lab");
        // The README's 200 rows, stored as a dataset; the fit starts at (0, 0) whatever recordEvery says.
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (!File.Exists(Path.Combine(directory.FullName, "src/Api/wwwroot/lab.csv"))) directory = directory.Parent!;
        var rows = File.ReadAllLines(Path.Combine(directory.FullName, "src/Api/wwwroot/lab.csv")).Skip(1)
            .Select(line => line.Split(',').Select(c => double.Parse(c, System.Globalization.CultureInfo.InvariantCulture)).ToArray()).ToArray();
        Assert.Equal(200, rows.Length);
        var (mx, my) = (rows.Average(r => r[0]), rows.Average(r => r[1]));
        var b1 = rows.Sum(r => (r[0] - mx) * (r[1] - my)) / rows.Sum(r => (r[0] - mx) * (r[0] - mx));
        var b0 = my - b1 * mx;
        // The README prints them as 0.96915... and 1.01935...
        Assert.InRange(b0, 0.96915, 0.96916);
        Assert.InRange(b1, 1.01935, 1.01936);

        await PlaygroundFactory.WaitAsync(page, "() => (document.getElementById('loss-plot').data?.[0]?.x?.length ?? 0) > 1");
        var x = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').data[0].x");
        var loss = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').data[0].customdata ?? document.getElementById('loss-plot').data[0].y");
        Assert.Equal(1, x[0]);
        Assert.Equal(rows.Average(r => r[1] * r[1]), loss[0], 10);
        var final = await page.TextContentAsync("#final-params") ?? "";
        Assert.Contains(b0.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), final);
        Assert.Contains(b1.ToString("0.000", System.Globalization.CultureInfo.InvariantCulture), final);
        Assert.Contains("the README's lab data", await page.TextContentAsync("#dataset-info"));
        await Screenshot(page, "playground-lab.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task ABoundedLabFitDrawsItsBoxOnTheContourAndItsCoefficientTable()
    {
        var (page, errors) = await factory.OpenAsync();
        await page.ClickAsync("#example-lab");
        await page.FillAsync("#bounds", """{"b0": {"min": 0, "max": 0.5}}""");
        await page.SelectOptionAsync("#optimizer", "lbfgs");
        await page.FillAsync("#learning-rate", "");
        await page.FillAsync("#max-iterations", "100");
        await page.FillAsync("#tolerance", "1e-10");
        await page.FillAsync("#record-every", "1");
        await page.ClickAsync("#start");
        await PlaygroundFactory.WaitAsync(page, Finished);
        await PlaygroundFactory.WaitAsync(page, "() => !document.getElementById('fit-section').hidden");

        // The box: b0 (horizontal) from 0 to 0.5; b1 is unbounded, so its sides lie beyond the plotted area.
        await PlaygroundFactory.WaitAsync(page, "() => (document.getElementById('contour-plot').layout?.shapes?.length ?? 0) === 1");
        var box = await page.EvaluateAsync<double[]>("() => { const s = document.getElementById('contour-plot').layout.shapes[0]; return [s.x0, s.x1, s.y0, s.y1]; }");
        Assert.Equal(0, box[0]);
        Assert.Equal(0.5, box[1]);
        var yRange = await page.EvaluateAsync<double[]>("() => document.getElementById('contour-plot')._fullLayout.yaxis.range");
        Assert.True(box[2] < yRange[0] && box[3] > yRange[1], $"b1's open sides {box[2]}..{box[3]} inside the plotted {yRange[0]}..{yRange[1]}");

        // The table: one row per parameter, b0 on its bound.
        var cells = await page.EvaluateAsync<string[][]>(
            "() => [...document.querySelectorAll('#fit-table tbody tr')].map(r => [...r.cells].map(c => c.textContent))");
        Assert.Equal(2, cells.Length);
        Assert.Equal("b0", cells[0][0]);
        Assert.Equal("0.5", cells[0][1]);
        Assert.Equal("on a bound", cells[0][6]);
        Assert.Equal("b1", cells[1][0]);
        Assert.Contains("198 degrees of freedom", await page.TextContentAsync("#fit-summary"));
        Assert.Contains("fit?format=csv", await page.GetAttributeAsync("#fit-csv", "href"));
        await Screenshot(page, "playground-bounded-lab.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task ALossThatCrossesZeroOverDecadesIsPlottedAsItsDistanceToTheMinimumOnALogAxis()
    {
        var state = "#formula=" + Uri.EscapeDataString("x^2 - 5") + "&parameters=" + Uri.EscapeDataString("""{"x": 100}""") +
            "&optimizer=sgd&learningRate=0.1&maxIterations=100";
        var (page, errors) = await factory.OpenAsync(state);
        await page.ClickAsync("#start");
        await PlaygroundFactory.WaitAsync(page, Finished);
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('loss-plot').data?.[0]?.y?.length === 100");

        Assert.Equal("log", await page.EvaluateAsync<string>("() => document.getElementById('loss-plot').layout.yaxis.type"));
        var title = await page.EvaluateAsync<string>("() => document.getElementById('loss-plot').layout.yaxis.title.text");
        Assert.StartsWith("loss − min (log scale), min = -5", title);
        // Each point is its loss minus the lowest loss; the lowest itself has no logarithm and is left out.
        var y = await page.EvaluateAsync<double?[]>("() => document.getElementById('loss-plot').data[0].y");
        var loss = await page.EvaluateAsync<double[]>("() => document.getElementById('loss-plot').data[0].customdata");
        Assert.Equal(9995, loss[0]);
        var min = loss.Min();
        for (var i = 0; i < loss.Length; i++)
            if (loss[i] == min) Assert.Null(y[i]);
            else Assert.Equal(loss[i] - min, y[i]!.Value, 9);
        Assert.True(y[0] / y.Where(v => v is not null).Min() > 1e6, "spans decades");

        await Screenshot(page, "playground-loss-minus-minimum.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task EveryNewRunOrExampleStartsFromACleanPage()
    {
        var (page, errors) = await RunAsync("rosenbrock");
        await page.ClickAsync("#explain");
        await page.WaitForSelectorAsync(".tape-node");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.length === 2");

        // A run that the service refuses: nothing of the last one stays next to its error.
        await page.FillAsync("#formula", "x[1] * * 2");
        await page.ClickAsync("#start");
        await page.WaitForSelectorAsync("#formula-error:not([hidden])");
        await AssertCleanAsync(page);
        await Screenshot(page, "playground-cleared-on-error.png");

        // Another example: the error goes as well.
        await page.ClickAsync("#example-paraboloid");
        await AssertCleanAsync(page);
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('.error:not([hidden])').length"));
        Assert.All(errors, e => Assert.Contains("400", e));
    }

    static async Task AssertCleanAsync(IPage page)
    {
        foreach (var plot in new[] { "contour-plot", "loss-plot", "graph-plot" })
            Assert.True(await page.EvaluateAsync<bool>($"() => document.getElementById('{plot}').data === undefined"), $"{plot} is cleared");
        Assert.True(await page.IsHiddenAsync("#graph-section"));
        Assert.Equal(0, await page.EvaluateAsync<int>("() => document.querySelectorAll('.tape-node').length"));
        foreach (var id in new[] { "latest-iteration", "latest-value", "final-params" })
            Assert.Equal("–", await page.TextContentAsync($"#{id}"));
        Assert.True(await page.IsDisabledAsync("#replay"));
    }

    [ChromiumFact]
    public async Task EachResolutionChangeAsksForOneSurfaceWhateverTheRedraws()
    {
        var (page, errors) = await RunAsync("rosenbrock");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.[0]?.z?.length === 60");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        var surfaces = new List<JsonElement>();
        page.Request += (_, request) =>
        {
            if (request.Method == "POST" && new Uri(request.Url).AbsolutePath == "/surface")
                lock (surfaces) surfaces.Add(JsonDocument.Parse(request.PostData!).RootElement);
        };

        await SetResolutionAsync(page, "25");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.[0]?.z?.length === 25");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.Single(surfaces);
        Assert.Equal(25, surfaces[0].GetProperty("resolution").GetInt32());
        Assert.Contains("resolution=25", page.Url);

        // Refused: the error shows next to the resolution, the path is drawn alone, and a whole replay's
        // redraws ask for nothing more.
        await SetResolutionAsync(page, "500");
        await page.WaitForSelectorAsync("#contour-error:not([hidden])");
        Assert.Contains("resolution", await page.TextContentAsync("#contour-error"));
        await page.FillAsync("#replay-speed", "2000");
        await page.ClickAsync("#replay");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('replay-status').textContent.startsWith('Replayed')");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.Equal(2, surfaces.Count);
        Assert.Equal(1, await page.EvaluateAsync<int>("() => document.getElementById('contour-plot').data.length"));

        await SetResolutionAsync(page, "40");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.[0]?.z?.length === 40");
        await page.WaitForLoadStateAsync(LoadState.NetworkIdle);
        Assert.Equal(3, surfaces.Count);
        Assert.True(await page.IsHiddenAsync("#contour-error"));
        Assert.All(errors, e => Assert.Contains("400", e));
    }

    static async Task SetResolutionAsync(IPage page, string value)
    {
        await page.FillAsync("#resolution", value);
        await page.DispatchEventAsync("#resolution", "change");
    }

    [ChromiumFact]
    public async Task ReplayRedrawsAFinishedRunsPathAndLossIterationByIteration()
    {
        var (page, errors) = await RunAsync("rosenbrock");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.[1]?.x?.length === 1000");
        await page.FillAsync("#replay-speed", "120");
        await page.DispatchEventAsync("#replay-speed", "change");
        Assert.Contains("replaySpeed=120", page.Url);
        await page.ClickAsync("#replay");

        // Part way: the loss, the path and the latest values all stop at the same iteration, in a fixed frame.
        await PlaygroundFactory.WaitAsync(page, "() => { const n = document.getElementById('loss-plot').data?.[0]?.y?.length; return n > 100 && n < 900; }");
        var snapshot = await page.EvaluateAsync<JsonElement>("""
            () => ({
              loss: document.getElementById('loss-plot').data[0].y.length,
              path: document.getElementById('contour-plot').data[1].x.length,
              iteration: Number(document.getElementById('latest-iteration').textContent),
              range: document.getElementById('loss-plot').layout.xaxis.range,
              status: document.getElementById('replay-status').textContent,
            })
            """);
        await Screenshot(page, "playground-replay.png");
        var shown = snapshot.GetProperty("loss").GetInt32();
        Assert.InRange(shown, 101, 899);
        Assert.Equal(shown, snapshot.GetProperty("path").GetInt32());
        Assert.Equal(shown, snapshot.GetProperty("iteration").GetInt32());
        Assert.Equal([1.0, 1000.0], snapshot.GetProperty("range").EnumerateArray().Select(e => e.GetDouble()));
        Assert.StartsWith("Replaying at 120 iterations per second", snapshot.GetProperty("status").GetString());
        Assert.Equal("Stop replay", await page.TextContentAsync("#replay"));

        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('replay-status').textContent.startsWith('Replayed')");
        Assert.Equal("Replayed 1000 recorded iterations at 120 per second.", await page.TextContentAsync("#replay-status"));
        Assert.Equal(1000, await page.EvaluateAsync<int>("() => document.getElementById('loss-plot').data[0].y.length"));
        Assert.Equal(1000, await page.EvaluateAsync<int>("() => document.getElementById('contour-plot').data[1].x.length"));
        Assert.Equal("1000", await page.TextContentAsync("#latest-iteration"));
        Assert.Equal("Replay", await page.TextContentAsync("#replay"));
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task AnotherExampleStopsAReplayAndClearsIt()
    {
        var (page, errors) = await RunAsync("rosenbrock");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.[1]?.x?.length === 1000");
        await page.FillAsync("#replay-speed", "50");
        await page.ClickAsync("#replay");
        await PlaygroundFactory.WaitAsync(page, "() => { const n = document.getElementById('loss-plot').data?.[0]?.y?.length; return n > 10 && n < 900; }");
        var surfaces = 0;
        page.Request += (_, request) => { if (new Uri(request.Url).AbsolutePath == "/surface") Interlocked.Increment(ref surfaces); };

        await page.ClickAsync("#example-paraboloid");
        // Past several of the replay's frames: none draws the old run again.
        await page.EvaluateAsync("() => new Promise(done => { let frames = 0; const next = () => ++frames === 30 ? done() : requestAnimationFrame(next); requestAnimationFrame(next); })");
        await AssertCleanAsync(page);
        Assert.Equal("Replay", await page.TextContentAsync("#replay"));
        Assert.Equal("", await page.TextContentAsync("#replay-status"));
        Assert.Equal(0, surfaces);
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task PlotTitlesStayClearOfTheModeBar()
    {
        var (page, errors) = await RunAsync("rosenbrock");
        await page.ClickAsync("#explain");
        await page.WaitForSelectorAsync(".tape-node");
        await PlaygroundFactory.WaitAsync(page, "() => document.getElementById('contour-plot').data?.length === 2");

        foreach (var plot in new[] { "contour-plot", "loss-plot", "graph-plot" })
        {
            await page.HoverAsync($"#{plot}");
            var boxes = await page.EvaluateAsync<JsonElement>($$"""
                () => {
                  const plot = document.getElementById('{{plot}}');
                  const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
                  const titles = [plot.closest('figure').querySelector('figcaption'), ...plot.querySelectorAll('.gtitle')];
                  return { modebar: box(plot.querySelector('.modebar')), titles: titles.map(box) };
                }
                """);
            var modebar = Box(boxes.GetProperty("modebar"));
            Assert.True(modebar[2] > modebar[0] && modebar[3] > modebar[1], $"{plot} has a mode bar");
            foreach (var title in boxes.GetProperty("titles").EnumerateArray().Select(Box))
                Assert.False(Overlap(title, modebar), $"{plot}: title [{string.Join(", ", title)}] overlaps the mode bar [{string.Join(", ", modebar)}]");
        }
        await Screenshot(page, "playground-titles.png");
        Assert.Empty(errors);
    }

    [ChromiumFact]
    public async Task ExplainOnADataFormulaKeepsItsLabelsShortApartAndInsideThePlot()
    {
        var (page, errors) = await factory.OpenAsync();
        await page.ClickAsync("#example-lab");
        await page.ClickAsync("#explain");
        await page.WaitForSelectorAsync(".tape-node", new PageWaitForSelectorOptions { Timeout = (float)PlaygroundFactory.Patience.TotalMilliseconds });
        await Screenshot(page, "playground-explain-data.png");

        var layout = await page.EvaluateAsync<JsonElement>("""
            () => {
              const plot = document.getElementById('graph-plot');
              const box = e => { const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
              const visible = plot.closest('.scroll');
              return {
                area: box(visible), svg: box(plot.querySelector('.main-svg')),
                labels: [...plot.querySelectorAll('.textpoint text')].map(box),
                markers: [...plot.querySelectorAll('.scatterlayer .trace:last-child .point')].map(box),
                lines: [...plot.querySelectorAll('.textpoint text')].map(t => [...t.querySelectorAll('tspan.line')].map(l => l.textContent)),
              };
            }
            """);
        var labels = layout.GetProperty("labels").EnumerateArray().Select(Box).ToArray();
        var markers = layout.GetProperty("markers").EnumerateArray().Select(Box).ToArray();
        var area = Box(layout.GetProperty("area"));
        var svg = Box(layout.GetProperty("svg"));
        Assert.True(labels.Length >= 8, $"{labels.Length} labels");
        Assert.Equal(labels.Length, markers.Length);
        for (var i = 0; i < labels.Length; i++)
        {
            Assert.True(Inside(labels[i], area) && Inside(labels[i], svg), $"label {i} [{string.Join(", ", labels[i])}] inside the plot");
            for (var j = 0; j < labels.Length; j++)
            {
                if (j > i) Assert.False(Overlap(labels[i], labels[j]), $"labels {i} and {j} overlap");
                if (j != i) Assert.False(Overlap(labels[i], markers[j]), $"label {i} covers node {j}");
            }
        }
        // Vectors of 200 rows as their length and mean, not as lists of numbers.
        foreach (var line in layout.GetProperty("lines").EnumerateArray().SelectMany(l => l.EnumerateArray()).Select(l => l.GetString()!))
        {
            Assert.True(line.Length <= 22, $"label line '{line}'");
            Assert.DoesNotContain(",", line);
        }
        var cells = await page.EvaluateAsync<string[]>("() => [...document.querySelectorAll('.tape-node[data-name=\"x\"] td')].map(c => c.textContent)");
        Assert.StartsWith("200 values: mean ", cells[3]);

        Assert.Empty(errors);
    }

    static double[] Box(JsonElement e) => e.EnumerateArray().Select(v => v.GetDouble()).ToArray();

    static bool Overlap(double[] a, double[] b) => a[0] < b[2] - 0.5 && b[0] < a[2] - 0.5 && a[1] < b[3] - 0.5 && b[1] < a[3] - 0.5;

    static bool Inside(double[] inner, double[] outer) =>
        inner[0] >= outer[0] - 0.5 && inner[1] >= outer[1] - 0.5 && inner[2] <= outer[2] + 0.5 && inner[3] <= outer[3] + 0.5;
}
