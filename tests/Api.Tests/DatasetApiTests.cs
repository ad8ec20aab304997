using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;
using Xunit.Abstractions;

namespace Autograd.Api.Tests;

/// <summary>
/// /datasets (JSON and CSV uploads, statistics, listing, deletion, bad data, limits) and fitting models to data
/// through /minimize: the lab end to end, the model shorthand and its losses, mini-batches, fit reports.
/// </summary>
public sealed class DatasetApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    const string LabExpression = "mean((y - (b0 + b1*x))^2)";

    // ---- 1. The lab end to end ----

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("lbfgs")]
    public async Task The_lab_fit_over_a_csv_dataset_reaches_the_closed_form_least_squares_line(string optimizer)
    {
        using var timeout = Jobs.Timeout(60);
        var lab = LabData.Generate(200, seed: 1);
        var (b0, b1) = lab.LeastSquares();
        var dataset = await Datasets.CreateCsv(_client, lab.Csv(), timeout.Token);
        Assert.Equal(200, dataset.Rows);
        Assert.Equal(["x", "y"], dataset.Columns);

        var (settings, maxIterations, tolerance) = optimizer switch
        {
            "sgd" => (Datasets.Sgd(0.1), 2000, (double?)null),
            "adam" => (new JsonObject { ["type"] = "adam", ["learningRate"] = 0.01 }, 20000, 1e-10),
            _ => (new JsonObject { ["type"] = "lbfgs" }, 100, 1e-12),
        };
        var job = await Datasets.RunOk(_client, Datasets.LabFit(dataset.Id, settings, maxIterations,
            ("gradientNormTolerance", tolerance), ("recordEvery", 100)), timeout.Token);

        Assert.Equal(LabExpression, job.Expression);
        Assert.Equal(dataset.Id, job.Dataset);
        Assert.Null(job.BatchSize);
        Assert.Equal(optimizer, job.Optimizer);
        // sgd reaches the line to the last bit well before 2000 iterations; then its updates change nothing.
        if (optimizer == "sgd") Assert.Equal(StopReasonCode.NoProgress, job.StopReason);
        else Assert.Equal(StopReasonCode.GradientNormTolerance, job.StopReason);
        var (fb0, fb1) = (job.Parameters!.Scalar("b0"), job.Parameters!.Scalar("b1"));
        Api.Close(b0, fb0, 1e-6);
        Api.Close(b1, fb1, 1e-6);

        // The fit report, at the job's final parameters.
        var fit = job.Fit;
        Assert.NotNull(fit);
        Assert.Equal(200, fit.Rows);
        var rss = lab.Rss(fb0, fb1);
        Jobs.Relative(rss / 200, fit.Loss, 1e-9, "fit.loss");
        Jobs.Relative(Math.Sqrt(rss / (200 - 2)), fit.ResidualStandardError!.Value, 1e-9, "fit.residualStandardError");
        Jobs.Relative(1 - rss / lab.Tss(), fit.RSquared!.Value, 1e-9, "fit.rSquared");

        // The completed event carries the same report.
        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);
        var completed = events[^1].Completed;
        Assert.Equal(fit, completed.Fit);
    }

    [Fact]
    public async Task Prefer_wait_on_a_lab_fit_answers_200_with_the_finished_job_and_its_fit()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 1);
        var dataset = await Datasets.CreateCsv(_client, lab.Csv(), timeout.Token);
        var body = Datasets.LabFit(dataset.Id, new JsonObject { ["type"] = "lbfgs" }, 100, ("gradientNormTolerance", 1e-12));

        using var response = await Jobs.Post(_client, body, timeout.Token, prefer: "wait=20");
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {text}");
        using var document = JsonDocument.Parse(text);
        var root = document.RootElement;
        Assert.Equal("succeeded", root.GetProperty("status").GetString());
        Assert.Equal(LabExpression, root.GetProperty("expression").GetString());
        Assert.Equal(dataset.Id, root.GetProperty("dataset").GetString());
        var fit = root.GetProperty("fit");
        Assert.Equal(200, fit.GetProperty("rows").GetInt32());
        foreach (var name in new[] { "loss", "residualStandardError", "rSquared" })
            Assert.Equal(JsonValueKind.Number, fit.GetProperty(name).ValueKind);
    }

    // ---- 2. Inline data, JSON dataset and CSV dataset fit bit for bit alike ----

    [Fact]
    public async Task Inline_data_a_json_dataset_and_a_csv_dataset_give_bit_identical_traces()
    {
        using var timeout = Jobs.Timeout(60);
        var lab = LabData.Generate(200, seed: 2);
        var fromJson = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);
        var fromCsv = await Datasets.CreateCsv(_client, lab.Csv(), timeout.Token);
        // The same columns in another order beside one the model does not use.
        var shuffled = new StringBuilder("y,w,x\n");
        for (var i = 0; i < lab.Rows; i++)
            shuffled.Append(FormattableString.Invariant($"{lab.Y[i]:R},{3 * lab.X[i]:R},{lab.X[i]:R}\n"));
        var reordered = await Datasets.CreateCsv(_client, shuffled.ToString(), timeout.Token);

        string Body(string? dataset) => Datasets.LabFit("", Datasets.Sgd(0.1), 300,
            ("dataset", dataset), ("data", dataset is null ? lab.DataNode() : null), ("recordEvery", 1));

        var inline = await Datasets.RunOk(_client, Body(null), timeout.Token);
        var json = await Datasets.RunOk(_client, Body(fromJson.Id), timeout.Token);
        var csv = await Datasets.RunOk(_client, Body(fromCsv.Id), timeout.Token);
        var other = await Datasets.RunOk(_client, Body(reordered.Id), timeout.Token);

        var inlineTrace = await Datasets.TraceJson(_client, inline.Id, timeout.Token);
        Assert.Equal(Enumerable.Range(1, 300), Datasets.Trace(inlineTrace).Select(p => p.Iteration));
        Assert.Equal(inlineTrace, await Datasets.TraceJson(_client, json.Id, timeout.Token));
        Assert.Equal(inlineTrace, await Datasets.TraceJson(_client, csv.Id, timeout.Token));
        Assert.Equal(inlineTrace, await Datasets.TraceJson(_client, other.Id, timeout.Token));

        Assert.Null(inline.Dataset);
        foreach (var job in new[] { json, csv, other })
        {
            Assert.Equal(LabExpression, job.Expression);
            Assert.Equal(inline.Parameters!.Scalar("b0"), job.Parameters!.Scalar("b0"));
            Assert.Equal(inline.Parameters!.Scalar("b1"), job.Parameters!.Scalar("b1"));
            Assert.Equal(inline.Fit, job.Fit);
        }
    }

    // ---- 3. Statistics, listing, deletion, unknown datasets ----

    [Fact]
    public async Task Dataset_statistics_match_count_min_max_mean_and_sample_standard_deviation()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 3);
        var created = await Datasets.CreateCsv(_client, lab.Csv(), timeout.Token);
        var info = await Datasets.Get(_client, created.Id, timeout.Token);

        Assert.Equal(created.Id, info.Id);
        Assert.Equal(200, info.Rows);
        Assert.Equal(2 * 200 * sizeof(double), info.Bytes);
        Assert.Equal(["x", "y"], info.Columns.Select(c => c.Name));
        CheckSummary(lab.X, info.Columns[0]);
        CheckSummary(lab.Y, info.Columns[1]);

        // GET /datasets lists it with the same figures.
        using var list = await _client.GetAsync("/datasets", timeout.Token);
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var all = JsonSerializer.Deserialize<DatasetInfo[]>(await list.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        var listed = Assert.Single(all, d => d.Id == created.Id);
        Assert.Equal(info.Rows, listed.Rows);
        Assert.Equal(info.Bytes, listed.Bytes);
        Assert.Equal(info.CreatedAt, listed.CreatedAt);
        Assert.Equal(info.Columns, listed.Columns);
    }

    [Fact]
    public async Task Dataset_statistics_of_small_known_columns()
    {
        using var timeout = Jobs.Timeout(30);
        var created = await Datasets.CreateJson(_client, """{"columns": {"v": [1, 2, 3, 4], "w": [-2.5, -2.5, -2.5, -2.5]}}""", timeout.Token);
        Assert.Equal(4, created.Rows);
        var info = await Datasets.Get(_client, created.Id, timeout.Token);
        Assert.Equal(new ColumnSummary { Name = "v", Count = 4, Min = 1, Max = 4, Mean = 2.5, StandardDeviation = info.Columns[0].StandardDeviation }, info.Columns[0]);
        Jobs.Relative(Math.Sqrt(5.0 / 3), info.Columns[0].StandardDeviation!.Value, 1e-15, "sd of 1..4");
        Assert.Equal(new ColumnSummary { Name = "w", Count = 4, Min = -2.5, Max = -2.5, Mean = -2.5, StandardDeviation = 0 }, info.Columns[1]);

        // A single row has standard deviation 0 (not NaN from n - 1 = 0).
        var single = await Datasets.CreateCsv(_client, "a\n7.25\n", timeout.Token);
        var one = Assert.Single((await Datasets.Get(_client, single.Id, timeout.Token)).Columns);
        Assert.Equal(new ColumnSummary { Name = "a", Count = 1, Min = 7.25, Max = 7.25, Mean = 7.25, StandardDeviation = 0 }, one);
    }

    [Fact]
    public async Task Deleting_a_dataset_answers_204_then_404_and_requests_naming_it_answer_400_dataset_not_found()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(50, seed: 4);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);

        // While it exists, /gradient reads it: the value is the mean squared residual at (0.5, 0.5).
        var gradient = $$"""{"expression": "{{LabExpression}}", "parameters": {"b0": 0.5, "b1": 0.5}, "dataset": "{{created.Id}}"}""";
        using (var response = await _client.PostAsync("/gradient", Json(gradient), timeout.Token))
        {
            var (typed, _) = await Api.ReadOk(response);
            Jobs.Relative(lab.Rss(0.5, 0.5) / 50, typed.Value, 1e-12, "value over the dataset");
            Assert.Equal(["b0", "b1"], typed.Gradient.Keys.Order());
        }

        using (var response = await _client.DeleteAsync($"/datasets/{created.Id}", timeout.Token))
        {
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync(timeout.Token));
        }
        using (var response = await _client.GetAsync($"/datasets/{created.Id}", timeout.Token))
            Assert.Equal("dataset", (await Api.ReadProblem(response, 404, "dataset-not-found")).GetProperty("field").GetString());
        using (var response = await _client.DeleteAsync($"/datasets/{created.Id}", timeout.Token))
            await Api.ReadProblem(response, 404, "dataset-not-found");
        using (var list = await _client.GetAsync("/datasets", timeout.Token))
        {
            var all = JsonSerializer.Deserialize<DatasetInfo[]>(await list.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
            Assert.DoesNotContain(all, d => d.Id == created.Id);
        }

        foreach (var id in new[] { created.Id, "no-such-dataset" })
        {
            var gradientBody = $$"""{"expression": "{{LabExpression}}", "parameters": {"b0": 0.5, "b1": 0.5}, "dataset": "{{id}}"}""";
            using (var response = await _client.PostAsync("/gradient", Json(gradientBody), timeout.Token))
            {
                var problem = await Api.ReadProblem(response, 400, "dataset-not-found");
                Assert.Equal("dataset", problem.GetProperty("field").GetString());
            }
            using (var response = await Jobs.Post(_client, Datasets.LabFit(id, Datasets.Sgd(0.1), 10), timeout.Token))
            {
                var problem = await Api.ReadProblem(response, 400, "dataset-not-found");
                Assert.Equal("dataset", problem.GetProperty("field").GetString());
                Assert.Null(response.Headers.Location);
            }
        }
    }

    [Fact]
    public async Task Giving_both_data_and_dataset_is_400()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(20, seed: 5);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);

        var gradient = $$$"""
            {"expression": "{{{LabExpression}}}", "parameters": {"b0": 0.5, "b1": 0.5}, "dataset": "{{{created.Id}}}",
             "data": {"x": {{{Api.Numbers(lab.X)}}}, "y": {{{Api.Numbers(lab.Y)}}}}}
            """;
        using (var response = await _client.PostAsync("/gradient", Json(gradient), timeout.Token))
            Assert.Equal("dataset", (await Api.ReadProblem(response, 400, "invalid-input")).GetProperty("field").GetString());

        using (var response = await Jobs.Post(_client, Datasets.LabFit(created.Id, Datasets.Sgd(0.1), 10, ("data", lab.DataNode())), timeout.Token))
            Assert.Equal("dataset", (await Api.ReadProblem(response, 400, "invalid-input")).GetProperty("field").GetString());
    }

    // ---- 4. Deleting a dataset under a running job ----

    [Fact]
    public async Task A_dataset_deleted_while_a_job_uses_it_does_not_disturb_the_job()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(1000, seed: 6);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);
        var job = await Jobs.Start(_client, Datasets.LabFit(created.Id, Datasets.Sgd(0.01), 20000,
            ("timeLimitSeconds", 2), ("recordEvery", 100)), timeout.Token);
        try
        {
            using (var response = await _client.DeleteAsync($"/datasets/{created.Id}", timeout.Token))
                Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            var atDeletion = await Jobs.Get(_client, job.Id, timeout.Token);
            Assert.Null(atDeletion.FinishedAt);

            var finished = await Jobs.WaitFor(_client, job.Id, j => j.FinishedAt is not null, timeout.Token);
            Assert.True(finished.Status == JobStatus.Succeeded, $"{finished.Status} ({finished.StopReason}): {finished.Message}");
            // A fast machine may take it to the line to the last bit first, where it stops as noProgress.
            Assert.True(finished.StopReason is StopReasonCode.MaxIterations or StopReasonCode.TimeLimit or StopReasonCode.NoProgress, $"{finished.StopReason}");
            Assert.True(finished.Iteration > 100, $"only {finished.Iteration} iterations");
            Assert.Equal(created.Id, finished.Dataset);
            Assert.NotNull(finished.Fit);
            Assert.Equal(1000, finished.Fit.Rows);
            Jobs.Relative(lab.Rss(finished.Parameters!.Scalar("b0"), finished.Parameters!.Scalar("b1")) / 1000, finished.Fit.Loss, 1e-9, "fit.loss");

            using var gone = await _client.GetAsync($"/datasets/{created.Id}", timeout.Token);
            await Api.ReadProblem(gone, 404, "dataset-not-found");
        }
        finally
        {
            await Jobs.CancelQuietly(_client, job.Id);
        }
    }

    // ---- 5. Bad data ----

    /// <summary>Name, media type, body, code, and the row, line, column and columnName expected (null: not checked).</summary>
    public static TheoryData<string, string, string, string, int?, int?, int?, string?> BadData => new()
    {
        { "empty cell", "text/csv", "x,y\n1,2\n3,\n", "empty-cell", 2, 3, 2, "y" },
        { "empty first cell", "text/csv", "x,y\n,2\n", "empty-cell", 1, 2, 1, "x" },
        { "empty quoted cell", "text/csv", "x,y\n1,\"\"\n", "empty-cell", 1, 2, 2, "y" },
        { "not a number", "text/csv", "x,y\n1,2\nabc,4\n", "not-a-number", 2, 3, 1, "x" },
        { "quoted text", "text/csv", "x,y\n\"a\",2\n", "not-a-number", 1, 2, 1, "x" },
        { "NaN", "text/csv", "x,y\n1,NaN\n", "non-finite-value", 1, 2, 2, "y" },
        { "Infinity", "text/csv", "x,y\n1,2\nInfinity,4\n", "non-finite-value", 2, 3, 1, "x" },
        { "-Infinity", "text/csv", "x,y\n1,-Infinity\n", "non-finite-value", 1, 2, 2, "y" },
        { "overflow", "text/csv", "x,y\n1,1e400\n", "non-finite-value", 1, 2, 2, "y" },
        { "too many cells", "text/csv", "x,y\n1,2\n3,4,5\n", "ragged-row", 2, 3, null, null },
        { "too few cells", "text/csv", "x,y\n1,2\n3\n", "ragged-row", 2, 3, null, null },
        { "blank line counts as a line, not a row", "text/csv", "x,y\n1,2\n\n3,oops\n", "not-a-number", 2, 4, 2, "y" },
        { "CRLF", "text/csv", "x,y\r\n1,2\r\n3,\r\n", "empty-cell", 2, 3, 2, "y" },
        { "duplicate header", "text/csv", "x,y,x\n1,2,3\n", "duplicate-header", null, 1, 3, null },
        { "empty header", "text/csv", "x,,y\n1,2,3\n", "empty-header", null, 1, 2, null },
        { "invalid header", "text/csv", "my col,y\n1,2\n", "invalid-header", null, 1, 1, null },
        { "header starting with a digit", "text/csv", "x,1y\n1,2\n", "invalid-header", null, 1, 2, null },
        { "header only", "text/csv", "x,y\n", "empty-dataset", null, null, null, null },
        { "empty body", "text/csv", "", "empty-dataset", null, null, null, null },
        { "blank lines only", "text/csv", "\n \n\r\n", "empty-dataset", null, null, null, null },
        { "unclosed quote", "text/csv", "x,y\n\"1.5,2\n", "malformed-csv", 1, 2, 1, "x" },
        { "unclosed quote in the last column", "text/csv", "x,y\n1,2\n3,\"4\n", "malformed-csv", 2, 3, 2, "y" },
        { "json ragged", "application/json", """{"columns": {"x": [1, 2, 3], "y": [1, 2]}}""", "ragged-row", null, null, 2, "y" },
        { "json longer second column", "application/json", """{"columns": {"x": [1], "y": [1, 2]}}""", "ragged-row", null, null, 2, "y" },
        { "json empty column", "application/json", """{"columns": {"x": [], "y": []}}""", "empty-dataset", null, null, 1, "x" },
        { "json empty second column", "application/json", """{"columns": {"x": [1], "y": []}}""", "empty-dataset", null, null, 2, "y" },
        { "json invalid name", "application/json", """{"columns": {"x": [1], "my col": [1]}}""", "invalid-header", null, null, 2, "my col" },
        { "json no columns", "application/json", """{"columns": {}}""", "invalid-input", null, null, null, null },
        { "json without columns", "application/json", "{}", "invalid-input", null, null, null, null },
        { "json text in a column", "application/json", """{"columns": {"x": [1, "a"]}}""", "malformed-json", null, null, null, null },
        { "json overflow", "application/json", """{"columns": {"x": [1, 1e400]}}""", "non-finite-value", 2, null, 1, "x" },
        // Numbers are JSON numbers: a string is refused as everywhere else, "NaN" and "-Infinity" included.
        { "json NaN as text", "application/json", """{"columns": {"y": [1], "x": [1, "NaN"]}}""", "malformed-json", null, 1, null, null },
        { "json NaN in the second column", "application/json", """{"columns": {"y": [1, 2], "x": [1, "NaN"]}}""", "malformed-json", null, 1, null, null },
        { "json -Infinity as text", "application/json", """{"columns": {"x": ["-Infinity"]}}""", "malformed-json", null, 1, null, null },
        { "not json", "application/json", "{", "malformed-json", null, null, null, null },
    };

    [Theory]
    [MemberData(nameof(BadData))]
    public async Task Bad_data_is_a_400_problem_naming_where(string name, string mediaType, string body, string code,
        int? row, int? line, int? column, string? columnName)
    {
        using var timeout = Jobs.Timeout(30);
        using var response = await Datasets.PostBytes(_client, Encoding.UTF8.GetBytes(body), mediaType, timeout.Token);
        var problem = await Api.ReadProblem(response, 400, code);
        if (row is not null) Assert.True(row == problem.GetProperty("row").GetInt32(), $"{name}: row {problem}");
        if (line is not null) Assert.True(line == problem.GetProperty("line").GetInt32(), $"{name}: line {problem}");
        if (column is not null) Assert.True(column == problem.GetProperty("column").GetInt32(), $"{name}: column {problem}");
        if (columnName is not null) Assert.True(columnName == problem.GetProperty("columnName").GetString(), $"{name}: columnName {problem}");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Bad_data_problems_carry_the_offending_token_and_field()
    {
        using var timeout = Jobs.Timeout(30);
        using (var response = await Datasets.PostCsv(_client, "x,y\n1,2\n3,abc\n", timeout.Token))
        {
            var problem = await Api.ReadProblem(response, 400, "not-a-number");
            Assert.Equal("abc", problem.GetProperty("token").GetString());
            Assert.Contains("Row 2", problem.GetProperty("detail").GetString());
            Assert.Contains("line 3", problem.GetProperty("detail").GetString());
        }
        using (var response = await Datasets.PostJson(_client, """{"columns": {"x": [1, 2, 3], "y": [1, 2]}}""", timeout.Token))
            Assert.Equal("columns.y", (await Api.ReadProblem(response, 400, "ragged-row")).GetProperty("field").GetString());
        using (var response = await Datasets.PostJson(_client, """{"columns": {"x": [1], "my col": [1]}}""", timeout.Token))
            Assert.Equal("columns.my col", (await Api.ReadProblem(response, 400, "invalid-header")).GetProperty("field").GetString());
        using (var response = await Datasets.PostJson(_client, """{"columns": {}}""", timeout.Token))
            Assert.Equal("columns", (await Api.ReadProblem(response, 400, "invalid-input")).GetProperty("field").GetString());
    }

    [Fact]
    public async Task Csv_header_problems_name_the_column()
    {
        using var timeout = Jobs.Timeout(30);
        foreach (var (csv, code, name) in new[] { ("x,y,x\n1,2,3\n", "duplicate-header", "x"), ("my col,y\n1,2\n", "invalid-header", "my col") })
        {
            using var response = await Datasets.PostCsv(_client, csv, timeout.Token);
            var problem = await Api.ReadProblem(response, 400, code);
            Assert.True(problem.TryGetProperty("columnName", out var columnName), $"{code} without columnName: {problem}");
            Assert.Equal(name, columnName.GetString());
        }
    }

    /// <summary>Name, CSV, whether a UTF-8 BOM precedes it, the column names, and the first column's values.</summary>
    public static TheoryData<string, string, bool, string[], double[]> GoodCsv => new()
    {
        { "quoted numbers", "x,y\n\"1.5\",\"2\"\n\"-3\",4\n", false, ["x", "y"], [1.5, -3] },
        { "quoted header", "\"x\",\"y\"\n1,2\n", false, ["x", "y"], [1] },
        { "CRLF", "x,y\r\n1,2\r\n3,4\r\n", false, ["x", "y"], [1, 3] },
        { "BOM", "x,y\n1,2\n", true, ["x", "y"], [1] },
        { "BOM, CRLF, no final newline", "x,y\r\n0.25,2\r\n0.5,4", true, ["x", "y"], [0.25, 0.5] },
        { "no final newline", "x,y\n1,2\n3,4", false, ["x", "y"], [1, 3] },
        { "spaces around cells", " x , y \n 1 , 2 \n", false, ["x", "y"], [1] },
        { "blank lines", "x,y\n\n1,2\n\n3,4\n\n", false, ["x", "y"], [1, 3] },
        { "number forms", "v,w\n1e-3,0\n.5,0\n+2,0\n-0,0\n1E2,0\n", false, ["v", "w"], [0.001, 0.5, 2, 0, 100] },
        { "one column", "only\n1\n2\n", false, ["only"], [1, 2] },
        { "underscored names", "_a,b_2\n1,2\n", false, ["_a", "b_2"], [1] },
    };

    [Theory]
    [MemberData(nameof(GoodCsv))]
    public async Task Csv_forms_that_are_accepted(string name, string csv, bool bom, string[] columns, double[] first)
    {
        using var timeout = Jobs.Timeout(30);
        var body = (bom ? new byte[] { 0xEF, 0xBB, 0xBF } : []).Concat(Encoding.UTF8.GetBytes(csv)).ToArray();
        using var response = await Datasets.PostBytes(_client, body, "text/csv", timeout.Token);
        var created = await Datasets.ReadCreated(response, timeout.Token);
        Assert.True(columns.SequenceEqual(created.Columns), $"{name}: columns {string.Join("|", created.Columns)}");
        Assert.Equal(first.Length, created.Rows);
        var summary = (await Datasets.Get(_client, created.Id, timeout.Token)).Columns[0];
        Assert.Equal(first.Length, summary.Count);
        Assert.Equal(first.Min(), summary.Min);
        Assert.Equal(first.Max(), summary.Max);
        Jobs.Relative(first.Average(), summary.Mean, 1e-15, name);
    }

    [Fact]
    public async Task Csv_with_a_charset_parameter_and_json_with_one_are_accepted()
    {
        using var timeout = Jobs.Timeout(30);
        using (var response = await Datasets.PostBytes(_client, "x\n1\n"u8.ToArray(), "text/csv; charset=utf-8", timeout.Token))
            await Datasets.ReadCreated(response, timeout.Token);
        using (var response = await Datasets.PostBytes(_client, """{"columns": {"x": [1]}}"""u8.ToArray(), "application/json; charset=utf-8", timeout.Token))
            await Datasets.ReadCreated(response, timeout.Token);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/xml")]
    [InlineData("application/octet-stream")]
    public async Task Another_media_type_is_415(string mediaType)
    {
        using var timeout = Jobs.Timeout(30);
        using var response = await Datasets.PostBytes(_client, "x,y\n1,2\n"u8.ToArray(), mediaType, timeout.Token);
        await Api.ReadProblem(response, 415, "unsupported-media-type");
    }

    [Fact]
    public async Task More_rows_than_Datasets_MaxRows_is_413_too_many_rows()
    {
        using var timeout = Jobs.Timeout(30);
        using var limited = factory.WithSettings(("Datasets:MaxRows", "10"));
        using var client = limited.CreateClient();
        var ten = LabData.Generate(10, seed: 9);
        var eleven = LabData.Generate(11, seed: 9);

        using (var response = await Datasets.PostCsv(client, eleven.Csv(), timeout.Token))
            await Api.ReadProblem(response, 413, "too-many-rows");
        using (var response = await Datasets.PostJson(client, eleven.ColumnsJson(), timeout.Token))
            await Api.ReadProblem(response, 413, "too-many-rows");
        Assert.Equal(10, (await Datasets.CreateCsv(client, ten.Csv(), timeout.Token)).Rows);
        Assert.Equal(10, (await Datasets.CreateJson(client, ten.ColumnsJson(), timeout.Token)).Rows);
    }

    [Fact]
    public async Task More_columns_than_Datasets_MaxColumns_is_413_too_many_columns()
    {
        using var timeout = Jobs.Timeout(30);
        using var limited = factory.WithSettings(("Datasets:MaxColumns", "2"));
        using var client = limited.CreateClient();

        using (var response = await Datasets.PostCsv(client, "a,b,c\n1,2,3\n", timeout.Token))
            await Api.ReadProblem(response, 413, "too-many-columns");
        using (var response = await Datasets.PostJson(client, """{"columns": {"a": [1], "b": [2], "c": [3]}}""", timeout.Token))
            await Api.ReadProblem(response, 413, "too-many-columns");
        Assert.Equal(["a", "b"], (await Datasets.CreateCsv(client, "a,b\n1,2\n", timeout.Token)).Columns);
        Assert.Equal(["a", "b"], (await Datasets.CreateJson(client, """{"columns": {"a": [1], "b": [2]}}""", timeout.Token)).Columns);
    }

    [Fact]
    public async Task The_store_limits_answer_413_until_a_dataset_is_deleted()
    {
        using var timeout = Jobs.Timeout(30);
        using (var limited = factory.WithSettings(("Datasets:MaxDatasets", "2")))
        {
            using var client = limited.CreateClient();
            var first = await Datasets.CreateCsv(client, "x\n1\n", timeout.Token);
            await Datasets.CreateCsv(client, "x\n2\n", timeout.Token);
            using (var response = await Datasets.PostCsv(client, "x\n3\n", timeout.Token))
                await Api.ReadProblem(response, 413, "too-many-datasets");
            using (var response = await client.DeleteAsync($"/datasets/{first.Id}", timeout.Token))
                Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            await Datasets.CreateCsv(client, "x\n3\n", timeout.Token);
        }
        // 3 rows of 2 columns take 48 bytes; 100 bytes hold two such datasets, not three.
        using (var limited = factory.WithSettings(("Datasets:MaxTotalBytes", "100")))
        {
            using var client = limited.CreateClient();
            const string csv = "a,b\n1,2\n3,4\n5,6\n";
            var first = await Datasets.CreateCsv(client, csv, timeout.Token);
            Assert.Equal(48, (await Datasets.Get(client, first.Id, timeout.Token)).Bytes);
            await Datasets.CreateCsv(client, csv, timeout.Token);
            using (var response = await Datasets.PostCsv(client, csv, timeout.Token))
                await Api.ReadProblem(response, 413, "dataset-store-full");
            using (var response = await client.DeleteAsync($"/datasets/{first.Id}", timeout.Token))
                Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            await Datasets.CreateCsv(client, csv, timeout.Token);
        }
    }

    [Fact]
    public async Task Datasets_are_listed_newest_first()
    {
        using var timeout = Jobs.Timeout(30);
        var older = await Datasets.CreateCsv(_client, "x\n1\n", timeout.Token);
        await Task.Delay(20, timeout.Token);
        var newer = await Datasets.CreateJson(_client, """{"columns": {"x": [2]}}""", timeout.Token);
        using var list = await _client.GetAsync("/datasets", timeout.Token);
        var ids = JsonSerializer.Deserialize<DatasetInfo[]>(await list.Content.ReadAsStringAsync(timeout.Token), Api.Json)!.Select(d => d.Id).ToList();
        Assert.True(ids.IndexOf(newer.Id) >= 0 && ids.IndexOf(newer.Id) < ids.IndexOf(older.Id), string.Join(",", ids));
    }

    // ---- 6. The model shorthand and its losses ----

    /// <summary>The documented expansions (README, ModelLoss.cs) of model b0 + b1*x.</summary>
    public static TheoryData<string, string, string> Losses => new()
    {
        { "mse", "y", "mean((y - (b0 + b1*x))^2)" },
        { "mae", "y", "mean(abs(y - (b0 + b1*x)))" },
        { "huber", "y", "mean(0.5*min(abs(y - (b0 + b1*x)), 0.5)^2 + 0.5*(abs(y - (b0 + b1*x)) - min(abs(y - (b0 + b1*x)), 0.5)))" },
        { "logcosh", "y", "mean(abs(y - (b0 + b1*x)) + softplus(-2*abs(y - (b0 + b1*x))) - log(2))" },
        { "bce", "t", "mean(softplus(b0 + b1*x) - t*(b0 + b1*x))" },
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public async Task Each_loss_expands_as_documented_with_value_and_gradient_of_its_definition(string loss, string target, string expansion)
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(40, seed: 10);
        var t = lab.X.Zip(lab.Y, (x, y) => y > 1 + x ? 1.0 : 0.0).ToArray();
        Assert.Contains(0.0, t);
        Assert.Contains(1.0, t);
        var created = await Datasets.CreateJson(_client,
            $$$"""{"columns": {"x": {{{Api.Numbers(lab.X)}}}, "y": {{{Api.Numbers(lab.Y)}}}, "t": {{{Api.Numbers(t)}}}}}""", timeout.Token);
        var targetValues = target == "t" ? t : lab.Y;
        double Loss(double b0, double b1) => LossOf(loss, b0, b1, lab.X, targetValues);

        var body = new JsonObject
        {
            ["model"] = "b0 + b1*x", ["target"] = target, ["loss"] = loss, ["dataset"] = created.Id,
            ["parameters"] = new JsonObject { ["b0"] = 0.3, ["b1"] = 0.7 },
            ["optimizer"] = Datasets.Sgd(0.01), ["maxIterations"] = 1, ["includeGradient"] = true,
        };
        if (loss == "huber") body["lossOptions"] = new JsonObject { ["delta"] = 0.5 };
        var job = await Datasets.RunOk(_client, body.ToJsonString(), timeout.Token);

        Assert.Equal(expansion, job.Expression);
        Assert.Equal(1, job.Iteration);
        var first = Assert.Single(Datasets.Trace(await Datasets.TraceJson(_client, job.Id, timeout.Token)));
        Assert.Equal(0.3, first.Parameters.Scalar("b0"));
        Assert.Equal(0.7, first.Parameters.Scalar("b1"));
        Jobs.Relative(Loss(0.3, 0.7), first.Value, 1e-9, $"{loss} value");

        // Central differences of the definition; h = 1e-6 keeps truncation and rounding far below 1e-6.
        const double h = 1e-6;
        var gb0 = (Loss(0.3 + h, 0.7) - Loss(0.3 - h, 0.7)) / (2 * h);
        var gb1 = (Loss(0.3, 0.7 + h) - Loss(0.3, 0.7 - h)) / (2 * h);
        Api.Close(gb0, first.Gradient!.Scalar("b0"), 1e-6);
        Api.Close(gb1, first.Gradient!.Scalar("b1"), 1e-6);
        Jobs.Relative(Math.Sqrt(gb0 * gb0 + gb1 * gb1), first.GradientNorm, 1e-6, "gradient norm");

        // The expansion as an expression over the same dataset gives the same value and gradient via /gradient.
        var gradient = new JsonObject
        {
            ["expression"] = expansion, ["dataset"] = created.Id, ["parameters"] = new JsonObject { ["b0"] = 0.3, ["b1"] = 0.7 },
        };
        using (var response = await _client.PostAsync("/gradient", Json(gradient.ToJsonString()), timeout.Token))
        {
            var (typed, _) = await Api.ReadOk(response);
            Jobs.Relative(first.Value, typed.Value, 1e-12, "/gradient value");
            Jobs.Relative([first.Gradient!.Scalar("b0"), first.Gradient!.Scalar("b1")],
                [typed.Gradient.Scalar("b0"), typed.Gradient.Scalar("b1")], 1e-12, "/gradient gradient");
        }

        // The fit report: the loss over all rows at the final parameters; only mse has RSE and R².
        var (fb0, fb1) = (job.Parameters!.Scalar("b0"), job.Parameters!.Scalar("b1"));
        Assert.NotNull(job.Fit);
        Assert.Equal(40, job.Fit.Rows);
        Jobs.Relative(Loss(fb0, fb1), job.Fit.Loss, 1e-9, "fit.loss");
        Assert.Equal(loss == "mse", job.Fit.ResidualStandardError is not null);
        Assert.Equal(loss == "mse", job.Fit.RSquared is not null);
    }

    static double LossOf(string loss, double b0, double b1, double[] x, double[] target)
    {
        double sum = 0;
        for (var i = 0; i < x.Length; i++)
        {
            var z = b0 + b1 * x[i];
            var r = target[i] - z;
            sum += loss switch
            {
                "mse" => r * r,
                "mae" => Math.Abs(r),
                "huber" => Math.Abs(r) <= 0.5 ? 0.5 * r * r : 0.5 * (Math.Abs(r) - 0.25),
                "logcosh" => Math.Log(Math.Cosh(r)),
                "bce" => -(target[i] * Math.Log(1 / (1 + Math.Exp(-z))) + (1 - target[i]) * Math.Log(1 - 1 / (1 + Math.Exp(-z)))),
                _ => throw new ArgumentException(loss),
            };
        }
        return sum / x.Length;
    }

    [Fact]
    public async Task Fit_report_edges_no_degrees_of_freedom_constant_target_and_a_plain_expression()
    {
        using var timeout = Jobs.Timeout(30);
        static string Body(string data) => $$"""
            {"model": "b0 + b1*x", "target": "y", "data": {{data}}, "parameters": {"b0": 0, "b1": 0},
             "optimizer": {"type": "lbfgs"}, "maxIterations": 50, "gradientNormTolerance": 1e-12}
            """;

        // Two rows, two parameters: no residual standard error (0 degrees of freedom); R² is 1.
        var exact = await Datasets.RunOk(_client, Body("""{"x": [0, 1], "y": [1, 3]}"""), timeout.Token);
        Assert.Equal(2, exact.Fit!.Rows);
        Assert.Null(exact.Fit.ResidualStandardError);
        Api.Close(1, exact.Fit.RSquared!.Value, 1e-9);

        // A constant target has no total sum of squares: no R²; the loss (0 here) is still reported.
        var constant = await Datasets.RunOk(_client, Body("""{"x": [0, 1, 2], "y": [3, 3, 3]}"""), timeout.Token);
        Assert.Equal(3, constant.Fit!.Rows);
        Assert.Null(constant.Fit.RSquared);
        Api.Close(0, constant.Fit.Loss, 1e-12);
        Api.Close(0, constant.Fit.ResidualStandardError!.Value, 1e-6);

        // An expression over data that is a mean of squared residuals gets the least-squares report too (issue 17).
        var lab = LabData.Generate(30, seed: 16);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);
        var plain = await Datasets.RunOk(_client, Datasets.LabFit(created.Id, new JsonObject { ["type"] = "lbfgs" }, 50,
            ("model", null), ("target", null), ("loss", null), ("expression", LabExpression)), timeout.Token);
        Assert.Equal(LabExpression, plain.Expression);
        Assert.Equal(30, plain.Fit!.Rows);
        Jobs.Relative(lab.Rss(plain.Parameters!.Scalar("b0"), plain.Parameters!.Scalar("b1")) / 30, plain.Fit.Loss, 1e-9, "fit.loss");
        var rss = lab.Rss(plain.Parameters!.Scalar("b0"), plain.Parameters!.Scalar("b1"));
        Jobs.Relative(Math.Sqrt(rss / 28), plain.Fit.ResidualStandardError!.Value, 1e-9, "fit.residualStandardError");
        Jobs.Relative(1 - rss / lab.Tss(), plain.Fit.RSquared!.Value, 1e-9, "fit.rSquared");
        Assert.Equal(2, plain.Fit.Coefficients!.Count);
    }

    static string ShorthandBody(params (string Field, JsonNode? Value)[] changes)
    {
        var lab = LabData.Generate(20, seed: 11);
        var body = new JsonObject
        {
            ["model"] = "b0 + b1*x", ["target"] = "y", ["loss"] = "mse", ["data"] = lab.DataNode(),
            ["parameters"] = new JsonObject { ["b0"] = 0, ["b1"] = 0 }, ["optimizer"] = Datasets.Sgd(0.1), ["maxIterations"] = 10,
        };
        return Jobs.With(body.ToJsonString(), changes);
    }

    /// <summary>Name, body, code, field.</summary>
    public static TheoryData<string, string, string, string> BadShorthand => new()
    {
        { "unknown loss", ShorthandBody(("loss", "l2")), "unknown-loss", "loss" },
        { "huber alpha", ShorthandBody(("loss", "huber"), ("lossOptions", new JsonObject { ["alpha"] = 1 })), "invalid-loss-option", "lossOptions" },
        { "huber delta 0", ShorthandBody(("loss", "huber"), ("lossOptions", new JsonObject { ["delta"] = 0 })), "invalid-loss-option", "lossOptions" },
        { "huber delta -1", ShorthandBody(("loss", "huber"), ("lossOptions", new JsonObject { ["delta"] = -1 })), "invalid-loss-option", "lossOptions" },
        { "mse takes no options", ShorthandBody(("lossOptions", new JsonObject { ["delta"] = 1 })), "invalid-loss-option", "lossOptions" },
        { "target not a column", ShorthandBody(("target", "z")), "invalid-input", "target" },
        { "target a parameter", ShorthandBody(("target", "b0")), "invalid-input", "target" },
        { "target missing", ShorthandBody(("target", null)), "invalid-input", "target" },
        { "target not a name", ShorthandBody(("target", "1y")), "invalid-input", "target" },
        { "empty model", ShorthandBody(("model", " ")), "invalid-input", "model" },
        { "model and expression", ShorthandBody(("expression", LabExpression)), "invalid-input", "model" },
    };

    [Theory]
    [MemberData(nameof(BadShorthand))]
    public async Task A_bad_model_shorthand_is_a_400_problem_naming_the_field(string name, string body, string code, string field)
    {
        using var timeout = Jobs.Timeout(30);
        using var response = await Jobs.Post(_client, body, timeout.Token);
        var problem = await Api.ReadProblem(response, 400, code);
        Assert.True(field == problem.GetProperty("field").GetString(), $"{name}: {problem}");
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task An_unknown_name_in_the_model_points_into_the_model_text()
    {
        using var timeout = Jobs.Timeout(30);
        using (var response = await Jobs.Post(_client, ShorthandBody(("model", "b0 + b1*q")), timeout.Token))
        {
            var problem = await Api.ReadProblem(response, 400, "unknown-name");
            Assert.Equal("model", problem.GetProperty("field").GetString());
            Assert.Equal(9, problem.GetProperty("column").GetInt32());
            Assert.Equal(1, problem.GetProperty("length").GetInt32());
            Assert.Equal("q", problem.GetProperty("token").GetString());
        }
        // The same with a loss whose expansion repeats the model (bce) and one that nests it deeper (huber).
        foreach (var (loss, options) in new[] { ("bce", (JsonNode?)null), ("huber", new JsonObject { ["delta"] = 0.5 }) })
        {
            using var response = await Jobs.Post(_client, ShorthandBody(("model", "b0 + b1*q"), ("loss", loss), ("lossOptions", options)), timeout.Token);
            var problem = await Api.ReadProblem(response, 400, "unknown-name");
            Assert.Equal("model", problem.GetProperty("field").GetString());
            Assert.Equal(9, problem.GetProperty("column").GetInt32());
            Assert.Equal("q", problem.GetProperty("token").GetString());
        }
    }

    // ---- 7. Mini-batches ----

    [Fact]
    public async Task Shuffled_mini_batches_are_reproducible_by_seed_and_events_carry_the_epoch()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 12);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);
        string Body(int seed) => Datasets.LabFit(created.Id, Datasets.Sgd(0.05), 12,
            ("batchSize", 50), ("shuffle", true), ("seed", seed), ("recordEvery", 1));

        var first = await Datasets.RunOk(_client, Body(7), timeout.Token);
        var second = await Datasets.RunOk(_client, Body(7), timeout.Token);
        var other = await Datasets.RunOk(_client, Body(8), timeout.Token);
        Assert.Equal(50, first.BatchSize);

        var trace = await Datasets.TraceJson(_client, first.Id, timeout.Token);
        Assert.Equal(trace, await Datasets.TraceJson(_client, second.Id, timeout.Token));
        var otherTrace = await Datasets.TraceJson(_client, other.Id, timeout.Token);
        Assert.NotEqual(trace, otherTrace);
        Assert.NotEqual(Datasets.Trace(trace)[0].Value, Datasets.Trace(otherTrace)[0].Value);

        int?[] epochs = [1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3];
        Assert.Equal(epochs, Datasets.Trace(trace).Select(p => p.Epoch));
        var events = await Jobs.ReadAll(_client, first.Id, timeout.Token);
        Assert.Equal(epochs, events.Iterations().Select(p => p.Epoch));
        Assert.Equal(JobStatus.Succeeded, events[^1].Completed.Status);

        // The fit report covers all 200 rows, not a batch.
        Assert.Equal(200, first.Fit!.Rows);
        Jobs.Relative(lab.Rss(first.Parameters!.Scalar("b0"), first.Parameters!.Scalar("b1")) / 200, first.Fit.Loss, 1e-9, "fit.loss");

        // Without batchSize there are no epochs.
        var full = await Datasets.RunOk(_client, Datasets.LabFit(created.Id, Datasets.Sgd(0.05), 3), timeout.Token);
        Assert.Null(full.BatchSize);
        Assert.DoesNotContain("epoch", await Datasets.TraceJson(_client, full.Id, timeout.Token));
    }

    [Fact]
    public async Task Unshuffled_mini_batches_take_consecutive_rows_and_drop_the_remainder()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 13);
        var created = await Datasets.CreateJson(_client, lab.ColumnsJson(), timeout.Token);
        // 200 rows in batches of 64: three batches an epoch, the last 8 rows skipped.
        var job = await Datasets.RunOk(_client, Datasets.LabFit(created.Id, Datasets.Sgd(0.05), 7,
            ("batchSize", 64), ("recordEvery", 1), ("includeGradient", true)), timeout.Token);
        var trace = Datasets.Trace(await Datasets.TraceJson(_client, job.Id, timeout.Token));
        int?[] epochs = [1, 1, 1, 2, 2, 2, 3];
        Assert.Equal(epochs, trace.Select(p => p.Epoch));
        foreach (var p in trace)
        {
            var start = (p.Iteration - 1) % 3 * 64;
            var (b0, b1) = (p.Parameters.Scalar("b0"), p.Parameters.Scalar("b1"));
            double loss = 0, g0 = 0, g1 = 0;
            for (var i = start; i < start + 64; i++)
            {
                var r = lab.Y[i] - (b0 + b1 * lab.X[i]);
                loss += r * r / 64;
                g0 += -2 * r / 64;
                g1 += -2 * r * lab.X[i] / 64;
            }
            Jobs.Relative(loss, p.Value, 1e-12, $"batch loss at {p.Iteration}");
            Jobs.Relative([g0, g1], [p.Gradient!.Scalar("b0"), p.Gradient!.Scalar("b1")], 1e-10, $"batch gradient at {p.Iteration}");
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(201)]
    public async Task A_batch_size_outside_1_to_rows_is_400(int batchSize)
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 14);
        using var response = await Jobs.Post(_client, Datasets.LabFit("", Datasets.Sgd(0.05), 5,
            ("dataset", null), ("data", lab.DataNode()), ("batchSize", batchSize)), timeout.Token);
        Assert.Equal("batchSize", (await Api.ReadProblem(response, 400, "invalid-input")).GetProperty("field").GetString());
    }

    [Fact]
    public async Task A_batch_size_of_all_rows_is_accepted()
    {
        using var timeout = Jobs.Timeout(30);
        var lab = LabData.Generate(200, seed: 14);
        var job = await Datasets.RunOk(_client, Datasets.LabFit("", Datasets.Sgd(0.05), 5,
            ("dataset", null), ("data", lab.DataNode()), ("batchSize", 200)), timeout.Token);
        Assert.Equal(5, job.Iteration);
    }

    [Fact]
    public async Task A_batch_size_without_data_is_400()
    {
        using var timeout = Jobs.Timeout(30);
        using var response = await Jobs.Post(_client, Jobs.Tutorial(("batchSize", 10)), timeout.Token);
        Assert.Equal("batchSize", (await Api.ReadProblem(response, 400, "invalid-input")).GetProperty("field").GetString());
    }

    static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    static void CheckSummary(double[] values, ColumnSummary summary)
    {
        var n = values.Length;
        Assert.Equal(n, summary.Count);
        Assert.Equal(values.Min(), summary.Min);
        Assert.Equal(values.Max(), summary.Max);
        var mean = values.Sum() / n;
        Jobs.Relative(mean, summary.Mean, 1e-12, $"mean of {summary.Name}");
        var sd = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / (n - 1));
        Jobs.Relative(sd, summary.StandardDeviation!.Value, 1e-12, $"standard deviation of {summary.Name}");
    }
}

/// <summary>Tests that run alone (after the parallel ones), so that what they measure about the process is their own.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LargeCollection
{
    public const string Name = "Large";
}

/// <summary>A million-row CSV: uploaded within the default limits and fitted, within a memory bound.</summary>
[Collection(LargeCollection.Name)]
[Trait("Category", "Large")]
public sealed class MillionRowDatasetTests(AutogradApiFactory factory, ITestOutputHelper output) : IClassFixture<AutogradApiFactory>
{
    const int Rows = 1_000_000;
    const long Mb = 1024 * 1024;

    [Fact]
    public async Task A_million_row_csv_is_accepted_and_a_100_iteration_sgd_fit_completes_within_a_memory_bound()
    {
        using var timeout = Jobs.Timeout(60);
        var client = factory.CreateClient();
        using (var warm = await client.GetAsync("/datasets", timeout.Token)) Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var workingSetBefore = Environment.WorkingSet;
        long peak = before;
        using var sampling = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!sampling.IsCancellationRequested)
            {
                peak = Math.Max(peak, GC.GetTotalMemory(false));
                try { await Task.Delay(5, sampling.Token); }
                catch (OperationCanceledException) { }
            }
        });
        string? id = null;
        try
        {
            var clock = Stopwatch.StartNew();
            var payload = Datasets.Utf8Csv(Rows, seed: 15, out var x, out var y);
            var built = clock.Elapsed;
            var payloadBytes = payload.WrittenCount;

            using (var response = await Datasets.PostBytes(client, payload.WrittenMemory, "text/csv", timeout.Token))
            {
                var created = await Datasets.ReadCreated(response, timeout.Token);
                id = created.Id;
                Assert.Equal(Rows, created.Rows);
                Assert.Equal(["x", "y"], created.Columns);
            }
            payload = null!;
            var uploaded = clock.Elapsed;

            var job = await Datasets.RunOk(client, Datasets.LabFit(id, Datasets.Sgd(0.1), 100), timeout.Token);
            var fitted = clock.Elapsed;
            Assert.Equal(100, job.Iteration);
            Assert.Equal(StopReasonCode.MaxIterations, job.StopReason);
            Assert.Equal("mean((y - (b0 + b1*x))^2)", job.Expression);
            Assert.NotNull(job.Fit);
            Assert.Equal(Rows, job.Fit.Rows);
            var (b0, b1) = (job.Parameters!.Scalar("b0"), job.Parameters!.Scalar("b1"));
            double rss = 0;
            for (var i = 0; i < Rows; i++)
            {
                var r = y[i] - (b0 + b1 * x[i]);
                rss += r * r;
            }
            Jobs.Relative(rss / Rows, job.Fit.Loss, 1e-9, "fit.loss");

            var info = await Datasets.Get(client, id, timeout.Token);
            Assert.Equal(Rows, info.Columns[0].Count);
            Assert.Equal(x.Min(), info.Columns[0].Min);
            Assert.Equal(y.Max(), info.Columns[1].Max);
            Jobs.Relative(x.Average(), info.Columns[0].Mean, 1e-9, "mean of x");

            // The data is 16 MB of doubles; whatever the service keeps after the fit is the stored dataset and the job.
            (x, y) = (null!, null!);
            sampling.Cancel();
            await sampler;
            var after = GC.GetTotalMemory(forceFullCollection: true);
            var workingSetAfter = Environment.WorkingSet;
            output.WriteLine($"CSV {payloadBytes / (double)Mb:0.0} MB built in {built.TotalSeconds:0.00} s; uploaded in " +
                             $"{(uploaded - built).TotalSeconds:0.00} s; 100 sgd iterations in {(fitted - uploaded).TotalSeconds:0.00} s; " +
                             $"total {clock.Elapsed.TotalSeconds:0.00} s");
            output.WriteLine($"Managed memory: before {before / (double)Mb:0.0} MB, peak sampled {peak / (double)Mb:0.0} MB, " +
                             $"after the fit {after / (double)Mb:0.0} MB (+{(after - before) / (double)Mb:0.0} MB); working set " +
                             $"{workingSetBefore / (double)Mb:0.0} -> {workingSetAfter / (double)Mb:0.0} MB");
            Assert.True(after - before < 400 * Mb, $"managed memory grew by {(after - before) / (double)Mb:0.0} MB");
        }
        finally
        {
            sampling.Cancel();
            await sampler;
            await Datasets.DeleteQuietly(client, id);
        }
    }
}

/// <summary>What a finished job leaves behind, measured alone on a host of its own.</summary>
[Collection(LargeCollection.Name)]
[Trait("Category", "Large")]
public sealed class FinishedJobMemoryTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    const long Mb = 1024 * 1024;

    [Fact]
    // Measures the whole managed heap: on Redis the client's buffers for 16 MB of columns stay in it (a heap dump after
    // the job holds no tape or column), so the number says nothing about the job there.
    [Trait(Stores.Trait, Stores.InMemoryOnly)]
    public async Task A_finished_job_lets_go_of_its_data_and_tape_so_deleting_its_dataset_frees_the_memory()
    {
        using var timeout = Jobs.Timeout(60);
        var client = factory.CreateClient();
        using (var warm = await client.GetAsync("/datasets", timeout.Token)) Assert.Equal(HttpStatusCode.OK, warm.StatusCode);
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var payload = Datasets.Utf8Csv(1_000_000, seed: 17, out _, out _);
        string id;
        using (var response = await Datasets.PostBytes(client, payload.WrittenMemory, "text/csv", timeout.Token))
            id = (await Datasets.ReadCreated(response, timeout.Token)).Id;
        payload = null!;
        var job = await Datasets.RunOk(client, Datasets.LabFit(id, Datasets.Sgd(0.1), 10), timeout.Token);
        Assert.Equal(10, job.Iteration);
        using (var response = await client.DeleteAsync($"/datasets/{id}", timeout.Token))
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);

        // The dataset alone is 16 MB and the job's tape about 60 MB; the job's record and 10 events are a few KB.
        var after = GC.GetTotalMemory(forceFullCollection: true);
        Assert.True(after - before < 8 * Mb, $"{(after - before) / (double)Mb:0.0} MB still held after the job ended and its dataset was deleted");
    }
}
