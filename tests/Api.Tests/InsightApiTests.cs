using System.Globalization;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>
/// Issue 16's insight through HTTP: the gradient check and the curvature certificate on /gradient, the certificate
/// of a finished job (a run that stops on a saddle says so), and the learning-rate preflight of sgd on a quadratic
/// with a known λmax.
/// </summary>
public sealed class InsightApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    async Task<MinimizeJob> Finished(string json)
    {
        using var timeout = Jobs.Timeout(60);
        var job = await Jobs.Start(_client, json, timeout.Token);
        return await Jobs.WaitFor(_client, job.Id, j => j.Status is JobStatus.Succeeded or JobStatus.Failed or JobStatus.Cancelled, timeout.Token);
    }

    [Fact]
    public async Task GradientCheckListsEveryElementAndReportsAKinkInsteadOfAFailure()
    {
        var request = new GradientRequest
        {
            Expression = "sum(w^2 * d) + abs(b) + max(w[1], 0.5)",
            Parameters = new() { ["w"] = new[] { 0.5, -1.5 }, ["b"] = 0.0 },
            Data = new() { ["d"] = new[] { 2.0, 3.0 } },
            Check = true,
        };
        var (response, _) = await Api.PostOk(_client, request);
        var check = response.Check!;
        Assert.Equal(["w[1]", "w[2]", "b"], check.Elements.Select(e => e.Parameter));
        Assert.True(check.Passed);
        Assert.Equal(0, check.Failures);
        Assert.Equal(2, check.Kinks);
        // w[2]: d/dw2 = 2·w2·d2 = -9, by central differences independently of the tape.
        var w2 = check.Elements[1];
        Assert.True(w2.Passed);
        Assert.Equal(-9.0, w2.Estimate, 1e-8);
        Assert.StartsWith("max at", check.Elements[0].Kink);
        Assert.StartsWith("abs at", check.Elements[2].Kink);
        Assert.Null(check.Elements[2].Passed);
    }

    [Fact]
    public async Task CertificateOnGradientTellsRosenbrocksMinimumFromASaddle()
    {
        var (minimum, _) = await Api.PostOk(_client, Api.RosenbrockRequest(1, 1) with { Constants = new() { ["a"] = 1.0, ["b"] = 100.0 }, Certificate = true });
        var root = Math.Sqrt(1002.0 * 1002.0 - 1600);
        Assert.Equal("minimum", minimum.Certificate!.Kind);
        Assert.Equal((1002 - root) / 2, minimum.Certificate.Eigenvalues![0], 1e-10);
        Assert.Equal((1002 + root) / 2, minimum.Certificate.Eigenvalues[1], 1e-9);
        Assert.True(minimum.Certificate.Complete);

        var (saddle, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "x^2 - y^2", Parameters = new() { ["x"] = 0.0, ["y"] = 0.0 }, Certificate = true,
        });
        Assert.Equal("saddle", saddle.Certificate!.Kind);
        Assert.Equal([-2.0, 2.0], saddle.Certificate.Eigenvalues!);
    }

    [Fact]
    public async Task AFinishedJobCarriesItsCertificate()
    {
        var job = await Finished(Jobs.Rosenbrock100("lbfgs"));
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal("minimum", job.Certificate!.Kind);
        Assert.Equal(1001.6006, job.Certificate.Eigenvalues![1], 1e-3);
        Assert.Null(job.Preflight);
    }

    [Fact]
    public async Task AJobThatConvergesToASaddleSaysSo()
    {
        // y starts at 0 and its gradient stays 0: sgd converges to the saddle of x^2 - y^2.
        var job = await Finished("""
            {"expression": "x^2 - y^2", "parameters": {"x": 1, "y": 0}, "optimizer": {"type": "sgd", "learningRate": 0.1},
             "maxIterations": 1000, "gradientNormTolerance": 1e-9}
            """);
        Assert.True(job.Converged);
        Assert.Equal("saddle", job.Certificate!.Kind);
        Assert.Equal([-2.0, 2.0], job.Certificate.Eigenvalues!);
    }

    static string Quadratic(double learningRate) => $$"""
        {"expression": "5*x^2 + 0.5*y^2", "parameters": {"x": 1, "y": 1}, "optimizer": {"type": "sgd", "learningRate": {{learningRate.ToString("R", CultureInfo.InvariantCulture)}}},
         "maxIterations": 10000, "gradientNormTolerance": 1e-8}
        """;

    [Fact]
    public async Task SgdJustBelowTheStableRateConvergesAndJustAboveItDivergesNamingTheStableRate()
    {
        // H = diag(10, 1): λmax = 10, the stable sgd rate 2/λmax = 0.2.
        var below = await Finished(Quadratic(1.9 / 10));
        Assert.Equal(10.0, below.Preflight!.LambdaMax!.Value, 1e-8);
        Assert.Equal(0.2, below.Preflight.StableLearningRate!.Value, 1e-9);
        Assert.Null(below.Preflight.Warning);
        Assert.True(below.Converged);
        Assert.Equal("minimum", below.Certificate!.Kind);

        var above = await Finished(Quadratic(2.1 / 10));
        Assert.Equal(JobStatus.Failed, above.Status);
        Assert.Equal(StopReasonCode.Diverged, above.StopReason);
        Assert.Contains("above the largest stable sgd rate 2/λmax = 0.2", above.Preflight!.Warning);
        Assert.Contains("a learning rate below 2/λmax = 0.2 would have been stable there (this run used 0.21)", above.Message);
    }

    [Fact]
    public async Task AdaptiveOptimizersAreWarnedOnlyFarAboveTheStableRate()
    {
        var adam = await Finished(Quadratic(0.5).Replace("\"sgd\"", "\"adam\"").Replace("10000", "50"));
        Assert.Equal(0.5, adam.Preflight!.LearningRate);
        Assert.Null(adam.Preflight.Warning);
        var far = await Finished(Quadratic(3).Replace("\"sgd\"", "\"adam\"").Replace("10000", "50"));
        Assert.Contains("more than 10 times the largest stable sgd rate", far.Preflight!.Warning);
    }
}

/// <summary>The derivative as a formula through /gradient: texts that, posted back as formulas, give the gradient.</summary>
public sealed class SymbolicApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task EachReturnedTextPostedBackAsAFormulaGivesTheGradient()
    {
        var request = new GradientRequest
        {
            Expression = "r = y - (b0 + b1*x); mean(r^2) + 0.1*sum(w^2) + w[2]*b0",
            Parameters = new() { ["b0"] = 0.5, ["b1"] = 2.0, ["w"] = new[] { 0.3, -0.7 } },
            Data = new() { ["x"] = new[] { 1.0, 2, 3 }, ["y"] = new[] { 2.0, 3.5, 4 } },
            Symbolic = true,
        };
        var (response, _) = await Api.PostOk(_client, request);
        var symbolic = response.Symbolic!;
        Assert.All(symbolic.Values, s => Assert.True(s.Verified, s.Note));
        Assert.Null(symbolic["w"].Expression);
        Assert.Equal(2, symbolic["w"].Elements!.Length);
        var texts = new List<(string Text, double Expected)>
        {
            (symbolic["b0"].Expression!, response.Gradient["b0"].Values[0]),
            (symbolic["b1"].Expression!, response.Gradient["b1"].Values[0]),
            (symbolic["w"].Elements![0], response.Gradient["w"].Values[0]),
            (symbolic["w"].Elements![1], response.Gradient["w"].Values[1]),
        };
        foreach (var (text, expected) in texts)
        {
            var (value, _) = await Api.PostOk(_client, request with { Expression = text, Symbolic = false });
            Assert.Equal(expected, value.Value, 1e-12);
        }
    }

    [Fact]
    public async Task AtAKinkTheTextIsWithheldWithANote()
    {
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "max(x, 1) + x", Parameters = new() { ["x"] = 1.0 }, Symbolic = true,
        });
        var x = response.Symbolic!["x"];
        Assert.False(x.Verified);
        Assert.Null(x.Expression);
        Assert.Contains("undefined at a kink", x.Note);
    }
}
