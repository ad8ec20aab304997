using System.Net.Http.Json;
using System.Text.Json;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>POST /surface: the loss over a grid, against /gradient at the same points; its limits and errors.</summary>
public sealed class SurfaceApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    static SurfaceRequest Rosenbrock(int resolution = 5, string x = "x[1]", string y = "x[2]") => new()
    {
        Expression = Api.Rosenbrock,
        Parameters = new() { ["x"] = new[] { -1.0, 1.0 } },
        Constants = new() { ["a"] = 1.0, ["b"] = 5.0 },
        X = new SurfaceAxis { Parameter = x, Min = -2, Max = 2 },
        Y = new SurfaceAxis { Parameter = y, Min = -1, Max = 3 },
        Resolution = resolution,
    };

    async Task<SurfaceResponse> PostOk(SurfaceRequest request)
    {
        using var response = await _client.PostAsJsonAsync("/surface", request, Api.Json);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, body);
        return JsonSerializer.Deserialize<SurfaceResponse>(body, Api.Json)!;
    }

    async Task<JsonElement> PostProblem(object request, int status, string code)
    {
        using var response = await _client.PostAsJsonAsync("/surface", request, Api.Json);
        return await Api.ReadProblem(response, status, code);
    }

    [Fact]
    public async Task SurfaceValuesEqualGradientValuesAtTheSamePoints()
    {
        var surface = await PostOk(Rosenbrock());
        Assert.Equal([-2.0, -1.0, 0.0, 1.0, 2.0], surface.X);
        Assert.Equal([-1.0, 0.0, 1.0, 2.0, 3.0], surface.Y);
        for (var j = 0; j < surface.Y.Length; j++)
        for (var i = 0; i < surface.X.Length; i++)
        {
            var (point, _) = await Api.PostOk(_client, Api.RosenbrockRequest(surface.X[i], surface.Y[j]));
            Assert.Equal(point.Value, surface.Z[j][i]!.Value, 12);
        }
    }

    [Fact]
    public async Task OtherParametersStayAtTheirValues()
    {
        var request = new SurfaceRequest
        {
            Expression = "a^2 + b + 10*c",
            Parameters = new() { ["a"] = 0.0, ["b"] = 0.0, ["c"] = 2.0 },
            X = new SurfaceAxis { Parameter = "a", Min = 0, Max = 1 },
            Y = new SurfaceAxis { Parameter = "b", Min = 0, Max = 1 },
            Resolution = 2,
        };
        var surface = await PostOk(request);
        Assert.Equal(20.0, surface.Z[0][0]);
        Assert.Equal(22.0, surface.Z[1][1]);
    }

    [Fact]
    public async Task NonFiniteValuesAreNull()
    {
        var request = new SurfaceRequest
        {
            Expression = "log(u) + v",
            Parameters = new() { ["u"] = 1.0, ["v"] = 0.0 },
            X = new SurfaceAxis { Parameter = "u", Min = -1, Max = 1 },
            Y = new SurfaceAxis { Parameter = "v", Min = 0, Max = 1 },
            Resolution = 3,
        };
        var surface = await PostOk(request);
        Assert.Null(surface.Z[0][0]);
        Assert.Null(surface.Z[0][1]);
        Assert.Equal(0.0, surface.Z[0][2]);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(201)]
    public async Task ResolutionOutsideTheLimitIs400(int resolution)
    {
        var problem = await PostProblem(Rosenbrock(resolution), 400, "invalid-input");
        Assert.Equal("resolution", problem.GetProperty("field").GetString());
    }

    [Theory]
    [InlineData("z", "x[2]", "x.parameter")]
    [InlineData("x", "x[2]", "x.parameter")]
    [InlineData("x[3]", "x[2]", "x.parameter")]
    [InlineData("x[1]", "x[1]", "y.parameter")]
    [InlineData("x[1]", "a", "y.parameter")]
    public async Task BadAxesAre400NamingTheAxis(string x, string y, string field)
    {
        var problem = await PostProblem(Rosenbrock(5, x, y), 400, "invalid-input");
        Assert.Equal(field, problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task AnEmptyRangeIs400()
    {
        var request = Rosenbrock() with { X = new SurfaceAxis { Parameter = "x[1]", Min = 1, Max = 1 } };
        var problem = await PostProblem(request, 400, "invalid-input");
        Assert.Equal("x.min", problem.GetProperty("field").GetString());
    }

    [Fact]
    public async Task ABadFormulaIs400WithItsColumn()
    {
        var problem = await PostProblem(Rosenbrock() with { Expression = "x[1] * * 2" }, 400, "formula-syntax");
        Assert.Equal(8, problem.GetProperty("column").GetInt32());
    }

    [Fact]
    public async Task TooMuchWorkIs413()
    {
        using var small = factory.WithSettings(("Limits:MaxSurfaceElementEvaluations", "1000"));
        using var client = small.CreateClient();
        var request = new SurfaceRequest
        {
            Expression = "mean((y - (b0 + b1*x))^2)",
            Parameters = new() { ["b0"] = 0.0, ["b1"] = 0.0 },
            Data = new() { ["x"] = Enumerable.Range(0, 100).Select(i => i / 100.0).ToArray(), ["y"] = Enumerable.Range(0, 100).Select(i => 1 + i / 100.0).ToArray() },
            X = new SurfaceAxis { Parameter = "b0", Min = -1, Max = 1 },
            Y = new SurfaceAxis { Parameter = "b1", Min = -1, Max = 1 },
            Resolution = 10,
        };
        using var response = await client.PostAsJsonAsync("/surface", request, Api.Json);
        await Api.ReadProblem(response, 413, "surface-too-large");
    }
}
