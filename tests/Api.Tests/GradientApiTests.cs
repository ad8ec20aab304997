using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>Shared helpers: posting requests, reading responses and checking problem details.</summary>
internal static class Api
{
    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public const string Paraboloid = "0.2*x1^2 + 0.2*x2^2 - 5";
    public const string Rosenbrock = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2";

    public static GradientRequest ParaboloidRequest(double x1 = 2, double x2 = 2) => new()
    {
        Expression = Paraboloid,
        Parameters = new() { ["x1"] = x1, ["x2"] = x2 },
    };

    public static GradientRequest RosenbrockRequest(double x1 = -1, double x2 = 1) => new()
    {
        Expression = Rosenbrock,
        Parameters = new() { ["x"] = new[] { x1, x2 } },
        Constants = new() { ["a"] = 1.0, ["b"] = 5.0 },
    };

    public static Task<HttpResponseMessage> Post(HttpClient client, GradientRequest request) =>
        client.PostAsJsonAsync("/gradient", request, Json);

    public static Task<HttpResponseMessage> PostRaw(HttpClient client, string json, string mediaType = "application/json") =>
        client.PostAsync("/gradient", new StringContent(json, Encoding.UTF8, mediaType));

    /// <summary>Posts and expects 200; returns the typed response and the raw JSON.</summary>
    public static async Task<(GradientResponse Response, JsonElement Raw)> PostOk(HttpClient client, GradientRequest request)
    {
        using var response = await Post(client, request);
        return await ReadOk(response);
    }

    public static async Task<(GradientResponse Response, JsonElement Raw)> ReadOk(HttpResponseMessage response)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var typed = JsonSerializer.Deserialize<GradientResponse>(body, Json);
        Assert.NotNull(typed);
        using var document = JsonDocument.Parse(body);
        return (typed, document.RootElement.Clone());
    }

    /// <summary>Checks status, media type, <c>status</c>, <c>code</c> and <c>type</c> of a problem; returns its JSON.</summary>
    public static async Task<JsonElement> ReadProblem(HttpResponseMessage response, int status, string? code)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"Expected {status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var document = JsonDocument.Parse(body);
        var problem = document.RootElement.Clone();
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), body);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), body);
        var actualCode = problem.GetProperty("code").GetString();
        Assert.False(string.IsNullOrEmpty(actualCode), body);
        Assert.Equal("https://autograd.service/problems/" + actualCode, problem.GetProperty("type").GetString());
        if (code is not null) Assert.Equal(code, actualCode);
        return problem;
    }

    public static async Task<JsonElement> PostProblem(HttpClient client, string json, int status, string? code)
    {
        using var response = await PostRaw(client, json);
        return await ReadProblem(response, status, code);
    }

    public static async Task<JsonElement> PostProblem(HttpClient client, GradientRequest request, int status, string? code)
    {
        using var response = await Post(client, request);
        return await ReadProblem(response, status, code);
    }

    public static double Scalar(this Dictionary<string, NumberOrVector> gradient, string name)
    {
        Assert.True(gradient.TryGetValue(name, out var value), $"no gradient for '{name}'");
        Assert.True(value!.IsScalar, $"gradient of '{name}' should be a number");
        return value.Values[0];
    }

    public static double[] Vector(this Dictionary<string, NumberOrVector> gradient, string name)
    {
        Assert.True(gradient.TryGetValue(name, out var value), $"no gradient for '{name}'");
        Assert.False(value!.IsScalar, $"gradient of '{name}' should be an array");
        return value.Values;
    }

    public static void Close(double expected, double actual, double tolerance = 1e-12) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance, $"Expected {expected:R} ± {tolerance}, got {actual:R}");

    public static void Close(double[] expected, double[] actual, double tolerance = 1e-12)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Close(expected[i], actual[i], tolerance);
    }

    public static void Close(double[][] expected, double[][]? actual, double tolerance = 1e-12)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Close(expected[i], actual[i], tolerance);
    }

    public static string Numbers(IEnumerable<double> values) =>
        "[" + string.Join(",", values.Select(v => v.ToString("R", CultureInfo.InvariantCulture))) + "]";
}

/// <summary>Successful requests: values, gradients, Hessians, tapes, dtypes, data and the tape cache.</summary>
public sealed class GradientApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Paraboloid_from_the_readme_gives_value_and_gradient()
    {
        var (response, raw) = await Api.PostOk(_client, Api.ParaboloidRequest());

        Api.Close(-3.4, response.Value);
        Api.Close(0.8, response.Gradient.Scalar("x1"));
        Api.Close(0.8, response.Gradient.Scalar("x2"));
        Assert.Equal(2, response.Gradient.Count);
        Assert.Equal(JsonValueKind.Number, raw.GetProperty("gradient").GetProperty("x1").ValueKind);
        Assert.Equal(JsonValueKind.Number, raw.GetProperty("gradient").GetProperty("x2").ValueKind);
        Assert.False(raw.TryGetProperty("hessian", out _));
        Assert.False(raw.TryGetProperty("hessianLabels", out _));
        Assert.False(raw.TryGetProperty("tape", out _));
    }

    [Fact]
    public async Task Rosenbrock_from_the_readme_gives_value_and_vector_gradient()
    {
        var (response, raw) = await Api.PostOk(_client, Api.RosenbrockRequest());

        Api.Close(4, response.Value);
        Api.Close([-4, 0], response.Gradient.Vector("x"));
        Assert.Equal(["x"], response.Gradient.Keys);
        var x = raw.GetProperty("gradient").GetProperty("x");
        Assert.Equal(JsonValueKind.Array, x.ValueKind);
        Assert.Equal([-4.0, 0.0], x.EnumerateArray().Select(e => e.GetDouble()));
    }

    [Fact]
    public async Task Rosenbrock_readme_body_as_raw_json_works_too()
    {
        using var response = await Api.PostRaw(_client,
            """{"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5}}""");
        var (typed, raw) = await Api.ReadOk(response);
        Api.Close(4, typed.Value);
        Assert.Equal("""[-4,0]""", raw.GetProperty("gradient").GetProperty("x").GetRawText());
    }

    [Fact]
    public async Task A_lone_parameter_has_gradient_one()
    {
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "x",
            Parameters = new() { ["x"] = 3.0 },
        });
        Api.Close(3, response.Value);
        Api.Close(1, response.Gradient.Scalar("x"));
    }

    [Fact]
    public async Task Rosenbrock_hessian_matches_the_closed_form()
    {
        var (response, raw) = await Api.PostOk(_client, Api.RosenbrockRequest() with { Hessian = true });

        // d2/dx1^2 = 2 - 4b(x2 - x1^2) + 8b x1^2, d2/dx1dx2 = -4b x1, d2/dx2^2 = 2b at (-1, 1), b = 5.
        const double b = 5, x1 = -1, x2 = 1;
        double[][] expected =
        [
            [2 - 4 * b * (x2 - x1 * x1) + 8 * b * x1 * x1, -4 * b * x1],
            [-4 * b * x1, 2 * b],
        ];
        Assert.Equal([[42.0, 20.0], [20.0, 10.0]], expected);
        Api.Close(expected, response.Hessian);
        Assert.Equal(["x[1]", "x[2]"], response.HessianLabels!);
        Assert.Equal(JsonValueKind.Array, raw.GetProperty("hessian")[0].ValueKind);

        // Asking for the Hessian leaves value and gradient as they are without it.
        Api.Close(4, response.Value);
        Api.Close([-4, 0], response.Gradient.Vector("x"));
    }

    [Fact]
    public async Task Hessian_over_mixed_scalar_and_vector_parameters_follows_request_order()
    {
        // f = s^2 y1 + s y2^2 + y1 y2 at y = (1, 2), s = 3.
        const string formula = "s^2*y[1] + s*y[2]^2 + y[1]*y[2]";
        double y1 = 1, y2 = 2, s = 3;
        var value = s * s * y1 + s * y2 * y2 + y1 * y2;
        double dY1 = s * s + y2, dY2 = 2 * s * y2 + y1, dS = 2 * s * y1 + y2 * y2;
        double hY1Y1 = 0, hY1Y2 = 1, hY1S = 2 * s, hY2Y2 = 2 * s, hY2S = 2 * y2, hSS = 2 * y1;

        var vectorFirst = await Api.PostOk(_client, new GradientRequest
        {
            Expression = formula,
            Parameters = new() { ["y"] = new[] { y1, y2 }, ["s"] = s },
            Hessian = true,
        });
        Assert.Equal(["y[1]", "y[2]", "s"], vectorFirst.Response.HessianLabels!);
        Api.Close([[hY1Y1, hY1Y2, hY1S], [hY1Y2, hY2Y2, hY2S], [hY1S, hY2S, hSS]], vectorFirst.Response.Hessian);
        Api.Close(value, vectorFirst.Response.Value);
        Api.Close([dY1, dY2], vectorFirst.Response.Gradient.Vector("y"));
        Api.Close(dS, vectorFirst.Response.Gradient.Scalar("s"));

        var scalarFirst = await Api.PostOk(_client, new GradientRequest
        {
            Expression = formula,
            Parameters = new() { ["s"] = s, ["y"] = new[] { y1, y2 } },
            Hessian = true,
        });
        Assert.Equal(["s", "y[1]", "y[2]"], scalarFirst.Response.HessianLabels!);
        Api.Close([[hSS, hY1S, hY2S], [hY1S, hY1Y1, hY1Y2], [hY2S, hY1Y2, hY2Y2]], scalarFirst.Response.Hessian);
        Api.Close(value, scalarFirst.Response.Value);
    }

    [Fact]
    public async Task Hessian_at_the_parameter_limit_is_served()
    {
        var x = Enumerable.Range(1, 200).Select(i => (double)i).ToArray();
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "sum(x^2)",
            Parameters = new() { ["x"] = x },
            Hessian = true,
        });
        Assert.NotNull(response.Hessian);
        Assert.Equal(200, response.Hessian.Length);
        for (var i = 0; i < 200; i++)
        for (var j = 0; j < 200; j++)
            Assert.Equal(i == j ? 2.0 : 0.0, response.Hessian[i][j]);
        Api.Close(x.Select(v => 2 * v).ToArray(), response.Gradient.Vector("x"));
    }

    [Fact]
    public async Task Explain_returns_the_recorded_tape()
    {
        var (response, raw) = await Api.PostOk(_client, Api.ParaboloidRequest() with { Explain = true });
        var tape = response.Tape;
        Assert.NotNull(tape);
        Assert.NotEmpty(tape);

        var last = tape[^1];
        Assert.True(last.Value.IsScalar);
        Api.Close(-3.4, last.Value.Values[0]);
        Api.Close(response.Value, last.Value.Values[0], 0);
        Assert.NotNull(last.Adjoint);
        Api.Close(1, last.Adjoint.Values[0]);

        foreach (var name in new[] { "x1", "x2" })
        {
            var input = Assert.Single(tape, n => n.Name == name);
            Assert.Equal("input", input.Op);
            Assert.Equal("parameter", input.Kind);
            Assert.Empty(input.Inputs);
            Assert.True(input.RequiresGrad);
            Api.Close(2, input.Value.Values[0]);
            Assert.NotNull(input.Adjoint);
            Assert.True(input.Adjoint.IsScalar);
            Api.Close(0.8, input.Adjoint.Values[0]);
        }

        for (var i = 0; i < tape.Length; i++)
        {
            var node = tape[i];
            if (i > 0) Assert.True(node.Id > tape[i - 1].Id, $"node ids must increase: {tape[i - 1].Id} then {node.Id}");
            Assert.All(node.Inputs, input => Assert.True(input >= 0 && input < node.Id, $"node {node.Id} reads node {input}"));
            if (node.Op == "input") Assert.Empty(node.Inputs);
            else Assert.NotEmpty(node.Inputs);
            Assert.Equal(node.RequiresGrad, node.Adjoint is not null);
            if (node.Span is { } span)
            {
                Assert.InRange(span.Column, 1, Api.Paraboloid.Length);
                Assert.InRange(span.Length, 1, Api.Paraboloid.Length - span.Column + 1);
                Assert.Equal(Api.Paraboloid.Substring(span.Column - 1, span.Length), span.Text);
            }
        }

        // Every computed node points into the formula; the last one covers all of it.
        Assert.All(tape.Where(n => n.Op != "input"), n => Assert.NotNull(n.Span));
        Assert.Equal(new SourceSpanInfo(1, Api.Paraboloid.Length, Api.Paraboloid), last.Span);
        Assert.Contains(tape, n => n.Op == "pow" && n.Argument == 2 && n.Span?.Text == "x1^2");
        // Literals such as 0.2 and 5 are inputs of kind literal that do not require grad.
        Assert.Contains(tape, n => n.Op == "input" && n.Kind == "literal" && !n.RequiresGrad && n.Adjoint is null);

        var rawLast = raw.GetProperty("tape")[tape.Length - 1];
        Assert.Equal(JsonValueKind.Number, rawLast.GetProperty("value").ValueKind);
    }

    [Fact]
    public async Task Explain_on_a_vector_parameter_gives_array_values_and_adjoints()
    {
        var (response, _) = await Api.PostOk(_client, Api.RosenbrockRequest() with { Explain = true });
        Assert.NotNull(response.Tape);
        var x = Assert.Single(response.Tape, n => n.Name == "x");
        Assert.Equal("parameter", x.Kind);
        Assert.False(x.Value.IsScalar);
        Assert.Equal([-1.0, 1.0], x.Value.Values);
        Assert.NotNull(x.Adjoint);
        Api.Close([-4, 0], x.Adjoint.Values);
        var b = Assert.Single(response.Tape, n => n.Name == "b");
        Assert.Equal("constant", b.Kind);
        Assert.False(b.RequiresGrad);
        Assert.Null(b.Adjoint);
        Assert.Contains(response.Tape, n => n.Op == "index" && n.Argument == 1);
    }

    [Fact]
    public async Task Float32_computes_in_single_precision()
    {
        var (single, raw) = await Api.PostOk(_client, Api.ParaboloidRequest() with { Dtype = DType.Float32 });
        var (dbl, _) = await Api.PostOk(_client, Api.ParaboloidRequest() with { Dtype = DType.Float64 });

        Assert.True(Math.Abs(single.Value + 3.4) < 1e-6, $"float32 value {single.Value:R}");
        // The value is a float widened to double, so it cannot be the double -3.4.
        Assert.Equal((double)(float)single.Value, single.Value);
        Assert.NotEqual(dbl.Value, single.Value);
        float x = 2f, c = 0.2f, five = 5f;
        var expected = c * (x * x) + c * (x * x) - five;
        Assert.Equal((double)expected, single.Value);

        foreach (var name in new[] { "x1", "x2" })
        {
            var g = single.Gradient.Scalar(name);
            Assert.True(Math.Abs(g - 0.8) < 1e-6, $"float32 gradient {g:R}");
            Assert.Equal((double)(float)g, g);
        }
        Assert.Equal(JsonValueKind.Number, raw.GetProperty("gradient").GetProperty("x1").ValueKind);
    }

    [Fact]
    public async Task Float32_is_accepted_as_a_json_string()
    {
        using var response = await Api.PostRaw(_client,
            """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}, "dtype": "float32"}""");
        var (typed, _) = await Api.ReadOk(response);
        Assert.Equal((double)(float)typed.Value, typed.Value);
        Assert.True(Math.Abs(typed.Value + 3.4) < 1e-6);
    }

    [Fact]
    public async Task Least_squares_over_inline_data_matches_the_closed_form()
    {
        double[] x = [0, 1, 2, 3], y = [1, 2.1, 2.9, 4.2];
        double b0 = 0.5, b1 = 0.3;
        var residuals = x.Select((xi, i) => y[i] - (b0 + b1 * xi)).ToArray();
        var n = x.Length;
        var loss = residuals.Sum(r => r * r) / n;
        var dB0 = -2.0 / n * residuals.Sum();
        var dB1 = -2.0 / n * residuals.Select((r, i) => r * x[i]).Sum();

        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "mean((y - (b0 + b1*x))^2)",
            Parameters = new() { ["b0"] = b0, ["b1"] = b1 },
            Data = new() { ["x"] = x, ["y"] = y },
        });

        Api.Close(loss, response.Value);
        Api.Close(dB0, response.Gradient.Scalar("b0"));
        Api.Close(dB1, response.Gradient.Scalar("b1"));
        Assert.Equal(["b0", "b1"], response.Gradient.Keys.Order());
    }

    [Fact]
    public async Task Identical_requests_give_identical_results_and_a_new_point_replays_correctly()
    {
        // A formula no other test uses, so the first request records and the later ones replay.
        const string formula = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2 + 0*x[1]";
        GradientRequest At(double x1, double x2) => Api.RosenbrockRequest(x1, x2) with { Expression = formula };

        using var first = await Api.Post(_client, At(-1, 1));
        using var second = await Api.Post(_client, At(-1, 1));
        var firstBody = await first.Content.ReadAsStringAsync();
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        Assert.Equal(firstBody, await second.Content.ReadAsStringAsync());

        // (0.5, 2): value (1 - 0.5)^2 + 5 (2 - 0.25)^2 = 15.5625, gradient (-18.5, 17.5).
        var (moved, _) = await Api.PostOk(_client, At(0.5, 2));
        Api.Close(15.5625, moved.Value);
        Api.Close([-18.5, 17.5], moved.Gradient.Vector("x"));

        using var back = await Api.Post(_client, At(-1, 1));
        Assert.Equal(firstBody, await back.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Replay_after_a_hessian_request_gives_the_plain_gradient()
    {
        const string formula = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2 + 0*x[2]";
        var request = Api.RosenbrockRequest() with { Expression = formula };

        var plain = await Api.PostOk(_client, request);
        var withHessian = await Api.PostOk(_client, request with { Hessian = true });
        var plainAgain = await Api.PostOk(_client, request);
        var withHessianAgain = await Api.PostOk(_client, request with { Hessian = true, Explain = true });

        foreach (var response in new[] { plain.Response, withHessian.Response, plainAgain.Response, withHessianAgain.Response })
        {
            Api.Close(4, response.Value);
            Api.Close([-4, 0], response.Gradient.Vector("x"));
        }
        Api.Close([[42, 20], [20, 10]], withHessian.Response.Hessian);
        Api.Close([[42, 20], [20, 10]], withHessianAgain.Response.Hessian);
        var x = Assert.Single(withHessianAgain.Response.Tape!, n => n.Name == "x");
        Api.Close([-4, 0], x.Adjoint!.Values);
    }

    [Fact]
    public async Task Concurrent_requests_on_one_formula_each_get_their_own_point()
    {
        const string formula = "x^3 - 2*x + 7";
        var points = Enumerable.Range(-16, 33).Select(i => i / 4.0).ToArray();
        var results = await Task.WhenAll(points.Select(p => Api.PostOk(_client, new GradientRequest
        {
            Expression = formula,
            Parameters = new() { ["x"] = p },
        })));
        for (var i = 0; i < points.Length; i++)
        {
            var p = points[i];
            Api.Close(p * p * p - 2 * p + 7, results[i].Response.Value);
            Api.Close(3 * p * p - 2, results[i].Response.Gradient.Scalar("x"));
        }
    }

    [Fact]
    public async Task Float32_and_float64_of_one_formula_do_not_share_a_tape()
    {
        const string formula = "0.1*x1^2 + 0.1*x2^2 - 5";
        var request = new GradientRequest { Expression = formula, Parameters = new() { ["x1"] = 1.0, ["x2"] = 3.0 } };
        var f64 = await Api.PostOk(_client, request);
        var f32 = await Api.PostOk(_client, request with { Dtype = DType.Float32 });
        var f64Again = await Api.PostOk(_client, request);
        Api.Close(-4, f64.Response.Value);
        Assert.Equal(f64.Response.Value, f64Again.Response.Value);
        Assert.Equal((double)(float)f32.Response.Value, f32.Response.Value);
        Api.Close(-4, f32.Response.Value, 1e-5);
    }

    [Fact]
    public async Task A_parameter_the_formula_does_not_use_has_zero_gradient_on_every_replay()
    {
        var request = new GradientRequest
        {
            Expression = "y^2 + 1",
            Parameters = new() { ["x"] = new[] { 1.0, 2.0 }, ["y"] = 3.0 },
        };
        for (var i = 0; i < 3; i++)
        {
            var (response, _) = await Api.PostOk(_client, request);
            Api.Close(10, response.Value);
            Api.Close([0, 0], response.Gradient.Vector("x"));
            Api.Close(6, response.Gradient.Scalar("y"));
        }
    }

    [Fact]
    public async Task A_one_element_vector_parameter_keeps_its_array_shape()
    {
        var (response, raw) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "sum(x^2)",
            Parameters = new() { ["x"] = new[] { 5.0 } },
            Hessian = true,
        });
        Api.Close([10], response.Gradient.Vector("x"));
        Assert.Equal("[10]", raw.GetProperty("gradient").GetProperty("x").GetRawText());
        Assert.Equal(["x[1]"], response.HessianLabels!);
        Api.Close([[2]], response.Hessian);
    }

    [Fact]
    public async Task A_parameter_named_like_a_builtin_constant_shadows_it()
    {
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "e^2 + pi",
            Parameters = new() { ["e"] = 3.0 },
        });
        Api.Close(9 + Math.PI, response.Value);
        Api.Close(6, response.Gradient.Scalar("e"));
    }

    [Fact]
    public async Task Hessian_with_no_parameters_is_empty()
    {
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "2 * c",
            Parameters = new(),
            Constants = new() { ["c"] = 3.0 },
            Hessian = true,
        });
        Api.Close(6, response.Value);
        Assert.Empty(response.Gradient);
        Assert.NotNull(response.Hessian);
        Assert.Empty(response.Hessian);
        Assert.Empty(response.HessianLabels!);
    }

    [Fact]
    public async Task Least_squares_hessian_is_over_parameters_only()
    {
        double[] x = [0, 1, 2, 3], y = [1, 2.1, 2.9, 4.2];
        var n = x.Length;
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "mean((y - (b0 + b1*x))^2)",
            Parameters = new() { ["b0"] = 0.0, ["b1"] = 0.0 },
            Data = new() { ["x"] = x, ["y"] = y },
            Hessian = true,
        });
        // H = 2/n [[n, Σx], [Σx, Σx²]], whatever the point.
        double sx = x.Sum(), sxx = x.Sum(v => v * v);
        Api.Close([[2.0 / n * n, 2.0 / n * sx], [2.0 / n * sx, 2.0 / n * sxx]], response.Hessian);
        Assert.Equal(["b0", "b1"], response.HessianLabels!);
        Api.Close(y.Sum(v => v * v) / n, response.Value);
    }

    [Fact]
    public async Task Explain_marks_data_columns_as_data()
    {
        var (response, _) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "mean((y - (b0 + b1*x))^2)",
            Parameters = new() { ["b0"] = 0.0, ["b1"] = 0.0 },
            Data = new() { ["x"] = new[] { 0.0, 1.0 }, ["y"] = new[] { 1.0, 3.0 } },
            Explain = true,
        });
        Assert.NotNull(response.Tape);
        foreach (var name in new[] { "x", "y" })
        {
            var column = Assert.Single(response.Tape, t => t.Name == name);
            Assert.Equal("data", column.Kind);
            Assert.False(column.RequiresGrad);
        }
        Assert.Contains(response.Tape, t => t.Op == "mean");
    }

    [Fact]
    public async Task A_non_finite_point_does_not_spoil_the_cached_tape()
    {
        const string formula = "2 + log(x)";
        using (var bad = await Api.Post(_client, new GradientRequest { Expression = formula, Parameters = new() { ["x"] = 0.0 } }))
            await Api.ReadProblem(bad, 422, "non-finite-result");
        var (good, _) = await Api.PostOk(_client, new GradientRequest { Expression = formula, Parameters = new() { ["x"] = 1.0 } });
        Api.Close(2, good.Value);
        Api.Close(1, good.Gradient.Scalar("x"));
    }

    [Fact]
    public async Task A_formula_asked_for_often_keeps_giving_exact_answers_and_still_names_a_bad_node()
    {
        // Repeats replay the cached tape without its intermediate nodes (and, after many, as a compiled method):
        // the answers must not change, and a non-finite point must still be traced to its node.
        const string formula = "(a - x[1])^2 + b*(x[2] - x[1]^2)^2 + log(x[1] + 3)";
        for (var i = 0; i < 200; i++)
        {
            double x1 = -1 + i * 0.01, x2 = 1 - i * 0.005, inner = x2 - x1 * x1;
            var (response, _) = await Api.PostOk(_client, new GradientRequest
            {
                Expression = formula,
                Parameters = new() { ["x"] = new[] { x1, x2 } },
                Constants = new() { ["a"] = 1.0, ["b"] = 5.0 },
            });
            Api.Close((1 - x1) * (1 - x1) + 5 * inner * inner + Math.Log(x1 + 3), response.Value);
            var gradient = response.Gradient["x"].Values;
            Api.Close(-2 * (1 - x1) - 20 * x1 * inner + 1 / (x1 + 3), gradient[0]);
            Api.Close(10 * inner, gradient[1]);
        }
        var problem = await Api.PostProblem(_client, new GradientRequest
        {
            Expression = formula,
            Parameters = new() { ["x"] = new[] { -3.0, 1.0 } },
            Constants = new() { ["a"] = 1.0, ["b"] = 5.0 },
        }, 422, "non-finite-result");
        Assert.Equal("log", problem.GetProperty("op").GetString());
        Assert.Equal("value", problem.GetProperty("nonFinite").GetString());
    }
}

/// <summary>Every kind of failure: status, problem+json, stable code and the fields that locate the error.</summary>
public sealed class GradientApiErrorTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Malformed_json_is_400_with_a_path()
    {
        var problem = await Api.PostProblem(_client, """{"expression": "x", "parameters": {"x": 1,}""", 400, "malformed-json");
        var path = problem.GetProperty("path").GetString();
        Assert.NotNull(path);
        Assert.StartsWith("$", path);
        Assert.True(problem.GetProperty("line").GetInt64() >= 1);
        Assert.True(problem.GetProperty("position").GetInt64() >= 1);
    }

    [Fact]
    public async Task A_string_where_a_number_is_expected_is_400_naming_the_path()
    {
        var problem = await Api.PostProblem(_client, """{"expression": "x", "parameters": {"x": "one"}}""", 400, "malformed-json");
        Assert.Equal("$.parameters.x", problem.GetProperty("path").GetString());
    }

    [Theory]
    [InlineData("""{"expression": "x", "parameters": {"x": [1, "two"]}}""", "$.parameters.x")]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "data": {"d": [1, "two"]}}""", "$.data.d")]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "hessian": "yes"}""", "$.hessian")]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "dtype": "float16"}""", "$.dtype")]
    [InlineData("""{"expression": 42, "parameters": {"x": 1}}""", "$.expression")]
    public async Task Wrongly_typed_fields_are_400_malformed_json_with_their_path(string json, string path)
    {
        var problem = await Api.PostProblem(_client, json, 400, "malformed-json");
        Assert.StartsWith(path, problem.GetProperty("path").GetString());
    }

    [Fact]
    public async Task Deeply_nested_json_is_400_not_500()
    {
        var json = """{"expression": "x", "parameters": {"x": """ + new string('[', 5000) + new string(']', 5000) + "}}";
        await Api.PostProblem(_client, json, 400, "malformed-json");
    }

    [Fact]
    public async Task An_empty_body_is_400()
    {
        await Api.PostProblem(_client, "", 400, null);
    }

    [Theory]
    [InlineData("0.2*x1^2 + * 3", 12, "*")]
    [InlineData("x1 $ 2", 4, "$")]
    [InlineData("(x1 + 2))", 9, ")")]
    [InlineData("x1 2", 4, "2")]
    [InlineData("x1[0]", 4, "0")]
    [InlineData("x1 + 1e999", 6, "1e999")]
    public async Task A_bad_formula_is_400_formula_syntax_with_the_token_and_its_column(string expression, int column, string token)
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = expression, Parameters = new() { ["x1"] = 1.0 } }, 400, "formula-syntax");
        Assert.Equal(column, problem.GetProperty("column").GetInt32());
        Assert.Equal(token, problem.GetProperty("token").GetString());
        Assert.Equal("expression", problem.GetProperty("field").GetString());
        Assert.Equal(expression.Substring(column - 1, token.Length), token);
    }

    [Fact]
    public async Task An_unclosed_parenthesis_is_reported_at_the_end()
    {
        const string expression = "(x1 + 2";
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = expression, Parameters = new() { ["x1"] = 1.0 } }, 400, "formula-syntax");
        Assert.Equal(expression.Length + 1, problem.GetProperty("column").GetInt32());
    }

    [Fact]
    public async Task An_unknown_name_is_400_unknown_name()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "x + z", Parameters = new() { ["x"] = 1.0 } }, 400, "unknown-name");
        Assert.Equal(5, problem.GetProperty("column").GetInt32());
        Assert.Equal("z", problem.GetProperty("token").GetString());
        Assert.Equal("expression", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_unknown_function_is_400_unknown_function()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "2 * foo(x)", Parameters = new() { ["x"] = 1.0 } }, 400, "unknown-function");
        Assert.Equal(5, problem.GetProperty("column").GetInt32());
        Assert.Equal("foo", problem.GetProperty("token").GetString());
    }

    [Theory]
    [InlineData("pow(x)", 1, "pow")]
    [InlineData("1 + exp(x, x)", 5, "exp")]
    [InlineData("min(x, x, x)", 1, "min")]
    public async Task A_wrong_number_of_arguments_is_400_wrong_arity(string expression, int column, string token)
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 1.0 } }, 400, "wrong-arity");
        Assert.Equal(column, problem.GetProperty("column").GetInt32());
        Assert.Equal(token, problem.GetProperty("token").GetString());
    }

    [Fact]
    public async Task An_index_out_of_range_is_400_index_out_of_range()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "1 + x[3]", Parameters = new() { ["x"] = new[] { 1.0, 2.0 } } }, 400, "index-out-of-range");
        Assert.Equal(5, problem.GetProperty("column").GetInt32());
        Assert.Equal("3", problem.GetProperty("token").GetString());
    }

    [Fact]
    public async Task Indexing_a_scalar_is_400_index_out_of_range()
    {
        await Api.PostProblem(_client,
            new GradientRequest { Expression = "x[1]", Parameters = new() { ["x"] = 1.0 } }, 400, "index-out-of-range");
    }

    [Fact]
    public async Task Operands_of_different_lengths_are_400_shape_mismatch()
    {
        await Api.PostProblem(_client, new GradientRequest
        {
            Expression = "sum(x + y)",
            Parameters = new() { ["x"] = new[] { 1.0, 2.0 } },
            Constants = new() { ["y"] = new[] { 1.0, 2.0, 3.0 } },
        }, 400, "shape-mismatch");
    }

    [Theory]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "constants": {"x": 2}}""", "constants.x", "'x' is given in both 'parameters' and 'constants'")]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "data": {"x": [2, 3]}}""", "data.x", "'x' is given in both 'parameters' and 'data'")]
    [InlineData("""{"expression": "sum(c)", "parameters": {"p": 1}, "constants": {"c": 2}, "data": {"c": [2, 3]}}""", "data.c", "'c' is given in both 'constants' and 'data'")]
    [InlineData("""{"expression": "sum(c)", "parameters": {"c": 1}, "constants": {"k": 2}, "data": {"c": [2, 3]}}""", "data.c", "'c' is given in both 'parameters' and 'data'")]
    public async Task A_name_given_twice_is_400_duplicate_name(string json, string field, string detail)
    {
        var problem = await Api.PostProblem(_client, json, 400, "duplicate-name");
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.StartsWith(detail, problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Data_columns_of_unequal_length_are_400_unequal_data_columns()
    {
        var problem = await Api.PostProblem(_client,
            """{"expression": "mean(x*y*p)", "parameters": {"p": 1}, "data": {"x": [1, 2], "y": [1, 2, 3]}}""", 400, "unequal-data-columns");
        Assert.Equal("data.y", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("""{"expression": "x", "parameters": {"x": 1e999}}""")]
    [InlineData("""{"expression": "x", "parameters": {"x": [1, -1e999]}}""")]
    [InlineData("""{"expression": "x", "parameters": {"x": 1}, "constants": {"c": 1e999}}""")]
    [InlineData("""{"expression": "sum(d)*x", "parameters": {"x": 1}, "data": {"d": [1e999]}}""")]
    public async Task An_out_of_range_number_is_400(string json)
    {
        await Api.PostProblem(_client, json, 400, null);
    }

    [Theory]
    [InlineData("""{"parameters": {"x": 1}}""")]
    [InlineData("""{"expression": null, "parameters": {"x": 1}}""")]
    [InlineData("""{"expression": "   ", "parameters": {"x": 1}}""")]
    public async Task A_missing_expression_is_400_invalid_input(string json)
    {
        var problem = await Api.PostProblem(_client, json, 400, "invalid-input");
        Assert.Equal("expression", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("""{"expression": "1"}""")]
    [InlineData("""{"expression": "1", "parameters": null}""")]
    public async Task Missing_parameters_are_400_invalid_input(string json)
    {
        var problem = await Api.PostProblem(_client, json, 400, "invalid-input");
        Assert.Equal("parameters", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("x y", "parameters.x y")]
    [InlineData("1x", "parameters.1x")]
    [InlineData("", "parameters.")]
    public async Task An_invalid_parameter_name_is_400_invalid_input(string name, string field)
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "1", Parameters = new() { [name] = 1.0 } }, 400, "invalid-input");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task An_empty_parameter_vector_is_400_invalid_input()
    {
        var problem = await Api.PostProblem(_client, """{"expression": "1", "parameters": {"x": []}}""", 400, "invalid-input");
        Assert.Equal("parameters.x", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("""{"expression": "1", "parameters": {"x": null}}""")]
    [InlineData("""{"expression": "1", "parameters": {"x": 1}, "constants": {"c": null}}""")]
    public async Task A_null_parameter_or_constant_value_is_400(string json)
    {
        await Api.PostProblem(_client, json, 400, null);
    }

    [Fact]
    public async Task A_null_data_column_is_400_naming_its_path()
    {
        // Data columns and matrices read as parameters and constants do, so a null is refused while the JSON is read.
        var problem = await Api.PostProblem(_client, """{"expression": "x", "parameters": {"x": 1}, "data": {"d": null}}""", 400, "malformed-json");
        Assert.Contains("$.data.d", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_vector_result_is_400_not_scalar()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "x", Parameters = new() { ["x"] = new[] { 1.0, 2.0 } } }, 400, "not-scalar");
        Assert.Equal("expression", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_formula_over_the_length_limit_is_413_formula_too_long()
    {
        using var small = factory.WithSettings(("Limits:MaxExpressionLength", "20"));
        using var client = small.CreateClient();

        var problem = await Api.PostProblem(client,
            new GradientRequest { Expression = "x + x + x + x + x + x", Parameters = new() { ["x"] = 1.0 } }, 413, "formula-too-long");
        Assert.Equal(21, problem.GetProperty("column").GetInt32());

        // Exactly at the limit is fine.
        var (ok, _) = await Api.PostOk(client, new GradientRequest { Expression = "x + x + x + x + x +x", Parameters = new() { ["x"] = 1.0 } });
        Api.Close(6, ok.Value);
    }

    [Fact]
    public async Task A_formula_over_the_default_length_limit_is_413()
    {
        var expression = string.Join("+", Enumerable.Repeat("x", 50_001));
        Assert.True(expression.Length > 100_000);
        await Api.PostProblem(_client, new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 1.0 } }, 413, "formula-too-long");
    }

    [Fact]
    public async Task Too_many_parameter_elements_are_413()
    {
        using var small = factory.WithSettings(("Limits:MaxParameterElements", "3"));
        using var client = small.CreateClient();

        var problem = await Api.PostProblem(client, new GradientRequest
        {
            Expression = "sum(x) + y",
            Parameters = new() { ["x"] = new[] { 1.0, 2.0, 3.0 }, ["y"] = 1.0 },
        }, 413, "too-many-parameters");
        Assert.Equal("parameters", problem.GetProperty("field").GetString());

        var (ok, _) = await Api.PostOk(client, new GradientRequest { Expression = "sum(x)", Parameters = new() { ["x"] = new[] { 1.0, 2.0, 3.0 } } });
        Api.Close(6, ok.Value);
    }

    [Fact]
    public async Task Too_many_parameter_elements_at_the_default_limit_are_413()
    {
        var json = """{"expression": "sum(x)", "parameters": {"x": """ + Api.Numbers(Enumerable.Repeat(1.0, 100_001)) + "}}";
        await Api.PostProblem(_client, json, 413, "too-many-parameters");
    }

    [Fact]
    public async Task A_hessian_past_the_limit_is_413_hessian_too_large()
    {
        var problem = await Api.PostProblem(_client, new GradientRequest
        {
            Expression = "sum(x^2)",
            Parameters = new() { ["x"] = Enumerable.Repeat(1.0, 201).ToArray() },
            Hessian = true,
        }, 413, "hessian-too-large");
        Assert.Equal("hessian", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_hessian_past_a_configured_limit_is_413_and_the_gradient_alone_is_fine()
    {
        using var small = factory.WithSettings(("Limits:MaxHessianParameters", "2"));
        using var client = small.CreateClient();
        var request = new GradientRequest
        {
            Expression = "sum(x^2) + s",
            Parameters = new() { ["x"] = new[] { 1.0, 2.0 }, ["s"] = 1.0 },
        };
        await Api.PostProblem(client, request with { Hessian = true }, 413, "hessian-too-large");
        var (ok, _) = await Api.PostOk(client, request);
        Api.Close(6, ok.Value);
    }

    [Fact]
    public async Task Too_many_data_rows_are_413()
    {
        using var small = factory.WithSettings(("Limits:MaxDataRows", "3"));
        using var client = small.CreateClient();
        var problem = await Api.PostProblem(client,
            """{"expression": "p*sum(d)", "parameters": {"p": 1}, "data": {"d": [1, 2, 3, 4]}}""", 413, "too-many-rows");
        Assert.Equal("data.d", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    public async Task A_wrong_media_type_is_415_unsupported_media_type(string mediaType)
    {
        using var response = await Api.PostRaw(_client, """{"expression": "x", "parameters": {"x": 1}}""", mediaType);
        await Api.ReadProblem(response, 415, "unsupported-media-type");
    }

    [Fact]
    public async Task Log_at_zero_is_422_naming_the_log_and_its_column()
    {
        const string expression = "1 + log(x)";
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 0.0 } }, 422, "non-finite-result");
        Assert.Equal("log", problem.GetProperty("op").GetString());
        Assert.Equal(5, problem.GetProperty("column").GetInt32());
        Assert.Equal("log(x)", problem.GetProperty("token").GetString());
        Assert.Equal("value", problem.GetProperty("nonFinite").GetString());
        Assert.Equal("expression", problem.GetProperty("field").GetString());
        Assert.Equal(JsonValueKind.Number, problem.GetProperty("node").ValueKind);
    }

    [Fact]
    public async Task A_non_finite_intermediate_is_422_only_when_the_response_would_carry_it()
    {
        // min(x, exp(1000)) is x: value and gradient are finite though exp overflows on the way.
        var request = new GradientRequest { Expression = "min(x, exp(1000))", Parameters = new() { ["x"] = 2.0 } };
        var (response, _) = await Api.PostOk(_client, request);
        Assert.Equal(2.0, response.Value);
        Assert.Equal(1.0, response.Gradient.Scalar("x"));
        // explain returns every node, and infinity is not a JSON number: the overflowing exp is named instead.
        var problem = await Api.PostProblem(_client, request with { Explain = true }, 422, "non-finite-result");
        Assert.Equal("exp", problem.GetProperty("op").GetString());
    }

    [Theory]
    [InlineData("min(x, exp(1000)) + sqrt(y)", "sqrt", "gradient")]
    [InlineData("min(x, exp(1000)) + log(y)", "log", "value")]
    public async Task A_non_finite_result_names_the_node_behind_it_not_an_overflow_it_does_not_depend_on(
        string expression, string op, string nonFinite)
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 2.0, ["y"] = 0.0 } }, 422, "non-finite-result");
        Assert.Equal(op, problem.GetProperty("op").GetString());
        Assert.Equal(nonFinite, problem.GetProperty("nonFinite").GetString());
    }

    [Fact]
    public async Task Sqrt_at_zero_is_422_for_the_gradient()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "sqrt(x)", Parameters = new() { ["x"] = 0.0 } }, 422, "non-finite-result");
        Assert.Equal("sqrt", problem.GetProperty("op").GetString());
        Assert.Equal("gradient", problem.GetProperty("nonFinite").GetString());
        Assert.Equal(1, problem.GetProperty("column").GetInt32());
    }

    [Fact]
    public async Task A_hessian_that_is_not_finite_is_422()
    {
        // x^1.5 at 0: value 0 and gradient 0 are finite, the second derivative 0.75 x^-0.5 is not.
        var request = new GradientRequest { Expression = "x^1.5", Parameters = new() { ["x"] = 0.0 } };
        var (plain, _) = await Api.PostOk(_client, request);
        Api.Close(0, plain.Value);
        Api.Close(0, plain.Gradient.Scalar("x"));
        await Api.PostProblem(_client, request with { Hessian = true }, 422, "non-finite-result");
    }

    [Theory]
    [InlineData("""{"expression": "x", "parameters": {"x": 1e300}, "dtype": "float32"}""")]
    [InlineData("""{"expression": "1e300 * x", "parameters": {"x": 1}, "dtype": "float32"}""")]
    [InlineData("""{"expression": "x^1e300", "parameters": {"x": 2}, "dtype": "float32"}""")]
    [InlineData("""{"expression": "x * sum(d)", "parameters": {"x": 1}, "data": {"d": [1e300]}, "dtype": "float32"}""")]
    public async Task Doubles_beyond_float32_range_are_a_4xx_not_500(string json)
    {
        using var response = await Api.PostRaw(_client, json);
        var status = (int)response.StatusCode;
        Assert.True(status is >= 400 and < 500, $"Expected 4xx, got {status}: {await response.Content.ReadAsStringAsync()}");
        await Api.ReadProblem(response, status, null);
    }

    [Fact]
    public async Task Division_by_zero_is_422()
    {
        var problem = await Api.PostProblem(_client,
            new GradientRequest { Expression = "x / (x - 1)", Parameters = new() { ["x"] = 1.0 } }, 422, "non-finite-result");
        Assert.Equal("div", problem.GetProperty("op").GetString());
    }

    [Fact]
    public async Task Unknown_routes_and_methods_are_problems()
    {
        using var notFound = await _client.GetAsync("/nothing-here");
        await Api.ReadProblem(notFound, 404, "not-found");
        using var wrongMethod = await _client.GetAsync("/gradient");
        await Api.ReadProblem(wrongMethod, 405, "method-not-allowed");
    }
}

/// <summary>Formulas built to be deep: each answers 200 or 4xx, never 500, and the service keeps answering.</summary>
public sealed class DeepFormulaTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    const int Depth = 200_000;

    public static TheoryData<string> Shapes => new() { "parens", "negations", "calls", "sums", "powers" };

    static string Build(string shape) => shape switch
    {
        "parens" => new string('(', Depth) + "x" + new string(')', Depth),
        "negations" => string.Concat(Enumerable.Repeat("-(", Depth)) + "x" + new string(')', Depth),
        "calls" => string.Concat(Enumerable.Repeat("abs(", Depth)) + "x" + new string(')', Depth),
        "sums" => new string('(', Depth) + "x" + string.Concat(Enumerable.Repeat("+1)", Depth)),
        "powers" => string.Join("^", Enumerable.Repeat("x", Depth)),
        _ => throw new ArgumentOutOfRangeException(nameof(shape)),
    };

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_deeply_nested_formula_never_gives_500(string shape)
    {
        using var roomy = factory.WithSettings(("Limits:MaxExpressionLength", "2000000"));
        using var client = roomy.CreateClient();
        await AssertAnswersWithout500(client, Build(shape));
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public async Task A_deeply_nested_formula_with_all_formula_limits_raised_never_gives_500(string shape)
    {
        using var roomy = factory.WithSettings(
            ("Limits:MaxExpressionLength", "2000000"),
            ("Limits:MaxExpressionNodes", "1000000"),
            ("Limits:MaxExpressionDepth", "1000000"));
        using var client = roomy.CreateClient();
        await AssertAnswersWithout500(client, Build(shape));
    }

    [Fact]
    public async Task Nested_parentheses_do_not_count_as_depth()
    {
        using var roomy = factory.WithSettings(("Limits:MaxExpressionLength", "2000000"));
        using var client = roomy.CreateClient();
        var (response, _) = await Api.PostOk(client, new GradientRequest { Expression = Build("parens"), Parameters = new() { ["x"] = 1.5 } });
        Api.Close(1.5, response.Value);
        Api.Close(1, response.Gradient.Scalar("x"));
    }

    [Fact]
    public async Task Nesting_deeper_than_the_limit_is_413_formula_too_deep()
    {
        using var roomy = factory.WithSettings(("Limits:MaxExpressionLength", "2000000"));
        using var client = roomy.CreateClient();
        await Api.PostProblem(client, new GradientRequest { Expression = Build("negations"), Parameters = new() { ["x"] = 1.0 } },
            413, "formula-too-deep");
    }

    [Fact]
    public async Task A_formula_with_too_many_nodes_is_413_formula_too_large()
    {
        using var roomy = factory.WithSettings(("Limits:MaxExpressionLength", "2000000"));
        using var client = roomy.CreateClient();
        // A balanced sum of 2^15 x's: 65,535 nodes but only 16 deep, so the node limit (50,000) trips, not the depth.
        var expression = Balanced(15);
        await Api.PostProblem(client, new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 1.0 } },
            413, "formula-too-large");
    }

    static string Balanced(int levels) => levels == 0 ? "x" : $"({Balanced(levels - 1)}+{Balanced(levels - 1)})";

    static async Task AssertAnswersWithout500(HttpClient client, string expression)
    {
        using (var response = await Api.Post(client, new GradientRequest { Expression = expression, Parameters = new() { ["x"] = 1.0 } }))
        {
            var body = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            Assert.True(status == 200 || status is >= 400 and < 500, $"Expected 200 or 4xx, got {status}: {body[..Math.Min(body.Length, 500)]}");
            if (status != 200) await Api.ReadProblem(response, status, null);
        }

        var (after, _) = await Api.PostOk(client, Api.ParaboloidRequest());
        Api.Close(-3.4, after.Value);
    }
}

/// <summary>Swagger and health endpoints.</summary>
public sealed class ServiceEndpointTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task Swagger_document_describes_gradient_with_the_rosenbrock_example()
    {
        using var response = await _client.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsStringAsync();
        Assert.Contains("/gradient", body);
        Assert.Contains("rosenbrock", body);

        using var document = JsonDocument.Parse(body);
        var post = document.RootElement.GetProperty("paths").GetProperty("/gradient").GetProperty("post");
        var examples = post.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("examples");
        var rosenbrock = examples.GetProperty("rosenbrock").GetProperty("value");
        Assert.Equal(Api.Rosenbrock, rosenbrock.GetProperty("expression").GetString());
        Assert.True(examples.TryGetProperty("paraboloid", out _));
    }

    [Fact]
    public async Task Swagger_examples_run_as_documented()
    {
        using var swagger = await _client.GetAsync("/swagger/v1/swagger.json");
        using var document = JsonDocument.Parse(await swagger.Content.ReadAsStringAsync());
        var examples = document.RootElement.GetProperty("paths").GetProperty("/gradient").GetProperty("post")
            .GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("examples");
        foreach (var example in examples.EnumerateObject())
        {
            using var response = await Api.PostRaw(_client, example.Value.GetProperty("value").GetRawText());
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"example '{example.Name}' answered {(int)response.StatusCode}");
        }
    }

    [Theory]
    [InlineData("/health/live")]
    [InlineData("/health/ready")]
    public async Task Health_endpoints_answer_200(string path)
    {
        using var response = await _client.GetAsync(path);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
    }
}
