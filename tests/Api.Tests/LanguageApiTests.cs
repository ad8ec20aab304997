using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>The forms of issue 13 through /gradient: new functions with Hessians, let statements, slices and their errors.</summary>
public sealed class LanguageApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Theory]
    [InlineData(DType.Float64, 1e-12)]
    [InlineData(DType.Float32, 1e-5)]
    public async Task Atan2_with_a_let_gives_value_gradient_and_hessian(DType dtype, double tolerance)
    {
        // f = t^2 with t = atan2(y, x) at (x, y) = (1, 1): t = pi/4, dt/dx = -1/2, dt/dy = 1/2,
        // d²t/dx² = 2xy/s² = 1/2, d²t/dy² = -1/2, d²t/dxdy = (y² - x²)/s² = 0 (s = 2).
        var (response, raw) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "t = atan2(y, x)\nt^2",
            Parameters = new() { ["x"] = 1.0, ["y"] = 1.0 },
            Hessian = true,
            Explain = true,
            Dtype = dtype,
        });
        var t = Math.PI / 4;
        Api.Close(t * t, response.Value, tolerance);
        Api.Close(2 * t * -0.5, response.Gradient.Scalar("x"), tolerance);
        Api.Close(2 * t * 0.5, response.Gradient.Scalar("y"), tolerance);
        // H = 2 ∇t ∇tᵀ + 2 t ∇²t.
        Api.Close([[2 * 0.25 + 2 * t * 0.5, 2 * -0.25], [2 * -0.25, 2 * 0.25 + 2 * t * -0.5]], response.Hessian, tolerance);
        Assert.Single(response.Tape!, node => node.Name == "t");
    }

    [Theory]
    [InlineData("float64", 1e-9, 1e-9, 1e-7)]
    [InlineData("float32", 1e-4, 1e-3, 2e-2)]
    public async Task A_let_and_slices_minimise_to_the_closed_form_and_draw_a_surface(string dtype, double tolerance, double gradientTolerance,
        double parameterTolerance)
    {
        // sum of squared successive differences pulls x[2] and x[3] to x[1] = 2 (held by the second term): the
        // minimum is x = (2, 2, 2), loss 0, whatever the start.
        const string expression = "d = x[2:end] - x[1:end-1]; sum(d^2) + (x[1] - 2)^2";
        using var timeout = Jobs.Timeout(60);
        var body = $$"""
            {"expression": "{{expression}}", "parameters": {"x": [0, 5, -3]}, "dtype": "{{dtype}}",
             "optimizer": {"type": "lbfgs"}, "maxIterations": 200, "gradientNormTolerance": {{gradientTolerance:R}}}
            """;
        var job = await Datasets.RunOk(_client, body, timeout.Token);
        Assert.True(job.Converged, job.Message);
        foreach (var value in job.Parameters!.Vector("x")) Api.Close(2, value, parameterTolerance);

        var surface = $$"""
            {"expression": "{{expression}}", "parameters": {"x": [2, 2, 2]}, "dtype": "{{dtype}}", "resolution": 3,
             "x": {"parameter": "x[1]", "min": 1, "max": 3}, "y": {"parameter": "x[3]", "min": 1, "max": 3} }
            """;
        using var response = await _client.PostAsync("/surface", new StringContent(surface, System.Text.Encoding.UTF8, "application/json"), timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(response.IsSuccessStatusCode, text);
        var z = System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("z");
        // At x = (a, 2, c): (2 - a)^2 + (c - 2)^2 + (a - 2)^2.
        for (var j = 0; j < 3; j++)
        for (var i = 0; i < 3; i++)
        {
            double a = 1 + i, c = 1 + j;
            Api.Close(2 * (2 - a) * (2 - a) + (c - 2) * (c - 2), z[j][i].GetDouble(), tolerance);
        }
    }

    [Fact]
    public async Task A_slice_and_the_new_reductions_work_on_vectors()
    {
        // diff(v) = (2, -1); sum of squares 5; logsumexp(v[2:end]) = log(e^3 + e^2); prod(v) = 6.
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "sum(diff(v)^2) + logsumexp(v[2:end]) + prod(v)",
            Parameters = new() { ["v"] = new[] { 1.0, 3.0, 2.0 } },
        });
        Api.Close(5 + Math.Log(Math.Exp(3) + Math.Exp(2)) + 6, response.Value);
        var s3 = Math.Exp(3) / (Math.Exp(3) + Math.Exp(2));
        Api.Close([-4 + 6, 6 + s3 + 2, -2 + (1 - s3) + 3], response.Gradient.Vector("v"));
    }

    [Theory]
    [InlineData("x = 2; x", "duplicate-name", 1, "x")]
    [InlineData("sum(v[3:2])", "index-out-of-range", 6, "3:2")]
    [InlineData("sum(v[2:end+1])", "index-out-of-range", 6, "2:end+1")]
    [InlineData("sum(v[0:2])", "formula-syntax", 7, "0")]
    [InlineData("atan3(x, 1)", "unknown-function", 1, "atan3")]
    public async Task New_forms_fail_as_problems_with_a_column(string expression, string code, int column, string token)
    {
        var problem = await Api.PostProblem(_client, new GradientRequest
        {
            Expression = expression,
            Parameters = new() { ["x"] = 1.0, ["v"] = new[] { 1.0, 2.0, 3.0 } },
        }, 400, code);
        Assert.Equal(column, problem.GetProperty("column").GetInt32());
        Assert.Equal(token, problem.GetProperty("token").GetString());
    }
}
