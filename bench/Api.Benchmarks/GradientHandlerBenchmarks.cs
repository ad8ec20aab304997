using System.Text;
using System.Text.Json;
using Autograd.Api.Gradients;
using Autograd.Contracts;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// The work of POST /gradient itself, on the calling thread: the body read with the service's strict JSON options,
/// <see cref="GradientService.Compute"/> (formula cache, binding, replay, finiteness), and the response written as JSON.
/// Not included: ASP.NET Core's middleware, routing and Kestrel (see <see cref="ServerTimeBenchmarks"/>), which a
/// health check pays as well. Cold: a formula never seen, a fresh literal each time.
/// </summary>
[MemoryDiagnoser]
public class GradientHandlerBenchmarks
{
    static readonly byte[] WarmBody = """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}"""u8.ToArray();
    WebApplicationFactory<GradientService> _factory = null!;
    GradientService _service = null!;
    JsonSerializerOptions _json = null!;
    readonly MemoryStream _response = new();
    long _cold;

    [GlobalSetup]
    public void Setup()
    {
        _factory = new WebApplicationFactory<GradientService>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            host.UseContentRoot(ServerTimeBenchmarks.ApiDirectory());
            host.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        });
        _service = _factory.Services.GetRequiredService<GradientService>();
        _json = _factory.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var check = _service.Compute(JsonSerializer.Deserialize<GradientRequest>(WarmBody, _json)!, null);
        if (Math.Abs(check.Value + 3.4) > 1e-12 || Warm() <= 0 || Cold() <= 0) throw new InvalidOperationException("W1 through the handler went wrong.");
    }

    [GlobalCleanup]
    public void Cleanup() => _factory.Dispose();

    /// <summary>The W1 body of bench/http/post-gradient.lua: a cached formula whose tape is compiled after 2,048 requests.</summary>
    [Benchmark(Baseline = true)]
    public long Warm() => Handle(WarmBody);

    /// <summary>The W1 formula with a literal never seen before: parse, record, first replay (interpreted), cache entry.</summary>
    [Benchmark]
    public long Cold() => Handle(Encoding.UTF8.GetBytes(
        $$$"""{"expression": "0.2*x1^2 + 0.2*x2^2 - {{{Interlocked.Increment(ref _cold)}}}", "parameters": {"x1": 2, "x2": 2}}"""));

    /// <summary>The cold request without JSON: the request object built by hand, then <see cref="GradientService.Compute"/>.</summary>
    [Benchmark]
    public double ColdCompute() => _service.Compute(new GradientRequest
    {
        Expression = $"0.2*x1^2 + 0.2*x2^2 - {Interlocked.Increment(ref _cold)}",
        Parameters = new() { ["x1"] = NumberOrVector.Scalar(2), ["x2"] = NumberOrVector.Scalar(2) },
    }, null).Value;

    /// <summary>The engine alone on the same text: parse, record, first replay, no cache.</summary>
    [Benchmark]
    public double ColdEngine()
    {
        var formula = Autograd.Expressions.CompiledFormula<double>.Compile(
            Autograd.Expressions.Formula.Parse($"0.2*x1^2 + 0.2*x2^2 - {Interlocked.Increment(ref _cold)}"),
            [Autograd.Expressions.InputSpec.Scalar("x1", Autograd.Expressions.InputKind.Parameter), Autograd.Expressions.InputSpec.Scalar("x2", Autograd.Expressions.InputKind.Parameter)]);
        formula.SetInput(0, [2.0]);
        formula.SetInput(1, [2.0]);
        return formula.EvaluateWithGradientFused();
    }

    long Handle(byte[] body)
    {
        var request = JsonSerializer.Deserialize<GradientRequest>(body, _json)!;
        var response = _service.Compute(request, null);
        _response.Position = 0;
        JsonSerializer.Serialize(_response, response, _json);
        return _response.Position;
    }
}
