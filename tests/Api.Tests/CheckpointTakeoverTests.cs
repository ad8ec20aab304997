using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;
using StackExchange.Redis;

namespace Autograd.Api.Tests;

/// <summary>
/// The jobs whose takeover <see cref="SharedQueueTests"/> does not cover: a bounded L-BFGS run (two-metric projection),
/// a Levenberg–Marquardt run under bounds and a race of three optimizers (lbfgs, adam, sgd). A worker process is killed
/// (SIGKILL) once the job has a checkpoint; another worker takes the job over from it. The stream, read once to its
/// end, holds the uninterrupted run's events exactly (no gap, no duplicate, same bits), and the result is its result.
/// </summary>
public sealed class CheckpointTakeoverTests(RedisServer redis) : IClassFixture<RedisServer>
{
    static readonly (string, string)[] Fast =
    [
        ("Service:LeaseSeconds", "1"), ("Service:CheckpointSeconds", "0.2"), ("Service:CheckpointIterations", "500"),
        ("Service:PollSeconds", "0.05"), ("Minimize:Workers", "1"),
    ];

    WebApplicationFactory<Program> Host(string role) =>
        new AutogradApiFactory().WithSettings([("Store:Redis", redis.ConnectionString), ("Service:Role", role), .. Fast]);

    /// <summary>
    /// A small tanh network fitted to 2000 rows: L-BFGS and Levenberg–Marquardt keep finding small decreases for many
    /// iterations, so a run lasts seconds; the box holds w0 and b at a bound.
    /// </summary>
    static string Network(string optimizer, int maxIterations, bool bounded)
    {
        const int rows = 2000, units = 4;
        var d = Enumerable.Range(0, rows).Select(i => i / (double)rows).ToArray();
        var y = d.Select((v, i) => Math.Sin(6 * v) + 0.3 * Math.Cos(17 * v) + 0.05 * Math.Sin(101 * i)).ToArray();
        var terms = string.Join(" + ", Enumerable.Range(0, units).Select(k => $"a{k}*tanh(w{k}*d + c{k})"));
        var parameters = new JsonObject { ["b"] = 0 };
        for (var k = 0; k < units; k++)
            (parameters[$"a{k}"], parameters[$"w{k}"], parameters[$"c{k}"]) = (0.1 * (k + 1) / units, 1.0 + k, -0.5 + (double)k / units);
        var body = JsonNode.Parse($$"""
            {"expression": "mean((y - ({{terms}}) - b)^2)", "data": {"d": {{Api.Numbers(d)}}, "y": {{Api.Numbers(y)}}},
             "maxIterations": {{maxIterations}}, "recordEvery": 5}
            """)!.AsObject();
        body["parameters"] = parameters;
        if (optimizer.StartsWith('['))
        {
            body["optimizers"] = JsonNode.Parse(optimizer);
            body["raceTarget"] = 0.012;
        }
        else body["optimizer"] = JsonNode.Parse(optimizer);
        if (bounded) body["bounds"] = JsonNode.Parse("""{"w0": {"max": 2}, "b": {"min": -0.1, "max": 0.1}}""");
        return body.ToJsonString();
    }

    [Theory]
    [InlineData("bounded lbfgs", "projected-lbfgs")]
    [InlineData("bounded levenberg-marquardt", "levenberg-marquardt")]
    [InlineData("race", "lanes")]
    public async Task AWorkerKilledMidRunIsTakenOverFromItsCheckpointWithTheUninterruptedEventsAndResult(string name, string rule)
    {
        var body = name switch
        {
            "bounded lbfgs" => Network("""{"type": "lbfgs"}""", 1500, bounded: true),
            "bounded levenberg-marquardt" => Network("""{"type": "levenberg-marquardt"}""", 60, bounded: true),
            _ => Network("""[{"type": "lbfgs"}, {"type": "adam", "learningRate": 0.01}, {"type": "sgd", "learningRate": 0.05, "momentum": 0.9}]""", 1500, bounded: false),
        };
        using var timeout = Jobs.Timeout(240);

        using var memory = new AutogradApiFactory();
        var reference = await Jobs.Start(memory.CreateClient(), body, timeout.Token);
        var referenceEvents = await Jobs.ReadAll(memory.CreateClient(), reference.Id, timeout.Token);
        var referenceJob = await Jobs.Get(memory.CreateClient(), reference.Id, timeout.Token);
        Assert.True(referenceJob.Status == JobStatus.Succeeded, $"{name}: {referenceJob.Status}, {referenceJob.Message}");

        using var api = Host("api");
        var client = api.CreateClient();
        using var doomed = WorkerProcess.Start(redis.ConnectionString, Fast);
        var job = await Jobs.Start(client, body, timeout.Token);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var checkpoint = (RedisKey)("autograd:checkpoint:" + job.Id);
        while (!await connection.GetDatabase().KeyExistsAsync(checkpoint)) await Task.Delay(20, timeout.Token);
        var atKill = await Jobs.Get(client, job.Id, timeout.Token);
        doomed.Kill();
        Assert.Null(atKill.FinishedAt);
        // The checkpoint the survivor resumes from is of this job's kind: one state per race run, or the rule's own state.
        var saved = JsonNode.Parse((string)(await connection.GetDatabase().StringGetAsync(checkpoint))!)!;
        Assert.True((int)saved["iteration"]! > 0);
        Assert.Equal(rule, (string)saved["optimizer"]!["rule"]!);
        if (name == "race") Assert.Equal(3, saved["lanes"]!.AsArray().Count);

        using var survivor = Host("worker");
        _ = survivor.Services;
        var events = await Jobs.ReadAll(client, job.Id, timeout.Token);
        var finished = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.True(finished.Status == JobStatus.Succeeded, $"{name}: {finished.Status}, {finished.Message}");
        Assert.True(atKill.Iteration < finished.Iteration, $"{name}: killed at iteration {atKill.Iteration} of {finished.Iteration}");

        // Every iteration event, by id and data, is the uninterrupted run's: the data holds each value's shortest round-trip form.
        static List<(string?, string)> Iterations(List<SseEvent> all) => all.Where(e => e.Type == "iteration").Select(e => (e.Id, e.Data)).ToList();
        Assert.Equal(Iterations(referenceEvents), Iterations(events));
        Assert.Equal(Timeless(referenceJob), Timeless(finished));
    }

    /// <summary>The result as JSON without the job's own id, times and the seconds each race run took.</summary>
    static string Timeless(MinimizeJob job) => JsonSerializer.Serialize(new
    {
        job.Status, job.StopReason, job.Iteration, job.Value, job.GradientNorm, job.Parameters, job.Message, job.Fit,
        Race = job.Race?.Select(r => r with { Seconds = 0, SecondsToTarget = r.SecondsToTarget is null ? null : 0 }),
    }, Api.Json);
}
