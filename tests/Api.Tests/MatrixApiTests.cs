using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>
/// Matrices over HTTP: nested arrays in parameters and constants, gradients in the same shape, Hessian labels
/// W[i,j] row-major, parameter initialisers, the model shorthand's features, and the problems for bad shapes.
/// </summary>
public sealed class MatrixApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    [Fact]
    public async Task A_matrix_parameter_gets_its_gradient_and_hessian_in_its_shape()
    {
        // f = sum((W v)^2): df/dW[i,j] = 2 (W v)_i v_j; d2f/dW[i,j]dW[k,l] = 2 δ_ik v_j v_l.
        var (response, raw) = await Api.PostOk(_client, new GradientRequest
        {
            Expression = "sum((W %*% v)^2)",
            Parameters = new() { ["W"] = NumberOrVector.Matrix([1, 2, 3, 4], 2) },
            Constants = new() { ["v"] = new[] { 1.0, 2 } },
            Hessian = true,
        });
        // W v = (5, 11).
        Api.Close(146, response.Value);
        var gradient = raw.GetProperty("gradient").GetProperty("W");
        Assert.Equal(JsonValueKind.Array, gradient[0].ValueKind);
        Assert.Equal([[10.0, 20], [22, 44]], gradient.EnumerateArray().Select(row => row.EnumerateArray().Select(e => e.GetDouble()).ToArray()).ToArray());
        Assert.Equal(["W[1,1]", "W[1,2]", "W[2,1]", "W[2,2]"], response.HessianLabels!);
        Api.Close([[2.0, 4, 0, 0], [4, 8, 0, 0], [0, 0, 2, 4], [0, 0, 4, 8]], response.Hessian);
    }

    [Fact]
    public async Task Nested_arrays_in_constants_and_a_network_layer()
    {
        var json = """
            {"expression": "sum(relu(X %*% W + b))", "constants": {"X": [[1, -1], [2, 0.5], [-3, 1]]},
             "parameters": {"W": [[1, -1, 0.5], [2, 0, -1]], "b": [0.1, 0.2, 0.3]}}
            """;
        using var response = await Api.PostRaw(_client, json);
        var (result, raw) = await Api.ReadOk(response);
        // X W + b = [[-0.9, -0.8, 1.8], [3.1, -1.8, 0.8], [-0.9, 3.2, -2.2]]; the positive entries sum to 8.9.
        Api.Close(8.9, result.Value, 1e-12);
        // d/db = the count of positive entries per column; d/dW[i,j] = sum over rows with a positive (r, j) of X[r, i].
        Api.Close([1.0, 1, 2], result.Gradient.Vector("b"));
        Assert.Equal(3, result.Gradient["W"].Columns);
        Api.Close([2.0, -3, 3, 0.5, 1, -0.5], result.Gradient["W"].Values);
        Assert.Equal(3, raw.GetProperty("gradient").GetProperty("W")[0].GetArrayLength());
    }

    /// <summary>Rows of x1 and x2, and the same numbers as a data matrix of two columns.</summary>
    static (double[] X1, double[] X2, double[] Y, string Rows) NetworkData(int n)
    {
        var x1 = Enumerable.Range(0, n).Select(i => Math.Sin(0.7 * i)).ToArray();
        var x2 = Enumerable.Range(0, n).Select(i => Math.Cos(1.3 * i) * 0.5).ToArray();
        var y = x1.Zip(x2, (a, b) => Math.Tanh(a - 2 * b) + 0.1 * a * b).ToArray();
        var rows = "[" + string.Join(", ", x1.Zip(x2, (a, b) => $"[{a.ToString("R", CultureInfo.InvariantCulture)}, {b.ToString("R", CultureInfo.InvariantCulture)}]")) + "]";
        return (x1, x2, y, rows);
    }

    const string NetworkParameters = """
        "W1": [[0.9, -0.6, 0.4, 1.1], [0.5, 0.8, -1.0, 0.2]], "b1": [0.1, -0.1, 0.2, 0], "w2": [0.3, -0.4, 0.5, -0.2], "b2": 0.05
        """;

    [Fact]
    public async Task Inline_data_may_be_a_matrix_whose_rows_are_the_datas_rows()
    {
        // The same network over cbind(x1, x2) and over X given as rows: the same numbers in the same order, so the same bits.
        var (x1, x2, y, rows) = NetworkData(37);
        using var columns = await Api.PostRaw(_client, $$$"""
            {"expression": "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)", "parameters": { {{{NetworkParameters}}} },
             "data": {"x1": {{{Api.Numbers(x1)}}}, "x2": {{{Api.Numbers(x2)}}}, "y": {{{Api.Numbers(y)}}}}}
            """);
        using var matrix = await Api.PostRaw(_client, $$$"""
            {"expression": "mean((y - (relu(X %*% W1 + b1) %*% w2 + b2))^2)", "parameters": { {{{NetworkParameters}}} },
             "data": {"X": {{{rows}}}, "y": {{{Api.Numbers(y)}}}}}
            """);
        var (byColumns, _) = await Api.ReadOk(columns);
        var (byMatrix, _) = await Api.ReadOk(matrix);
        Assert.Equal(byColumns.Value, byMatrix.Value);
        foreach (var name in new[] { "W1", "b1", "w2", "b2" })
            Assert.Equal(byColumns.Gradient[name].Values, byMatrix.Gradient[name].Values);

        // Mini-batches gather whole rows of X as they gather x1 and x2.
        using var timeout = Jobs.Timeout();
        string Job(string expression, string data) => $$$"""
            {"expression": "{{{expression}}}", "parameters": { {{{NetworkParameters}}} }, "data": {{{data}}},
             "optimizer": {"type": "adam", "learningRate": 0.01}, "maxIterations": 40, "batchSize": 8, "shuffle": true, "seed": 3}
            """;
        var jobByColumns = await Datasets.RunOk(_client, Job("mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)",
            $$$"""{"x1": {{{Api.Numbers(x1)}}}, "x2": {{{Api.Numbers(x2)}}}, "y": {{{Api.Numbers(y)}}}}"""), timeout.Token);
        var jobByMatrix = await Datasets.RunOk(_client, Job("mean((y - (relu(X %*% W1 + b1) %*% w2 + b2))^2)",
            $$$"""{"X": {{{rows}}}, "y": {{{Api.Numbers(y)}}}}"""), timeout.Token);
        Assert.Equal(jobByColumns.Parameters!["W1"].Values, jobByMatrix.Parameters!["W1"].Values);
        Assert.Equal(jobByColumns.Value, jobByMatrix.Value);
    }

    [Theory]
    [InlineData("""{"X": [[1, 2], [3, 4], [5, 6]], "y": [1, 2]}""", "unequal-data-columns", "data.y")]
    [InlineData("""{"X": [[1, 2], [3, 4]], "y": 2}""", "invalid-input", "data.y")]
    public async Task A_data_matrix_must_match_the_other_columns_rows(string data, string code, string field)
    {
        var problem = await Api.PostProblem(_client,
            $$"""{"expression": "sum((y - X %*% w)^2)", "parameters": {"w": [0, 0]}, "data": {{data}}}""", 400, code);
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Initialisers_are_deterministic_and_follow_their_distribution()
    {
        async Task<double> Value(string init, string expression, int seed = 1)
        {
            var json = $$"""{"expression": "{{expression}}", "parameters": {"W": {"shape": [50, 40], "init": "{{init}}", "scale": 0.5, "seed": {{seed}} """ + "}}}";
            using var response = await Api.PostRaw(_client, json);
            return (await Api.ReadOk(response)).Response.Value;
        }
        Assert.Equal(await Value("normal", "mean(W^2)"), await Value("normal", "mean(W^2)"));
        Assert.NotEqual(await Value("normal", "mean(W^2)"), await Value("normal", "mean(W^2)", seed: 2));
        // 2,000 normal deviates of standard deviation 0.5: mean square 0.25 within 4 standard errors (0.25 * sqrt(2/2000) each).
        Api.Close(0.25, await Value("normal", "mean(W^2)"), 4 * 0.25 * Math.Sqrt(2.0 / 2000));
        Api.Close(0, await Value("normal", "mean(W)"), 4 * 0.5 / Math.Sqrt(2000));
        // Uniform on [-0.5, 0.5]: within the bounds, mean square 1/12.
        Assert.True(await Value("uniform", "max(abs(W))") <= 0.5);
        Api.Close(1.0 / 12, await Value("uniform", "mean(W^2)"), 4 * 0.06 / Math.Sqrt(2000));
        Assert.Equal(0, await Value("zeros", "sum(abs(W))"));

        using var shaped = await Api.PostRaw(_client, """{"expression": "sum(W)", "parameters": {"W": {"shape": [2, 3], "init": "zeros"}}}""");
        var (result, raw) = await Api.ReadOk(shaped);
        Assert.Equal(2, raw.GetProperty("gradient").GetProperty("W").GetArrayLength());
        Assert.Equal([1.0, 1, 1, 1, 1, 1], result.Gradient["W"].Values);
    }

    [Theory]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": [[1, 2], [3]]}}""", "Row 2 of the matrix has 1 elements but row 1 has 2")]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": [[1, 2], 3]}}""", "Expected row 2 of the matrix")]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": {"shape": [2, 3], "init": "gaussian"}}}""", "'init' is one of normal, uniform, zeros")]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": {"shape": [2, 3, 4], "init": "zeros"}}}""", "'shape' has 3 dimensions")]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": {"shape": [5000, 5000], "init": "zeros"}}}""", "an initialiser makes at most 1,000,000")]
    [InlineData("""{"expression": "sum(W)", "parameters": {"W": {"shape": [2, 3], "init": "zeros", "mean": 1}}}""", "not 'mean'")]
    public async Task Malformed_matrices_and_initialisers_are_400_naming_the_field(string json, string detail)
    {
        var problem = await Api.PostProblem(_client, json, 400, null);
        Assert.Contains(detail, problem.GetProperty("detail").GetString());
        Assert.Contains("parameters.W", problem.ToString());
    }

    [Fact]
    public async Task Too_many_initialised_elements_are_413()
    {
        var problem = await Api.PostProblem(_client, """{"expression": "sum(W)", "parameters": {"W": {"shape": [1000, 200], "init": "zeros"}}}""", 413, "too-many-parameters");
        Assert.Contains("200,000", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Shape_mismatch_names_both_shapes_and_the_operator_column()
    {
        var problem = await Api.PostProblem(_client,
            """{"expression": "sum(W %*% W)", "parameters": {"W": [[1, 2, 3], [4, 5, 6]]}}""", 400, "shape-mismatch");
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("%*% of a 2x3 matrix and a 2x3 matrix: the first has 3 columns but the second has 2 rows", detail);
        Assert.Equal(7, problem.GetProperty("column").GetInt32());
    }

    // ----- Logistic regression over 20 generated features: features "*" + bce + lbfgs against Newton's method -----

    const int Rows = 400, Features = 20;

    static (double[][] X, double[] Y) LogisticData()
    {
        var random = new Random(20261202);
        var truth = Enumerable.Range(0, Features).Select(j => 0.6 * Math.Sin(j + 1)).ToArray();
        var x = Enumerable.Range(0, Features).Select(_ => new double[Rows]).ToArray();
        var y = new double[Rows];
        for (var i = 0; i < Rows; i++)
        {
            var z = -0.3;
            for (var j = 0; j < Features; j++)
            {
                x[j][i] = 2 * random.NextDouble() - 1;
                z += truth[j] * x[j][i];
            }
            y[i] = random.NextDouble() < 1 / (1 + Math.Exp(-z)) ? 1 : 0;
        }
        return (x, y);
    }

    /// <summary>The maximum-likelihood (b0, w) by Newton's method on the mean log-loss, solved by Gaussian elimination.</summary>
    static double[] NewtonMle(double[][] x, double[] y)
    {
        var p = Features + 1;
        var beta = new double[p];
        for (var iteration = 0; iteration < 50; iteration++)
        {
            var gradient = new double[p];
            var hessian = new double[p, p];
            for (var i = 0; i < Rows; i++)
            {
                var row = new double[p];
                row[0] = 1;
                for (var j = 0; j < Features; j++) row[j + 1] = x[j][i];
                var z = row.Zip(beta, (a, b) => a * b).Sum();
                var s = 1 / (1 + Math.Exp(-z));
                for (var a = 0; a < p; a++)
                {
                    gradient[a] += (s - y[i]) * row[a] / Rows;
                    for (var b = 0; b < p; b++) hessian[a, b] += s * (1 - s) * row[a] * row[b] / Rows;
                }
            }
            var step = Solve(hessian, gradient);
            for (var a = 0; a < p; a++) beta[a] -= step[a];
            if (step.Max(Math.Abs) < 1e-14) break;
        }
        return beta;
    }

    static double[] Solve(double[,] a, double[] b)
    {
        var n = b.Length;
        var m = (double[,])a.Clone();
        var v = (double[])b.Clone();
        for (var k = 0; k < n; k++)
        {
            var pivot = Enumerable.Range(k, n - k).MaxBy(r => Math.Abs(m[r, k]));
            for (var c = 0; c < n; c++) (m[k, c], m[pivot, c]) = (m[pivot, c], m[k, c]);
            (v[k], v[pivot]) = (v[pivot], v[k]);
            for (var r = k + 1; r < n; r++)
            {
                var f = m[r, k] / m[k, k];
                for (var c = k; c < n; c++) m[r, c] -= f * m[k, c];
                v[r] -= f * v[k];
            }
        }
        var solution = new double[n];
        for (var r = n - 1; r >= 0; r--)
        {
            var sum = v[r];
            for (var c = r + 1; c < n; c++) sum -= m[r, c] * solution[c];
            solution[r] = sum / m[r, r];
        }
        return solution;
    }

    [Fact]
    public async Task Logistic_regression_over_all_columns_reaches_the_newton_mle()
    {
        var (x, y) = LogisticData();
        var expected = NewtonMle(x, y);
        var data = new JsonObject();
        for (var j = 0; j < Features; j++) data[$"f{j + 1}"] = new JsonArray(x[j].Select(v => (JsonNode)v).ToArray());
        data["y"] = new JsonArray(y.Select(v => (JsonNode)v).ToArray());
        var body = new JsonObject
        {
            ["model"] = "b0 + X %*% w", ["target"] = "y", ["loss"] = "bce", ["features"] = "*",
            ["parameters"] = new JsonObject { ["b0"] = 0, ["w"] = new JsonObject { ["shape"] = new JsonArray(Features), ["init"] = "zeros" } },
            ["data"] = data,
            ["optimizer"] = new JsonObject { ["type"] = "lbfgs" },
            ["maxIterations"] = 500, ["gradientNormTolerance"] = 1e-11,
        };
        using var timeout = Jobs.Timeout(60);
        var job = await Datasets.RunOk(_client, body.ToJsonString(), timeout.Token);
        Assert.True(job.Converged, job.Message);
        Api.Close(expected[0], job.Parameters!.Scalar("b0"), 1e-6);
        Api.Close(expected[1..], job.Parameters!.Vector("w"), 1e-6);
        // The MLE is not the truth the data were drawn from: the fit did real work.
        Assert.True(expected[1..].Max(Math.Abs) > 0.3);
    }

    [Fact]
    public async Task Features_are_checked_against_the_data()
    {
        var unknown = """
            {"model": "X %*% w", "target": "y", "features": ["a", "c"], "parameters": {"w": [0, 0]},
             "data": {"a": [1, 2], "b": [3, 4], "y": [0, 1]}, "optimizer": {"type": "lbfgs"}, "maxIterations": 5}
            """;
        using var timeout = Jobs.Timeout();
        using var response = await Jobs.Post(_client, unknown, timeout.Token);
        var problem = await Api.ReadProblem(response, 400, "invalid-input");
        Assert.Equal("features[2]", problem.GetProperty("field").GetString());
        Assert.Contains("'c' is not a data column", problem.GetProperty("detail").GetString());

        var target = unknown.Replace("[\"a\", \"c\"]", "[\"a\", \"y\"]");
        using var second = await Jobs.Post(_client, target, timeout.Token);
        Assert.Contains("is the target", (await Api.ReadProblem(second, 400, "invalid-input")).GetProperty("detail").GetString());
    }

    [Fact]
    public async Task A_two_layer_network_trains_with_minibatches_over_features()
    {
        // y = relu-ish function of two columns; the network's loss must fall well below that of predicting the mean.
        var random = new Random(5);
        var x1 = Enumerable.Range(0, 256).Select(_ => 4 * random.NextDouble() - 2).ToArray();
        var x2 = Enumerable.Range(0, 256).Select(_ => 4 * random.NextDouble() - 2).ToArray();
        var y = x1.Zip(x2, (a, b) => Math.Max(a + b, 0) - 0.5 * Math.Max(a - b, 0)).ToArray();
        var body = new JsonObject
        {
            ["model"] = "relu(X %*% W1 + b1) %*% w2 + b2", ["target"] = "y", ["features"] = new JsonArray("x1", "x2"),
            ["parameters"] = new JsonObject
            {
                ["W1"] = new JsonObject { ["shape"] = new JsonArray(2, 8), ["init"] = "normal", ["scale"] = 0.7, ["seed"] = 3 },
                ["b1"] = new JsonObject { ["shape"] = new JsonArray(8), ["init"] = "uniform", ["scale"] = 0.1, ["seed"] = 4 },
                ["w2"] = new JsonObject { ["shape"] = new JsonArray(8), ["init"] = "normal", ["scale"] = 0.5, ["seed"] = 5 },
                ["b2"] = 0,
            },
            ["data"] = new JsonObject
            {
                ["x1"] = new JsonArray(x1.Select(v => (JsonNode)v).ToArray()),
                ["x2"] = new JsonArray(x2.Select(v => (JsonNode)v).ToArray()),
                ["y"] = new JsonArray(y.Select(v => (JsonNode)v).ToArray()),
            },
            ["optimizer"] = new JsonObject { ["type"] = "adam", ["learningRate"] = 0.02 },
            ["batchSize"] = 64, ["shuffle"] = true, ["seed"] = 1,
            ["maxIterations"] = 1500,
        };
        using var timeout = Jobs.Timeout(60);
        var job = await Datasets.RunOk(_client, body.ToJsonString(), timeout.Token);
        Assert.Equal(8, job.Parameters!["W1"].Columns);
        Assert.Equal(16, job.Parameters["W1"].Values.Length);
        var mean = y.Average();
        var baseline = y.Average(v => (v - mean) * (v - mean));
        // Evaluate the fitted network on all rows through /gradient.
        var check = new JsonObject
        {
            ["expression"] = "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)",
            ["parameters"] = JsonSerializer.SerializeToNode(job.Parameters, Api.Json),
            ["data"] = body["data"]!.DeepClone(),
        };
        using var response = await Api.PostRaw(_client, check.ToJsonString());
        var (fitted, _) = await Api.ReadOk(response);
        Assert.True(fitted.Value < 0.1 * baseline, $"loss {fitted.Value.ToString(CultureInfo.InvariantCulture)} against the mean's {baseline.ToString(CultureInfo.InvariantCulture)}");
    }
}
