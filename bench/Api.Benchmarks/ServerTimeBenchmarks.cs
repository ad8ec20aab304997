using System.Net;
using System.Text;
using BenchmarkDotNet.Attributes;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Benchmarks;

/// <summary>
/// Server time of one request: the whole ASP.NET Core pipeline of the service (logging, security headers, routing,
/// strict JSON in, formula cache, replay, JSON out), driven in process through <c>TestServer</c>, with logging set as
/// bench/http/run.sh sets it. No sockets and no client process, so this is the server's share of what wrk measures,
/// plus TestServer's in-memory request and response (an upper bound on the server time, not a lower one).
/// The cold request carries a formula the service has never seen (a fresh literal each time): parse, record, the
/// first replay, interpreted, and a place in the formula cache (whose 256 entries are soon full, so evictions too).
/// </summary>
[MemoryDiagnoser]
public class ServerTimeBenchmarks
{
    const string WarmBody = """{"expression": "0.2*x1^2 + 0.2*x2^2 - 5", "parameters": {"x1": 2, "x2": 2}}""";
    WebApplicationFactory<Program> _factory = null!;
    HttpClient _client = null!;
    long _cold;

    [GlobalSetup]
    public void Setup()
    {
        _factory = new WebApplicationFactory<Program>().WithWebHostBuilder(host =>
        {
            host.UseEnvironment("Production");
            host.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        });
        _client = _factory.CreateClient();
        if (!Health().Result) throw new InvalidOperationException("GET /health/live failed.");
        if (!WarmGradient().Result) throw new InvalidOperationException("POST /gradient (W1) failed.");
        if (!ColdGradient().Result) throw new InvalidOperationException("POST /gradient (a new formula) failed.");
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _client.Dispose();
        _factory.Dispose();
    }

    [Benchmark(Baseline = true)]
    public Task<bool> Health() => Send(new HttpRequestMessage(HttpMethod.Get, "/health/live"));

    /// <summary>The W1 body of bench/http/post-gradient.lua: a cached formula, its tape compiled after 2,048 requests.</summary>
    [Benchmark]
    public Task<bool> WarmGradient() => Post(WarmBody);

    /// <summary>The W1 formula with a literal never seen before: a cache miss every time.</summary>
    [Benchmark]
    public Task<bool> ColdGradient()
    {
        var n = Interlocked.Increment(ref _cold);
        return Post($$$"""{"expression": "0.2*x1^2 + 0.2*x2^2 - {{{n}}}", "parameters": {"x1": 2, "x2": 2}}""");
    }

    Task<bool> Post(string body) =>
        Send(new HttpRequestMessage(HttpMethod.Post, "/gradient") { Content = new StringContent(body, Encoding.UTF8, "application/json") });

    async Task<bool> Send(HttpRequestMessage request)
    {
        using var response = await _client.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        if (response.StatusCode != HttpStatusCode.OK) throw new InvalidOperationException($"{request.RequestUri}: {(int)response.StatusCode} {text}");
        return text.Length > 0;
    }
}
