using System.Net;
using System.Text;
using System.Text.Json;

namespace Autograd.Api.Tests;

/// <summary>Every request body is read against its contract: unknown, misspelt, repeated or wrongly typed fields are 400s that say where.</summary>
public sealed class StrictRequestTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    const string Gradient = """{"expression": "x^2", "parameters": {"x": 1}""";
    const string Surface = """{"expression": "x^2 + y^2", "parameters": {"x": 1, "y": 1}, "x": {"parameter": "x", "min": -1, "max": 1}, "y": {"parameter": "y", "min": -1, "max": 1}, "resolution": 3""";
    const string Minimize = """{"expression": "x^2", "parameters": {"x": 1}, "optimizer": {"type": "sgd"}, "maxIterations": 5""";
    const string Dataset = """{"columns": {"x": [1, 2]}""";

    async Task<JsonElement> Problem(string path, string body, int status, string code)
    {
        using var response = await _client.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json"));
        return await Api.ReadProblem(response, status, code);
    }

    [Theory]
    [InlineData("/minimize", Minimize + """, "optimizer": {"type": "sgd", "lr": 0.1}}""", "$.optimizer.lr", "learningRate")]
    [InlineData("/gradient", Gradient + """, "hesian": true}""", "$.hesian", "hessian")]
    [InlineData("/minimize", Minimize + """, "maxIteration": 5}""", "$.maxIteration", "maxIterations")]
    [InlineData("/minimize", Minimize + """, "recordEvry": 5}""", "$.recordEvry", "recordEvery")]
    [InlineData("/surface", Surface + """, "x": {"parameter": "x", "mn": -1, "max": 1}}""", "$.x.mn", "min")]
    [InlineData("/datasets", Dataset + """, "colums": {}}""", "$.colums", "columns")]
    public async Task A_misspelt_field_is_400_naming_it_where_it_sits_and_the_closest_known_field(string path, string body, string at, string closest)
    {
        var problem = await Problem(path, body, 400, "unknown-field");
        Assert.Equal(at, problem.GetProperty("path").GetString());
        Assert.Equal(closest, problem.GetProperty("didYouMean").GetString());
        Assert.Contains($"'{closest}'", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("Autograd.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/gradient", Gradient + """, "color": "blue"}""")]
    [InlineData("/surface", Surface + """, "zoom": 2}""")]
    [InlineData("/minimize", Minimize + """, "verbose": true}""")]
    [InlineData("/datasets", Dataset + """, "name": "lab"}""")]
    public async Task An_unknown_field_is_400_on_every_contract(string path, string body)
    {
        var problem = await Problem(path, body, 400, "unknown-field");
        Assert.True(problem.GetProperty("knownFields").GetArrayLength() > 0);
    }

    [Theory]
    [InlineData("/gradient", """{"expression": "x^2", "parameters": {"x": "1"}}""", "$.parameters.x")]
    [InlineData("/surface", """{"expression": "x^2 + y^2", "parameters": {"x": 1, "y": 1}, "x": {"parameter": "x", "min": -1, "max": 1}, "y": {"parameter": "y", "min": -1, "max": 1}, "resolution": "3"}""", "$.resolution")]
    [InlineData("/surface", """{"expression": "x^2 + y^2", "parameters": {"x": 1, "y": 1}, "x": {"parameter": "x", "min": "-1", "max": 1}}""", "$.x.min")]
    [InlineData("/minimize", """{"expression": "x^2", "parameters": {"x": 1}, "optimizer": {"type": "sgd"}, "maxIterations": "5"}""", "$.maxIterations")]
    [InlineData("/minimize", """{"expression": "x^2", "parameters": {"x": 1}, "optimizer": {"type": "sgd", "learningRate": "0.1"}, "maxIterations": 5}""", "$.optimizer.learningRate")]
    [InlineData("/datasets", """{"columns": {"x": ["1", 2]}}""", "$.columns.x")]
    public async Task A_number_given_as_a_string_is_refused_everywhere_alike(string path, string body, string at)
    {
        var problem = await Problem(path, body, 400, "malformed-json");
        Assert.StartsWith(at, problem.GetProperty("path").GetString());
        Assert.Contains("expected", problem.GetProperty("detail").GetString());
        Assert.DoesNotContain("System.", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData("/gradient", """{"expression": "x^2", "parameters": {"x": 1}, "dtype": 7}""")]
    [InlineData("/gradient", """{"expression": "x^2", "parameters": {"x": 1}, "dtype": "float16"}""")]
    [InlineData("/minimize", """{"expression": "x^2", "parameters": {"x": 1}, "optimizer": {"type": "sgd"}, "maxIterations": 5, "dtype": 1}""")]
    public async Task An_enum_given_as_a_number_or_an_unknown_name_lists_the_allowed_values(string path, string body)
    {
        var problem = await Problem(path, body, 400, "malformed-json");
        Assert.Equal("$.dtype", problem.GetProperty("path").GetString());
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.Contains("\"float64\"", detail);
        Assert.Contains("\"float32\"", detail);
        Assert.DoesNotContain("Autograd.", detail);
    }

    [Theory]
    [InlineData("/gradient", """{"expression": "x^2", "expression": "x^3", "parameters": {"x": 1}}""")]
    [InlineData("/gradient", """{"expression": "x^2", "parameters": {"x": 1, "x": 2}}""")]
    [InlineData("/datasets", """{"columns": {"x": [1], "x": [2]}}""")]
    public async Task A_field_given_twice_is_400_not_silently_the_last(string path, string body) =>
        await Problem(path, body, 400, "duplicate-field");

    [Fact]
    public async Task A_name_ending_in_a_newline_is_not_a_valid_name()
    {
        var problem = await Problem("/gradient", """{"expression": "x^2", "parameters": {"x\n": 1}}""", 400, "invalid-input");
        Assert.Equal("parameters.x\n", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Float32_parameters_beyond_its_range_are_400_and_never_break_the_job_list()
    {
        var problem = await Problem("/minimize", """
            {"expression": "x^2", "parameters": {"x": 1, "b": 1e300}, "dtype": "float32", "optimizer": {"type": "sgd"}, "maxIterations": 5}
            """, 400, "out-of-range-for-dtype");
        Assert.Equal("parameters.b", problem.GetProperty("field").GetString());
        await Problem("/gradient", """{"expression": "x^2 + c", "parameters": {"x": 1}, "constants": {"c": -1e39}, "dtype": "float32"}""", 400, "out-of-range-for-dtype");
        using var list = await _client.GetAsync("/minimize");
        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
    }

    [Theory]
    [InlineData("x[99999999999]")]
    [InlineData("x[0]")]
    [InlineData("x[3]")]
    public async Task A_surface_axis_with_an_index_out_of_range_is_400(string axis)
    {
        var body = $$"""{"expression": "x[1]^2 + x[2]^2", "parameters": {"x": [1, 1]}, "x": {"parameter": "{{axis}}", "min": -1, "max": 1}, "y": {"parameter": "x[2]", "min": -1, "max": 1}, "resolution": 3}""";
        await Problem("/surface", body, 400, "invalid-input");
    }

    [Fact]
    public async Task A_surface_over_nearly_the_whole_double_range_has_finite_coordinates()
    {
        var body = """{"expression": "x + y", "parameters": {"x": 1, "y": 1}, "x": {"parameter": "x", "min": -1e308, "max": 1}, "y": {"parameter": "y", "min": 0, "max": 1}, "resolution": 5}""";
        using var response = await _client.PostAsync("/surface", new StringContent(body, Encoding.UTF8, "application/json"));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        using var document = JsonDocument.Parse(text);
        var xs = document.RootElement.GetProperty("x").EnumerateArray().Select(e => e.GetDouble()).ToArray();
        Assert.Equal(-1e308, xs[0]);
        Assert.Equal(1, xs[^1]);
        Assert.All(xs, x => Assert.True(double.IsFinite(x)));
        Assert.Equal(-0.75e308, xs[1], 1e293);
    }

    [Fact]
    public async Task A_csv_cell_with_a_quoted_line_break_is_accepted_and_lines_are_counted_through_it()
    {
        using var timeout = Jobs.Timeout();
        var created = await Datasets.CreateCsv(_client, "\"x\n\",y\n\"1\n\",2\n3,4\n", timeout.Token);
        Assert.Equal(["x", "y"], created.Columns);
        Assert.Equal(2, created.Rows);

        using var bad = await Datasets.PostCsv(_client, "x,y\n\"1\n\",2\n3,oops\n", timeout.Token);
        var problem = await Api.ReadProblem(bad, 400, "not-a-number");
        Assert.Equal(2, problem.GetProperty("row").GetInt32());
        Assert.Equal(4, problem.GetProperty("line").GetInt32());
    }

    [Fact]
    public async Task A_bad_header_cell_is_quoted_once_and_cut_short()
    {
        using var timeout = Jobs.Timeout();
        var header = "x," + new string('-', 100_000);
        using var response = await Datasets.PostCsv(_client, header + "\n1,2\n", timeout.Token);
        var text = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.True(text.Length < 1000, $"a {text.Length}-character problem for a bad header");
    }

    [Fact]
    public async Task A_csv_posted_without_its_media_type_is_told_which_types_are_accepted()
    {
        using var response = await _client.PostAsync("/datasets", new StringContent("x,y\n1,2\n", Encoding.UTF8, "application/x-www-form-urlencoded"));
        var problem = await Api.ReadProblem(response, 415, "unsupported-media-type");
        Assert.Contains("text/csv", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Every_response_carries_nosniff_and_frame_options_and_the_page_a_strict_policy()
    {
        using var page = await _client.GetAsync("/");
        Assert.Equal("nosniff", page.Headers.GetValues("X-Content-Type-Options").Single());
        Assert.Equal("DENY", page.Headers.GetValues("X-Frame-Options").Single());
        var policy = page.Headers.GetValues("Content-Security-Policy").Single();
        Assert.Contains("script-src 'self'", policy);
        Assert.DoesNotContain("unsafe-eval", policy);
        Assert.Contains("frame-ancestors 'none'", policy);

        using var api = await Api.Post(_client, Api.ParaboloidRequest());
        Assert.Equal("nosniff", api.Headers.GetValues("X-Content-Type-Options").Single());
        using var problem = await Api.PostRaw(_client, "{");
        Assert.Equal(HttpStatusCode.BadRequest, problem.StatusCode);
        Assert.Equal("nosniff", problem.Headers.GetValues("X-Content-Type-Options").Single());
    }
}
