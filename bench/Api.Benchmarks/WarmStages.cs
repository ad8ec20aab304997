using System.Diagnostics;
using System.Text.Json;
using Autograd.Api.Gradients;
using Autograd.Contracts;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// A diagnostic, not a benchmark: where a repeated /gradient request (the W1 body of bench/http/post-gradient.lua)
/// spends its server time beyond a health check, stage by stage, as medians of many requests with the bytes each
/// allocates: JSON in, <see cref="GradientService.Compute"/>, JSON out, and the whole pipeline through TestServer
/// for GET /health/live and POST /gradient (their difference is what /gradient costs beyond the health check).
///   dotnet bench/Api.Benchmarks/bin/Release/net10.0/Api.Benchmarks.dll --warm-stages
/// </summary>
public static class WarmStages
{
    static readonly byte[] Body = """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}"""u8.ToArray();

    public static void Run(int count = 20000, string? loopStage = null)
    {
        using var factory = new WebApplicationFactory<GradientService>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            host.UseContentRoot(ServerTimeBenchmarks.ApiDirectory());
            host.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        });
        var service = factory.Services.GetRequiredService<GradientService>();
        var json = factory.Services.GetRequiredService<IOptions<JsonOptions>>().Value.SerializerOptions;
        var request = JsonSerializer.Deserialize<GradientRequest>(Body, json)!;
        var response = service.Compute(request, null);
        var output = new MemoryStream();
        var server = factory.Server;

        if (loopStage is not null)
        {
            // For a profiler (perf with DOTNET_PerfMapEnabled=1): one stage in a loop for 20 s.
            Action stage = loopStage switch
            {
                "compute" => () => service.Compute(request, null),
                "pipeline" => () => Send(server, "POST", "/gradient", Body).GetAwaiter().GetResult(),
                _ => () => Send(server, "GET", "/health/live", null).GetAwaiter().GetResult(),
            };
            var end = Stopwatch.GetTimestamp() + 20 * Stopwatch.Frequency;
            while (Stopwatch.GetTimestamp() < end) stage();
            return;
        }
        Report("JSON in (strict options)", count, () => JsonSerializer.Deserialize<GradientRequest>(Body, json));
        Report("GradientService.Compute, warm", count, () => service.Compute(request, null));
        Report("JSON out", count, () =>
        {
            output.Position = 0;
            JsonSerializer.Serialize(output, response, json);
        });
        // The pipeline stages alternate in blocks, so that load from elsewhere on a shared machine lands on both.
        var health = new List<double>();
        var gradient = new List<double>();
        long healthBytes = 0, gradientBytes = 0;
        for (var block = 0; block < 10; block++)
        {
            healthBytes += Collect(health, count / 10, () => Send(server, "GET", "/health/live", null));
            gradientBytes += Collect(gradient, count / 10, () => Send(server, "POST", "/gradient", Body));
        }
        Print("pipeline: GET /health/live", health, healthBytes / count);
        Print("pipeline: POST /gradient, warm", gradient, gradientBytes / count);
        health.Sort();
        gradient.Sort();
        Console.WriteLine($"pipeline: /gradient beyond /health/live: {gradient[count / 2] - health[count / 2]:F1} µs, {(gradientBytes - healthBytes) / count} B");
    }

    static void Report(string stage, int count, Action action)
    {
        for (var i = 0; i < count / 4; i++) action();
        var times = new List<double>(count);
        var bytes = Collect(times, count, () => { action(); return Task.CompletedTask; });
        Print(stage, times, bytes / count);
    }

    static long Collect(List<double> times, int count, Func<Task> action)
    {
        var before = GC.GetTotalAllocatedBytes(true);
        for (var i = 0; i < count; i++)
        {
            var start = Stopwatch.GetTimestamp();
            action().GetAwaiter().GetResult();
            times.Add(Stopwatch.GetElapsedTime(start).TotalMicroseconds);
        }
        return GC.GetTotalAllocatedBytes(true) - before;
    }

    static void Print(string stage, List<double> times, long bytes)
    {
        var sorted = times.Order().ToArray();
        Console.WriteLine($"{stage}: median {sorted[sorted.Length / 2]:F2} µs, p90 {sorted[sorted.Length * 9 / 10]:F2} µs, {bytes} B allocated");
    }

    static async Task Send(Microsoft.AspNetCore.TestHost.TestServer server, string method, string path, byte[]? body)
    {
        var context = await server.SendAsync(c =>
        {
            c.Request.Method = method;
            c.Request.Path = path;
            if (body is null) return;
            c.Request.ContentType = "application/json";
            c.Request.ContentLength = body.Length;
            c.Request.Body = new MemoryStream(body);
            c.Features.Set<IHttpRequestBodyDetectionFeature>(HasBody.Instance);
        });
        if (context.Response.StatusCode != StatusCodes.Status200OK) throw new InvalidOperationException($"{method} {path}: {context.Response.StatusCode}");
    }

    sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();
        public bool CanHaveBody => true;
    }
}
