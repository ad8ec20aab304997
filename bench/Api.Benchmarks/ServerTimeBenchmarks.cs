using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Hosting;
using Autograd.Api.Gradients;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// Server time of one request: the whole ASP.NET Core pipeline of the service (logging, security headers, routing,
/// strict JSON in, formula cache, replay, JSON out), driven in process through <c>TestServer</c>, with logging set as
/// bench/http/run.sh sets it. No sockets and no client process, so this is the server's share of what wrk measures,
/// plus TestServer's in-memory request and response (an upper bound on the server time, not a lower one).
/// The cold request carries a formula the service has never seen (a fresh literal each time): parse, record, the
/// first replay, interpreted, and a look at the formula cache (once its 256 entries are full, a formula seen once is not
/// admitted: it takes no place and evicts nothing).
/// </summary>
[MemoryDiagnoser]
public class ServerTimeBenchmarks
{
    static readonly byte[] WarmBody = """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}"""u8.ToArray();
    // Any type of the API assembly names its entry point; this project has its own Program.
    WebApplicationFactory<GradientService> _factory = null!;
    long _cold;

    [GlobalSetup]
    public void Setup()
    {
        _factory = new WebApplicationFactory<GradientService>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            host.UseContentRoot(ApiDirectory());
            host.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        });
        if (!Health().Result) throw new InvalidOperationException("GET /health/live failed.");
        if (!WarmGradient().Result) throw new InvalidOperationException("POST /gradient (W1) failed.");
        if (!ColdGradient().Result) throw new InvalidOperationException("POST /gradient (a new formula) failed.");
    }

    /// <summary>src/Api, found upwards from the benchmark's binaries (its appsettings.json and wwwroot).</summary>
    internal static string ApiDirectory()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "src", "Api", "Api.csproj"))) return Path.Combine(dir.FullName, "src", "Api");
        throw new DirectoryNotFoundException("src/Api not found above " + AppContext.BaseDirectory);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _factory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<bool> Health() => Send("GET", "/health/live", null);

    /// <summary>The W1 body of bench/http/post-gradient.lua: a cached formula, its tape compiled after 2,048 requests.</summary>
    [Benchmark]
    public Task<bool> WarmGradient() => Send("POST", "/gradient", WarmBody);

    /// <summary>The W1 formula with a literal never seen before: a cache miss every time.</summary>
    [Benchmark]
    public Task<bool> ColdGradient()
    {
        var n = Interlocked.Increment(ref _cold);
        return Send("POST", "/gradient", Encoding.UTF8.GetBytes($$$"""{"expression": "0.2*x1^2 + 0.2*x2^2 - {{{n}}}", "parameters": {"x1": 2, "x2": 2}}"""));
    }

    /// <summary>One request straight into the server's pipeline (no HttpClient); fails on any status but 200.</summary>
    async Task<bool> Send(string method, string path, byte[]? body)
    {
        var context = await _factory.Server.SendAsync(c =>
        {
            c.Request.Method = method;
            c.Request.Path = path;
            if (body is null) return;
            c.Request.ContentType = "application/json";
            c.Request.ContentLength = body.Length;
            c.Request.Body = new MemoryStream(body);
            c.Features.Set<IHttpRequestBodyDetectionFeature>(HasBody.Instance);
        });
        if (context.Response.StatusCode != StatusCodes.Status200OK)
            throw new InvalidOperationException($"{method} {path}: {context.Response.StatusCode} {await new StreamReader(context.Response.Body).ReadToEndAsync()}");
        return context.Response.Body.CanRead;
    }

    sealed class HasBody : IHttpRequestBodyDetectionFeature
    {
        public static readonly HasBody Instance = new();
        public bool CanHaveBody => true;
    }
}
