using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>Optimizer races: POST /minimize with "optimizers", their interleaved stream, resume, ranking and trace.</summary>
public sealed class RaceApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    const string Entrants = """
        [{"type": "sgd", "learningRate": 0.01}, {"type": "adam", "learningRate": 0.05, "label": "adam fast"},
         {"type": "lbfgs", "lineSearch": "none", "learningRate": 0.5}]
        """;

    static readonly JsonNode[] Singles =
    [
        JsonNode.Parse("""{"type": "sgd", "learningRate": 0.01}""")!,
        JsonNode.Parse("""{"type": "adam", "learningRate": 0.05}""")!,
        JsonNode.Parse("""{"type": "lbfgs", "lineSearch": "none", "learningRate": 0.5}""")!,
    ];

    const double Target = 1e-3;

    static string Race(int maxIterations) => Jobs.Tutorial(("optimizer", null), ("optimizers", JsonNode.Parse(Entrants)),
        ("raceTarget", Target), ("maxIterations", maxIterations));

    [Fact]
    public async Task A_race_of_three_resumed_mid_stream_has_every_run_without_gap_or_duplicate_and_matches_solo_runs()
    {
        using var timeout = Jobs.Timeout(60);
        var job = await Jobs.Start(_client, Race(300), timeout.Token);
        Assert.Equal("race", job.Optimizer);

        var before = await Jobs.ReadSome(_client, job.Id, 200, timeout.Token);
        var after = await Jobs.ReadAll(_client, job.Id, timeout.Token, lastEventId: before[^1].Id);
        var events = before.Concat(after).Where(e => e.Type == "iteration").ToList();

        // Ids rise and say iteration × runs + run: the stream is the rounds in order, the runs in index order within each.
        var ids = events.Select(e => long.Parse(e.Id!, CultureInfo.InvariantCulture)).ToList();
        Assert.Equal(ids.Order(), ids);
        Assert.Equal(ids.Count, ids.Distinct().Count());
        foreach (var e in events) Assert.Equal(e.Progress.Iteration * 3L + e.Progress.Run!.Value, long.Parse(e.Id!, CultureInfo.InvariantCulture));

        var completed = after[^1].Completed;
        Assert.NotNull(completed.Race);
        Assert.Equal(3, completed.Race.Length);
        var labels = new[] { "sgd", "adam fast", "lbfgs" };
        for (var run = 0; run < 3; run++)
        {
            var mine = events.Select(e => e.Progress).Where(p => p.Run == run).ToList();
            Assert.All(mine, p => Assert.Equal(labels[run], p.Label));
            var result = completed.Race.Single(r => r.Run == run);
            // No gap and no duplicate: iterations 1, 2, ... up to the run's last, across the reconnect.
            Assert.Equal(Enumerable.Range(1, result.Iterations), mine.Select(p => p.Iteration));

            // The same configuration alone gives the same trace and result, bit for bit: taking turns changes nothing.
            var solo = await Jobs.Start(_client, Jobs.Tutorial(("optimizer", Singles[run].DeepClone()), ("maxIterations", 300)), timeout.Token);
            var soloEvents = await Jobs.ReadAll(_client, solo.Id, timeout.Token);
            var soloTrace = soloEvents.Iterations();
            Assert.Equal(soloTrace.Select(p => (p.Iteration, p.Value)), mine.Select(p => (p.Iteration, p.Value)));
            var soloCompleted = soloEvents[^1].Completed;
            Assert.Equal(soloCompleted.Iterations, result.Iterations);
            Assert.Equal(soloCompleted.Parameters!["x"].Values, result.Parameters!["x"].Values);
            Assert.Equal(soloTrace.FirstOrDefault(p => p.Value <= Target)?.Iteration, result.IterationsToTarget);
        }

        // Ranked: those that reached the target first, by iterations to it; then the rest by final loss.
        var expected = completed.Race.OrderBy(r => r.IterationsToTarget ?? int.MaxValue).ThenBy(r => r.Value).Select(r => r.Run);
        Assert.Equal(expected, completed.Race.Select(r => r.Run));
        Assert.Equal([1, 2, 3], completed.Race.Select(r => r.Rank));
        Assert.Equal(completed.Race[0].Parameters!["x"].Values, completed.Parameters!["x"].Values);
        Assert.Contains(completed.Race, r => r.IterationsToTarget is not null);

        var finished = await Jobs.Get(_client, job.Id, timeout.Token);
        Assert.Equal(completed.Race.Select(r => r.Label), finished.Race!.Select(r => r.Label));
    }

    [Fact]
    public async Task A_race_trace_names_the_run_in_json_and_csv()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Race(5), timeout.Token);
        await Jobs.ReadAll(_client, job.Id, timeout.Token);

        var trace = JsonSerializer.Deserialize<MinimizeProgress[]>(await Datasets.TraceJson(_client, job.Id, timeout.Token), Api.Json)!;
        Assert.Equal(15, trace.Length);
        Assert.Equal([0, 1, 2, 0, 1, 2], trace.Take(6).Select(p => p.Run!.Value));

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/minimize/{job.Id}/trace");
        request.Headers.Accept.ParseAdd("text/csv");
        using var response = await _client.SendAsync(request, timeout.Token);
        var lines = (await response.Content.ReadAsStringAsync(timeout.Token)).TrimEnd('\n').Split('\n');
        Assert.StartsWith("run,label,iteration,value,gradientNorm,x[1],x[2]", lines[0]);
        Assert.StartsWith("1,adam fast,1,", lines[2]);
        Assert.Equal(16, lines.Length);
    }

    [Theory]
    [InlineData("""{"optimizer": {"type": "sgd"}, "optimizers": [{"type": "sgd"}, {"type": "adam"}]}""", "optimizers")]
    [InlineData("""{"optimizer": null, "optimizers": [{"type": "sgd"}]}""", "optimizers")]
    [InlineData("""{"optimizer": null, "optimizers": [{"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}, {"type": "sgd"}]}""", "optimizers")]
    [InlineData("""{"optimizer": null, "optimizers": [{"type": "sgd"}, {"type": "adam", "learningRate": -1}]}""", "optimizers[1].learningRate")]
    [InlineData("""{"optimizer": null, "optimizers": [{"type": "sgd", "label": "a"}, {"type": "adam", "label": "a"}]}""", "optimizers")]
    [InlineData("""{"raceTarget": 1}""", "raceTarget")]
    public async Task A_bad_race_is_400_naming_the_field(string changes, string field)
    {
        using var timeout = Jobs.Timeout();
        var body = JsonNode.Parse(Jobs.TutorialJson)!.AsObject();
        foreach (var (name, value) in JsonNode.Parse(changes)!.AsObject())
        {
            if (value is null) body.Remove(name);
            else body[name] = value.DeepClone();
        }
        using var response = await Jobs.Post(_client, body.ToJsonString(), timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, text);
        Assert.Equal(field, JsonDocument.Parse(text).RootElement.GetProperty("field").GetString());
    }
}
