using System.Net.Http.Json;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>Requests that would take unbounded memory or produce numbers JSON cannot carry are refused or reported cleanly.</summary>
public sealed class GuardTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task ATapeLargerThanTheLimitIs413()
    {
        using var small = factory.WithSettings(("Limits:MaxTapeElements", "10000"));
        using var client = small.CreateClient();
        var request = new GradientRequest
        {
            Expression = "sum(x + x + x + x)",
            Parameters = new() { ["x"] = Enumerable.Range(0, 4000).Select(i => (double)i).ToArray() },
        };
        using var response = await client.PostAsJsonAsync("/gradient", request, Api.Json);
        await Api.ReadProblem(response, 413, "formula-too-large");
    }

    [Fact]
    public async Task ExplainOverALargeTapeIs413()
    {
        using var small = factory.WithSettings(("Limits:MaxExplainElements", "100"));
        using var client = small.CreateClient();
        var request = new GradientRequest
        {
            Expression = "sum(x^2)",
            Parameters = new() { ["x"] = Enumerable.Range(0, 60).Select(i => (double)i).ToArray() },
            Explain = true,
        };
        using var response = await client.PostAsJsonAsync("/gradient", request, Api.Json);
        await Api.ReadProblem(response, 413, "explain-too-large");
        using var plain = await client.PostAsJsonAsync("/gradient", request with { Explain = false }, Api.Json);
        Assert.True(plain.IsSuccessStatusCode);
    }

    [Fact]
    public async Task AFitThatOverflowsStillListsAndStreams()
    {
        // One sgd step on the first row's batch takes b from 0 to 4, where that batch's loss is 4; over every row the
        // loss overflows at the third, (2 - 4e200)². (A result whose own loss overflows is not one: the job ends
        // diverged at its last finite point instead.)
        var request = new MinimizeRequest
        {
            Model = "b*x", Target = "y", Loss = "mse",
            Data = new() { ["x"] = new double[] { 1, 1, 1e200 }, ["y"] = new double[] { 2, 2, 2 } },
            Parameters = new() { ["b"] = 0.0 },
            Optimizer = new OptimizerRequest { Type = "sgd", LearningRate = 1 },
            BatchSize = 1,
            MaxIterations = 1,
        };
        using var message = new HttpRequestMessage(HttpMethod.Post, "/minimize") { Content = JsonContent.Create(request, options: Api.Json) };
        message.Headers.Add("Prefer", "wait=10");
        using var started = await _client.SendAsync(message);
        var body = await started.Content.ReadAsStringAsync();
        Assert.True(started.IsSuccessStatusCode, body);
        var job = System.Text.Json.JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
        Assert.Equal(StopReasonCode.MaxIterations, job.StopReason);
        Assert.Equal(4, job.Parameters!.Scalar("b"));
        Assert.Equal(4, job.Value);
        Assert.Null(job.Fit);

        using var list = await _client.GetAsync("/minimize");
        Assert.True(list.IsSuccessStatusCode, await list.Content.ReadAsStringAsync());
        using var events = await _client.GetAsync($"/minimize/{job.Id}/events");
        Assert.Contains("event: completed", await events.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task ASurfaceRangeTooWideForDoublesIs400()
    {
        var request = new SurfaceRequest
        {
            Expression = "a^2 + b^2",
            Parameters = new() { ["a"] = 0.0, ["b"] = 0.0 },
            X = new SurfaceAxis { Parameter = "a", Min = -1e308, Max = 1e308 },
            Y = new SurfaceAxis { Parameter = "b", Min = -1, Max = 1 },
            Resolution = 3,
        };
        using var response = await _client.PostAsJsonAsync("/surface", request, Api.Json);
        await Api.ReadProblem(response, 400, "invalid-input");
    }

    [Fact]
    public async Task AHugeCsvHeaderIsRefusedBeforeItIsRead()
    {
        var header = string.Join(",", Enumerable.Range(0, 5000).Select(i => $"c{i}"));
        using var content = new StringContent(header + "\n" + string.Join(",", Enumerable.Repeat("1", 5000)) + "\n",
            System.Text.Encoding.UTF8, "text/csv");
        using var response = await _client.PostAsync("/datasets", content);
        await Api.ReadProblem(response, 413, "too-many-columns");
    }
}
