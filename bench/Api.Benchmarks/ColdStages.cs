using System.Diagnostics;
using Autograd.Api.Gradients;
using Autograd.Contracts;
using Autograd.Expressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// A diagnostic, not a benchmark: where a never-seen formula's time goes, stage by stage (median of many requests,
/// each stage timed on its own fresh formulas): the engine alone, the engine through a formula cache, the service.
///   dotnet bench/Api.Benchmarks/bin/Release/net10.0/Api.Benchmarks.dll --cold-stages
/// </summary>
public static class ColdStages
{
    public static void Run(int count = 3000)
    {
        using var factory = new WebApplicationFactory<GradientService>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            host.UseContentRoot(ServerTimeBenchmarks.ApiDirectory());
            host.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        });
        var service = factory.Services.GetRequiredService<GradientService>();
        var n = 0;
        string Text() => $"0.2*x1^2 + 0.2*x2^2 - {++n}";
        InputSpec[] specs = [InputSpec.Scalar("x1", InputKind.Parameter), InputSpec.Scalar("x2", InputKind.Parameter)];
        var cache = new FormulaCache();
        Report("engine: parse, record, first replay", count, () =>
        {
            var formula = CompiledFormula<double>.Compile(Formula.Parse(Text()), specs);
            formula.SetInput(0, [2.0]);
            formula.SetInput(1, [2.0]);
            formula.EvaluateWithGradientFused();
        });
        Report("engine through a FormulaCache(256): rent, replay, return", count, () =>
        {
            var formula = cache.Rent<double>(Text(), specs, FormulaLimits.Default);
            formula.SetInput(0, [2.0]);
            formula.SetInput(1, [2.0]);
            formula.EvaluateWithGradientFused();
            cache.Return(formula);
        });
        Report("GradientService.Compute", count, () => service.Compute(new GradientRequest
        {
            Expression = Text(),
            Parameters = new() { ["x1"] = NumberOrVector.Scalar(2), ["x2"] = NumberOrVector.Scalar(2) },
        }, null));
        var warm = new GradientRequest { Expression = "0.2*x1^2 + 0.2*x2^2 - 5", Parameters = new() { ["x1"] = NumberOrVector.Scalar(2), ["x2"] = NumberOrVector.Scalar(2) } };
        Report("GradientService.Compute, warm (W1)", count, () => service.Compute(warm, null));
    }

    static void Report(string stage, int count, Action action)
    {
        for (var i = 0; i < count / 4; i++) action();
        var times = new double[count];
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        Array.Sort(times);
        Console.WriteLine($"{stage}: median {times[count / 2]:F1} µs, p90 {times[count * 9 / 10]:F1} µs, mean {times.Average():F1} µs");
    }
}
