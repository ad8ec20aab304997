using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Tests;

/// <summary>
/// How /minimize jobs end: every stop reason has its code, a job that cannot move ends as noProgress soon after it
/// stalls, and a finished job's value and gradient norm are those of its parameters, as /gradient computes them.
/// </summary>
public sealed class MinimizeEndingTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    static string Rosenbrock100(string optimizer, int maxIterations, double? tolerance, double? learningRate = null)
    {
        var settings = new JsonObject { ["type"] = optimizer };
        if (learningRate is { } lr) settings["learningRate"] = lr;
        return Jobs.With(Jobs.Rosenbrock100(optimizer, maxIterations), ("gradientNormTolerance", tolerance), ("optimizer", settings));
    }

    async Task<(MinimizeCompleted Completed, List<MinimizeProgress> Iterations, MinimizeJob Job)> Run(string body, CancellationToken cancellation)
    {
        var started = await Jobs.Start(_client, body, cancellation);
        var events = await Jobs.ReadAll(_client, started.Id, cancellation);
        return (events[^1].Completed, events.Iterations(), await Jobs.Get(_client, started.Id, cancellation));
    }

    [Fact]
    public void Every_engine_stop_reason_is_sent_as_the_code_of_the_same_name()
    {
        // The job casts the engine's reason to the contract's code, so both enums must keep one order.
        foreach (var reason in Enum.GetValues<StopReason>())
            Assert.Equal(reason.ToString(), ((StopReasonCode)reason).ToString());
        Assert.Equal("\"noProgress\"", JsonSerializer.Serialize(StopReasonCode.NoProgress, Api.Json));
    }

    [Fact]
    public async Task A_job_that_stalls_ends_noProgress_within_a_few_iterations_of_stalling()
    {
        using var timeout = Jobs.Timeout();
        // No tolerance: lbfgs goes on until it cannot find a better point, at the minimum.
        var (completed, iterations, job) = await Run(Rosenbrock100("lbfgs", 1000, null), timeout.Token);

        Assert.Equal(JobStatus.Succeeded, completed.Status);
        Assert.Equal(StopReasonCode.NoProgress, completed.StopReason);
        Assert.False(completed.Converged);
        Assert.StartsWith("No progress", completed.Message);
        var points = iterations.Select(p => p.Parameters.Vector("x")).ToList();
        var lastMove = Enumerable.Range(1, points.Count - 1).Last(k => !points[k].SequenceEqual(points[k - 1]));
        Assert.Equal(lastMove + Minimizer.StallLimit, completed.Iterations);
        Assert.Equal(completed.Iterations, iterations[^1].Iteration);
        Api.Close([1, 1], completed.Parameters!.Vector("x"), 1e-9);
        Assert.Equal(StopReasonCode.NoProgress, job.StopReason);
        Assert.Equal(JobStatus.Succeeded, job.Status);
    }

    [Fact]
    public async Task A_job_whose_updates_change_nothing_ends_noProgress_at_the_third_iteration()
    {
        using var timeout = Jobs.Timeout();
        var (completed, _, _) = await Run(Rosenbrock100("sgd", 1000, null, learningRate: 1e-30), timeout.Token);
        Assert.Equal(StopReasonCode.NoProgress, completed.StopReason);
        Assert.Equal(Minimizer.StallLimit, completed.Iterations);
        Assert.Equal([-1.0, 1.0], completed.Parameters!.Vector("x"));
    }

    [Fact]
    public async Task The_issues_badly_scaled_problem_converges_with_lbfgs()
    {
        using var timeout = Jobs.Timeout();
        const string body = """
            {"expression": "c*((10000*x[1]*x[2] - 1)^2 + (exp(-x[1]) + exp(-x[2]) - 1.0001)^2)", "parameters": {"x": [0, 1]},
             "constants": {"c": 1e6}, "optimizer": {"type": "lbfgs"}, "maxIterations": 2000, "gradientNormTolerance": 1e-4}
            """;
        var (completed, _, _) = await Run(body, timeout.Token);
        Assert.Equal(StopReasonCode.GradientNormTolerance, completed.StopReason);
        Assert.True(completed.Iterations < 500, $"{completed.Iterations} iterations");
        var x = completed.Parameters!.Vector("x");
        // Both residuals vanish at the minimiser.
        Assert.True(Math.Abs(1e4 * x[0] * x[1] - 1) < 1e-9, $"x = [{x[0]:R}, {x[1]:R}]");
        Assert.True(Math.Abs(Math.Exp(-x[0]) + Math.Exp(-x[1]) - 1.0001) < 1e-12, $"x = [{x[0]:R}, {x[1]:R}]");
    }

    public static TheoryData<string, int, double?> FinishedJobs() => new()
    {
        { "sgd", 100, null },
        { "adam", 100, null },
        { "lbfgs", 8, null },
        { "lbfgs", 1000, 1e-10 },
        { "newton", 5, null },
        { "newton", 1000, 1e-10 },
    };

    [Theory]
    [MemberData(nameof(FinishedJobs))]
    public async Task A_finished_jobs_value_and_gradient_norm_are_those_of_its_parameters_bit_for_bit(string optimizer, int maxIterations, double? tolerance)
    {
        using var timeout = Jobs.Timeout();
        var (completed, iterations, job) = await Run(Rosenbrock100(optimizer, maxIterations, tolerance, optimizer == "sgd" ? 1e-4 : null), timeout.Token);
        Assert.Equal(tolerance is null ? StopReasonCode.MaxIterations : StopReasonCode.GradientNormTolerance, completed.StopReason);
        Assert.Equal(completed.Iterations, iterations[^1].Iteration);

        var x = completed.Parameters!.Vector("x");
        var (response, _) = await Api.PostOk(_client, Api.RosenbrockRequest(x[0], x[1]) with { Constants = new() { ["a"] = 1.0, ["b"] = 100.0 } });
        var g = response.Gradient.Vector("x");
        Assert.Equal(response.Value, completed.Value);
        Assert.Equal(Math.Sqrt(g[0] * g[0] + g[1] * g[1]), completed.GradientNorm);
        // The job's status says the same.
        Assert.Equal(completed.Value, job.Value);
        Assert.Equal(completed.GradientNorm, job.GradientNorm);
        Assert.Equal(x, job.Parameters!.Vector("x"));
    }

    [Theory]
    [InlineData(200)]
    [InlineData(5000)]
    public async Task A_finished_fit_over_a_dataset_has_the_loss_of_its_parameters_bit_for_bit(int rows)
    {
        // 5000 rows take the fused replay, by chunks of rows; 200 the plain sweeps.
        using var timeout = Jobs.Timeout();
        var dataset = await Datasets.CreateCsv(_client, LabData.Generate(rows, seed: 4).Csv(), timeout.Token);
        var (completed, _, _) = await Run(Datasets.LabFit(dataset.Id, Datasets.Sgd(0.1), 50), timeout.Token);
        Assert.Equal(StopReasonCode.MaxIterations, completed.StopReason);

        var (b0, b1) = (completed.Parameters!.Scalar("b0"), completed.Parameters!.Scalar("b1"));
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "mean((y - (b0 + b1*x))^2)",
            Parameters = new() { ["b0"] = b0, ["b1"] = b1 },
            Dataset = dataset.Id,
        });
        Assert.Equal(response.Value, completed.Value);
        var (g0, g1) = (response.Gradient.Scalar("b0"), response.Gradient.Scalar("b1"));
        Assert.Equal(Math.Sqrt(g0 * g0 + g1 * g1), completed.GradientNorm);
    }

    [Fact]
    public async Task A_job_whose_last_update_overflows_ends_diverged_at_the_point_before_it()
    {
        // One sgd step with a huge learning rate sends b to about -1e201, where the loss overflows.
        using var timeout = Jobs.Timeout();
        const string body = """
            {"model": "b*x", "target": "y", "data": {"x": [1, 2, 3], "y": [2, 4, 6]}, "parameters": {"b": 0},
             "optimizer": {"type": "sgd", "learningRate": 1e200}, "maxIterations": 1}
            """;
        var (completed, iterations, job) = await Run(body, timeout.Token);
        Assert.Equal(JobStatus.Failed, completed.Status);
        Assert.Equal(StopReasonCode.Diverged, completed.StopReason);
        Assert.Equal(1, completed.Iterations);
        Assert.Single(iterations);
        Assert.Equal(0, completed.Parameters!.Scalar("b"));
        // At b = 0 the loss is (4 + 16 + 36) / 3, and so is the fit's over every row.
        Assert.Equal(56.0 / 3, completed.Value!.Value, 1e-12);
        Assert.Equal(56.0 / 3, completed.Fit!.Loss, 1e-12);
        Assert.Equal(completed.Value, job.Value);
    }

    [Fact]
    public async Task A_diverged_job_reports_its_last_finite_point_with_that_points_loss()
    {
        using var timeout = Jobs.Timeout();
        var (completed, iterations, _) = await Run(Jobs.Tutorial(("optimizer", Datasets.Sgd(1))), timeout.Token);
        Assert.Equal(StopReasonCode.Diverged, completed.StopReason);
        Assert.Equal(iterations[^1].Parameters.Vector("x"), completed.Parameters!.Vector("x"));
        Assert.Equal(iterations[^1].Value, completed.Value);
        Assert.Equal(iterations[^1].GradientNorm, completed.GradientNorm);
    }
}
