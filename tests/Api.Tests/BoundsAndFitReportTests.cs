using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>Issue 17 through /minimize: bounds, levenberg-marquardt and the coefficient table of the fit report.</summary>
public sealed class BoundsAndFitReportTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    /// <summary>R's summary(lm(y ~ x)) in closed form: estimates, standard errors, t values, R² and adjusted R².</summary>
    sealed record LmSummary(double[] Estimate, double[] StandardError, double[] T, double Sigma, double RSquared, double AdjustedRSquared, double Correlation);

    static LmSummary Lm(LabData lab)
    {
        var n = lab.Rows;
        var (b0, b1) = lab.LeastSquares();
        var mx = lab.X.Average();
        var sxx = lab.X.Sum(v => (v - mx) * (v - mx));
        var rss = lab.Rss(b0, b1);
        var sigma = Math.Sqrt(rss / (n - 2));
        var se1 = sigma / Math.Sqrt(sxx);
        var se0 = sigma * Math.Sqrt(1.0 / n + mx * mx / sxx);
        var r2 = 1 - rss / lab.Tss();
        // Cov(b0, b1) = -σ²·x̄/Sxx, so corr = -x̄/√(x̄² + Sxx/n).
        var correlation = -mx / Math.Sqrt(mx * mx + sxx / n);
        return new([b0, b1], [se0, se1], [b0 / se0, b1 / se1], sigma, r2, 1 - (1 - r2) * (n - 1) / (n - 2), correlation);
    }

    static double[] ScipyTwoSidedP(double[] t, int freedom) => Scipy.Run("""
        import json, sys
        from scipy import stats
        d = json.load(sys.stdin)
        print(json.dumps([2*stats.t.sf(abs(t), d['df']) for t in d['t']]))
        """, new { t, df = freedom }).EnumerateArray().Select(e => e.GetDouble()).ToArray();

    static void AssertTable(LabData lab, FitReport fit)
    {
        var lm = Lm(lab);
        var coefficients = fit.Coefficients!;
        Assert.Equal(["b0", "b1"], coefficients.Select(c => c.Parameter));
        var p = ScipyTwoSidedP(lm.T, lab.Rows - 2);
        for (var i = 0; i < 2; i++)
        {
            var c = coefficients[i];
            Jobs.Relative(lm.Estimate[i], c.Estimate, 1e-9, $"estimate {c.Parameter}");
            Jobs.Relative(lm.StandardError[i], c.StandardError!.Value, 1e-9, $"SE {c.Parameter}");
            Jobs.Relative(lm.T[i], c.TValue!.Value, 1e-9, $"t {c.Parameter}");
            Jobs.Relative(p[i], c.PValue!.Value, 1e-9, $"p {c.Parameter}");
            Assert.True(c.ConfidenceLow < c.Estimate && c.Estimate < c.ConfidenceHigh);
            // The interval is estimate ± t(0.975, df)·SE: its half-width over SE is the same quantile for both rows.
            Jobs.Relative(1.9720174778338955, (c.ConfidenceHigh!.Value - c.Estimate) / c.StandardError.Value, 1e-9, "t(0.975, 198)");
        }
        Assert.Equal(lab.Rows - 2, fit.DegreesOfFreedom);
        Jobs.Relative(lm.Sigma, fit.ResidualStandardError!.Value, 1e-9, "residual standard error");
        Jobs.Relative(lm.RSquared, fit.RSquared!.Value, 1e-9, "R²");
        Jobs.Relative(lm.AdjustedRSquared, fit.AdjustedRSquared!.Value, 1e-9, "adjusted R²");
        Jobs.Relative(lm.Correlation, fit.Correlation![0][1]!.Value, 1e-9, "correlation");
        Assert.Equal(1, fit.Correlation[0][0]);
    }

    [Fact]
    public async Task The_lab_table_over_a_stored_dataset_and_inline_data_equals_Rs_summary_lm()
    {
        using var timeout = Jobs.Timeout(60);
        var lab = LabData.Generate(200, seed: 1);
        var dataset = await Datasets.CreateCsv(_client, lab.Csv(), timeout.Token);

        var stored = await Datasets.RunOk(_client, Datasets.LabFit(dataset.Id, new JsonObject { ["type"] = "lbfgs" }, 100,
            ("gradientNormTolerance", 1e-12)), timeout.Token);
        Assert.True(stored.Converged, stored.Message);
        AssertTable(lab, stored.Fit!);
        Assert.Null(stored.Fit!.Note);

        var inline = await Datasets.RunOk(_client, Datasets.LabFit(dataset.Id, new JsonObject { ["type"] = "levenberg-marquardt" }, 50,
            ("dataset", null), ("data", lab.DataNode()), ("gradientNormTolerance", 1e-12)), timeout.Token);
        Assert.Equal("levenberg-marquardt", inline.Optimizer);
        AssertTable(lab, inline.Fit!);

        // The same table as CSV, by query and by Accept header.
        using var csv = await _client.GetAsync($"/minimize/{stored.Id}/fit?format=csv", timeout.Token);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync(timeout.Token)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("parameter,estimate,standardError,tValue,pValue,confidenceLow,confidenceHigh", lines[0]);
        var b1 = lines[2].Split(',');
        Assert.Equal("b1", b1[0]);
        Assert.Equal(stored.Fit!.Coefficients![1].StandardError!.Value, double.Parse(b1[2], System.Globalization.CultureInfo.InvariantCulture));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/minimize/{stored.Id}/fit");
        request.Headers.Accept.ParseAdd("text/csv");
        using var byHeader = await _client.SendAsync(request, timeout.Token);
        Assert.Equal(string.Join('\n', lines) + "\n", await byHeader.Content.ReadAsStringAsync(timeout.Token));
        var json = await _client.GetFromJsonAsync<FitReport>($"/minimize/{stored.Id}/fit", Api.Json, timeout.Token);
        Assert.Equal(stored.Fit.Coefficients[0], json!.Coefficients![0]);
    }

    [Fact]
    public async Task A_bounded_lab_fit_ends_on_the_bound_at_the_closed_form_and_says_the_start_was_projected()
    {
        using var timeout = Jobs.Timeout(60);
        var lab = LabData.Generate(200, seed: 1);
        // b0 ≤ 0.5 cuts off the free minimum (b0 ≈ 0.97); on the bound, b1 = Σx(y - 0.5)/Σx².
        var b1 = lab.X.Zip(lab.Y, (x, y) => x * (y - 0.5)).Sum() / lab.X.Sum(x => x * x);
        foreach (var optimizer in new[] { "lbfgs", "newton", "levenberg-marquardt" })
        {
            var job = await Datasets.RunOk(_client, Datasets.LabFit("unused", new JsonObject { ["type"] = optimizer }, 200,
                ("dataset", null), ("data", lab.DataNode()), ("parameters", new JsonObject { ["b0"] = -3, ["b1"] = 0 }),
                ("bounds", new JsonObject { ["b0"] = new JsonObject { ["min"] = 0, ["max"] = 0.5 } }),
                ("gradientNormTolerance", 1e-10)), timeout.Token);
            Assert.True(job.Converged, $"{optimizer}: {job.Message}");
            Assert.Equal(0.5, job.Parameters!.Scalar("b0"));
            Jobs.Relative(b1, job.Parameters!.Scalar("b1"), 1e-8, $"{optimizer} b1");
            // The gradient norm is the projected gradient's: ∂loss/∂b0 is far from 0 on the bound.
            Assert.True(job.GradientNorm <= 1e-10, $"{optimizer}: {job.GradientNorm}");
            Assert.True(job.StartProjected, optimizer);
            Assert.Contains("b0 from -3 to 0", job.Message);
            Assert.True(job.Fit!.Coefficients![0].AtBound);
        }
    }

    [Fact]
    public async Task One_sided_bounds_per_element_and_a_fixed_parameter()
    {
        using var timeout = Jobs.Timeout(60);
        // sum((w - (3, -4, 1))^2) with w ≤ (1, ∞, ∞) elementwise and w[3] fixed at 0 by min = max: (1, -4, 0).
        var job = await Datasets.RunOk(_client, """
            {"expression": "(w[1] - 3)^2 + (w[2] + 4)^2 + (w[3] - 1)^2", "parameters": {"w": [5, 5, 5]},
             "bounds": {"w": {"max": [1, 1e300, 0], "min": [-1e300, -1e300, 0]}},
             "optimizer": {"type": "adam", "learningRate": 0.05}, "maxIterations": 5000, "gradientNormTolerance": 1e-9}
            """, timeout.Token);
        var w = job.Parameters!["w"].Values;
        Assert.Equal(1, w[0]);
        Assert.Equal(-4, w[1], 1e-6);
        Assert.Equal(0, w[2]);

        var lab = LabData.Generate(50, seed: 3);
        var fixedB0 = await Datasets.RunOk(_client, Datasets.LabFit("unused", new JsonObject { ["type"] = "lbfgs" }, 200,
            ("dataset", null), ("data", lab.DataNode()),
            ("bounds", new JsonObject { ["b0"] = new JsonObject { ["min"] = 1, ["max"] = 1 } }), ("gradientNormTolerance", 1e-12)), timeout.Token);
        Assert.Equal(1, fixedB0.Parameters!.Scalar("b0"));
        var b1 = lab.X.Zip(lab.Y, (x, y) => x * (y - 1)).Sum() / lab.X.Sum(x => x * x);
        Jobs.Relative(b1, fixedB0.Parameters!.Scalar("b1"), 1e-9, "b1 with b0 fixed");
        // A fixed parameter is not estimated: no standard error, and one more residual degree of freedom.
        var table = fixedB0.Fit!;
        Assert.True(table.Coefficients![0].Fixed);
        Assert.Null(table.Coefficients[0].StandardError);
        Assert.Equal(49, table.DegreesOfFreedom);
        var sigma = Math.Sqrt(lab.Rss(1, b1) / 49);
        Jobs.Relative(sigma / Math.Sqrt(lab.X.Sum(x => x * x)), table.Coefficients[1].StandardError!.Value, 1e-9, "SE b1 through the origin at 1");
    }

    public static TheoryData<string, string, string, string> BadRequests => new()
    {
        { "min above max", """{"bounds": {"a": {"min": 2, "max": 1}}}""", "invalid-bounds", "bounds.a.min" },
        { "unknown parameter", """{"bounds": {"z": {"min": 0}}}""", "invalid-bounds", "bounds.z" },
        { "wrong length", """{"bounds": {"w": {"max": [1, 2, 3]}}}""", "invalid-bounds", "bounds.w.max" },
        { "lm on a non-square loss", """{"optimizer": {"type": "levenberg-marquardt"}}""", "not-least-squares", "optimizer.type" },
        { "residuals with expression", """{"residuals": "w[1] - 1"}""", "invalid-input", "residuals" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task Bad_bounds_and_least_squares_requests_are_400_naming_the_field(string name, string change, string code, string field)
    {
        using var timeout = Jobs.Timeout(30);
        var body = JsonNode.Parse("""
            {"expression": "(a - 1)^2 + abs(w[1]) + w[2]^2", "parameters": {"a": 0, "w": [1, 2]},
             "optimizer": {"type": "sgd"}, "maxIterations": 10}
            """)!.AsObject();
        foreach (var (key, value) in JsonNode.Parse(change)!.AsObject()) body[key] = value?.DeepClone();
        using var response = await Jobs.Post(_client, body.ToJsonString(), timeout.Token);
        var problem = await Api.ReadProblem(response, 400, code);
        Assert.True(field == problem.GetProperty("field").GetString(), $"{name}: {problem}");
    }

    [Fact]
    public async Task Levenberg_marquardt_on_explicit_residuals_fits_Puromycin_as_R_nls_does()
    {
        using var timeout = Jobs.Timeout(60);
        // R: summary(nls(rate ~ Vm*conc/(K + conc), Puromycin, subset = state == "treated", start = c(Vm = 200, K = 0.1)))
        //   Vm 2.127e+02  6.947e+00  30.615 3.24e-11;  K 6.412e-02  8.281e-03  7.743 1.57e-05;  residual SE 10.93 on 10 df.
        var job = await Datasets.RunOk(_client, """
            {"residuals": "rate - Vm*conc/(K + conc)", "parameters": {"Vm": 200, "K": 0.1},
             "data": {"conc": [0.02, 0.02, 0.06, 0.06, 0.11, 0.11, 0.22, 0.22, 0.56, 0.56, 1.10, 1.10],
                      "rate": [76, 47, 97, 107, 123, 139, 159, 152, 191, 201, 207, 200]},
             "optimizer": {"type": "levenberg-marquardt"}, "maxIterations": 100, "gradientNormTolerance": 1e-8}
            """, timeout.Token);
        Assert.Equal("sum((rate - Vm*conc/(K + conc))^2)", job.Expression);
        var table = job.Fit!.Coefficients!;
        Assert.Equal(212.7, table[0].Estimate, 0.05);
        Assert.Equal(6.947, table[0].StandardError!.Value, 0.001);
        Assert.Equal(30.615, table[0].TValue!.Value, 0.001);
        Assert.Equal(3.24e-11, table[0].PValue!.Value, 0.01e-11);
        Assert.Equal(0.06412, table[1].Estimate, 0.000005);
        Assert.Equal(8.281e-03, table[1].StandardError!.Value, 0.0005e-03);
        Assert.Equal(7.743, table[1].TValue!.Value, 0.001);
        Assert.Equal(1.57e-05, table[1].PValue!.Value, 0.005e-05);
        Assert.Equal(10.93, job.Fit.ResidualStandardError!.Value, 0.005);
        Assert.Equal(10, job.Fit.DegreesOfFreedom);
    }

    [Fact]
    public async Task A_mini_batch_run_says_why_it_has_no_table_and_levenberg_marquardt_refuses_batches()
    {
        using var timeout = Jobs.Timeout(60);
        var lab = LabData.Generate(40, seed: 5);
        var job = await Datasets.RunOk(_client, Datasets.LabFit("unused", Datasets.Sgd(0.1), 20,
            ("dataset", null), ("data", lab.DataNode()), ("batchSize", 10)), timeout.Token);
        Assert.Null(job.Fit!.Coefficients);
        Assert.Contains("mini-batch", job.Fit.Note);

        using var response = await Jobs.Post(_client, Datasets.LabFit("unused", new JsonObject { ["type"] = "levenberg-marquardt" }, 20,
            ("dataset", null), ("data", lab.DataNode()), ("batchSize", 10)), timeout.Token);
        var problem = await Api.ReadProblem(response, 400, "invalid-input");
        Assert.Equal("batchSize", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task The_fit_of_an_unknown_job_is_404_and_of_a_job_without_data_is_404_no_fit_report()
    {
        using var timeout = Jobs.Timeout(30);
        using var unknown = await _client.GetAsync("/minimize/nope/fit", timeout.Token);
        await Api.ReadProblem(unknown, 404, "job-not-found");
        var job = await Datasets.RunOk(_client, Jobs.Rosenbrock100("lbfgs", 5), timeout.Token);
        using var none = await _client.GetAsync($"/minimize/{job.Id}/fit", timeout.Token);
        await Api.ReadProblem(none, 404, "no-fit-report");
    }
}
