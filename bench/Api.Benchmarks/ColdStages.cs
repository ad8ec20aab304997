using System.Diagnostics;
using Autograd.Api.Gradients;
using Autograd.Contracts;
using Autograd.Expressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// A diagnostic, not a benchmark: where a never-seen formula's time goes, stage by stage (median and p90 of many
/// requests, each stage timed on its own fresh formulas): parsing, recording, the first replay, the formula cache's
/// miss, the service. With each stage the bytes it allocates, the collections and pauses it causes and the page faults
/// it takes: on a loaded machine a first touch of fresh memory costs tens of µs, and makes the p90 of whatever
/// leaves objects behind (pooled tapes of one-off formulas did). Server GC as the service runs: DOTNET_gcServer=1.
///   dotnet run -c Release --project bench/Api.Benchmarks -- --cold-stages
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
        Console.WriteLine($"GC: {(System.Runtime.GCSettings.IsServerGC ? "server" : "workstation")}, {System.Runtime.GCSettings.LatencyMode}; {count} fresh formulas per stage");
        Report("engine: parse", count, () => Formula.Parse(Text()));
        var parsed = new Formula[count + count / 4];
        var next = 0;
        for (var i = 0; i < parsed.Length; i++) parsed[i] = Formula.Parse(Text());
        Report("engine: record a parsed formula", count, () => CompiledFormula<double>.Compile(parsed[next++], specs));
        Report("engine: parse, record, first replay", count, () =>
        {
            var formula = CompiledFormula<double>.Compile(Formula.Parse(Text()), specs);
            formula.SetInput(0, [2.0]);
            formula.SetInput(1, [2.0]);
            formula.EvaluateWithGradientFused();
        });
        var cache = new FormulaCache();
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
        var bytes = GC.GetAllocatedBytesForCurrentThread();
        var collections = (GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2));
        var paused = GC.GetTotalPauseDuration();
        var faults = MinorFaults();
        var wall = Stopwatch.GetTimestamp();
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action();
            times[i] = Stopwatch.GetElapsedTime(start).TotalMicroseconds;
        }
        bytes = GC.GetAllocatedBytesForCurrentThread() - bytes;
        var wallMs = Stopwatch.GetElapsedTime(wall).TotalMilliseconds;
        var pausedMs = (GC.GetTotalPauseDuration() - paused).TotalMilliseconds;
        faults = MinorFaults() - faults;
        var mean = times.Average();
        Array.Sort(times);
        Console.WriteLine($"{stage}: median {times[count / 2]:F1} µs, p90 {times[count * 9 / 10]:F1} µs, p99 {times[count * 99 / 100]:F1} µs, mean {mean:F1} µs; "
            + $"{bytes / count:N0} B allocated each; GCs gen0/1/2 {GC.CollectionCount(0) - collections.Item1}/{GC.CollectionCount(1) - collections.Item2}/{GC.CollectionCount(2) - collections.Item3}, paused {pausedMs:F0} ms of {wallMs:F0} ms, page faults {faults / (double)count:F2} each");
    }

    // Minor page faults of the process so far (Linux: field 10 of /proc/self/stat); 0 elsewhere.
    static long MinorFaults()
    {
        if (!File.Exists("/proc/self/stat")) return 0;
        var stat = File.ReadAllText("/proc/self/stat");
        return long.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[7]);
    }
}
