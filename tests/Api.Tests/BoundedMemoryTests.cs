using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Xunit.Abstractions;

namespace Autograd.Api.Tests;

/// <summary>Tests that measure the process's heap or stop a host: alone, so that no other test's allocations or threads count.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class Isolated
{
    public const string Name = "isolated";
}

/// <summary>Memory is a budget: event logs are compact, shared by subscribers, and evicted oldest-first when the budget is short.</summary>
[Collection(Isolated.Name)]
public sealed class BoundedMemoryTests(AutogradApiFactory factory, ITestOutputHelper output) : IClassFixture<AutogradApiFactory>
{
    const long Budget = 40L * 1024 * 1024;

    [Fact]
    [Trait(Stores.Trait, Stores.InMemoryOnly)] // On Redis, event logs live in Redis and expire by age: the process budget evicts none.
    public async Task Jobs_of_100000_recorded_iterations_stay_within_the_budget_and_the_oldest_logs_are_evicted_first()
    {
        using var timeout = Jobs.Timeout(240);
        await using var host = factory.WithSettings(("Memory:BudgetBytes", Budget.ToString()));
        var client = host.CreateClient();
        var budget = host.Services.GetRequiredService<MemoryBudget>();
        var before = GC.GetTotalMemory(forceFullCollection: true);

        var ids = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            var job = await Jobs.Start(client, Jobs.Tutorial(("includeGradient", null), ("maxIterations", 100_000), ("optimizer", new System.Text.Json.Nodes.JsonObject { ["type"] = "sgd", ["learningRate"] = 1e-6 })), timeout.Token);
            var finished = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
            Assert.Equal(100_000, finished.RecordedIterations);
            Assert.False(finished.Decimated);
            ids.Add(job.Id);
            Assert.True(budget.Used <= budget.Limit, $"after job {i + 1}: {budget.Used:N0} bytes used of {budget.Limit:N0}");
        }

        // Measured before reading a whole trace back: the test's HTTP client keeps large pooled buffers of its own.
        var after = GC.GetTotalMemory(forceFullCollection: true);
        output.WriteLine($"managed heap grew by {(after - before) / 1e6:0.0} MB with a {Budget / 1e6:0.0} MB budget");
        Assert.True(after - before < Budget + 16 * 1024 * 1024, $"the heap grew by {after - before:N0} bytes past a {Budget:N0}-byte budget");

        var jobs = new List<Contracts.MinimizeJob>();
        foreach (var id in ids) jobs.Add(await Jobs.Get(client, id, timeout.Token));
        output.WriteLine(string.Join(", ", jobs.Select(j => j.EventsEvicted ? "evicted" : "kept")) + $"; budget {budget.Used:N0} of {budget.Limit:N0} bytes");
        var evicted = jobs.Select(j => j.EventsEvicted).ToList();
        Assert.True(evicted[0], "the oldest finished job's log is evicted first");
        Assert.False(evicted[^1], "the newest job keeps its log");
        // Oldest first: once a job kept its log, every later one did too.
        Assert.Equal(evicted.OrderByDescending(e => e), evicted);

        using var stream = await client.GetAsync($"/minimize/{ids[0]}/events", timeout.Token);
        await Api.ReadProblem(stream, 410, "events-evicted");
        using var trace = await client.GetAsync($"/minimize/{ids[0]}/trace", timeout.Token);
        await Api.ReadProblem(trace, 410, "events-evicted");
        Assert.NotNull(jobs[0].Parameters);
        var kept = DatasetsTrace(await client.GetStringAsync($"/minimize/{ids[^1]}/trace", timeout.Token));
        Assert.Equal(100_000, kept);

    }

    static int DatasetsTrace(string json)
    {
        using var document = JsonDocument.Parse(json);
        return document.RootElement.GetArrayLength();
    }

    [Fact]
    public async Task Twenty_subscribers_read_the_same_bytes_and_health_answers_while_they_read()
    {
        using var timeout = Jobs.Timeout(120);
        var client = factory.CreateClient();
        // A learning rate too small to stall, so that the job runs all its iterations.
        var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 20_000), ("optimizer", new System.Text.Json.Nodes.JsonObject { ["type"] = "sgd", ["learningRate"] = 1e-6 })), timeout.Token);
        var readers = Enumerable.Range(0, 20).Select(_ => Task.Run(async () =>
        {
            using var response = await client.GetAsync($"/minimize/{job.Id}/events", HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return await response.Content.ReadAsByteArrayAsync(timeout.Token);
        })).ToList();
        var health = 0;
        while (!readers.All(r => r.IsCompleted))
        {
            using var live = await client.GetAsync("/health/live", timeout.Token);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
            health++;
        }
        var streams = await Task.WhenAll(readers);
        Assert.All(streams, s => Assert.Equal(streams[0], s));
        var text = Encoding.UTF8.GetString(streams[0]);
        Assert.Contains("event: completed", text);
        Assert.Equal(20_000, text.Split("event: iteration\n").Length - 1);
        output.WriteLine($"{streams[0].Length:N0} bytes to each of 20 subscribers; /health/live answered {health} times meanwhile");
    }

    [Fact]
    public void Every_reader_of_a_log_gets_the_frames_the_log_holds_not_copies()
    {
        var budget = new MemoryBudget(Options.Create(new MemoryOptions { BudgetBytes = 1 << 20 }));
        var log = new Autograd.Api.Minimize.EventLog(budget);
        for (var i = 1; i <= 100; i++)
        {
            var frame = Encoding.UTF8.GetBytes($"id: {i}\nevent: iteration\ndata: {{\"iteration\":{i}}}\n\n");
            log.Append(EventKind.Iteration, i, frame, frame.Length - $"{{\"iteration\":{i}}}\n\n".Length);
        }
        var first = new List<EventFrame>();
        var second = new List<EventFrame>();
        log.ReadAfter(0, 0, first);
        log.ReadAfter(0, 0, second);
        Assert.Equal(100, first.Count);
        for (var i = 0; i < first.Count; i++)
        {
            Assert.True(MemoryMarshal.TryGetArray(first[i].Frame, out var a));
            Assert.True(MemoryMarshal.TryGetArray(second[i].Frame, out var b));
            Assert.Same(a.Array, b.Array);
            Assert.Equal(a.Offset, b.Offset);
            Assert.Equal($"{{\"iteration\":{i + 1}}}", Encoding.UTF8.GetString(first[i].Data.Span));
        }
        // 100 small frames share one chunk: the log holds bytes, not an object per event.
        Assert.Single(first.Select(f => MemoryMarshal.TryGetArray(f.Frame, out var s) ? s.Array : null).Distinct());
        Assert.Equal(budget.Used, log.Bytes);
        Assert.Equal(log.Bytes, log.Evict());
        Assert.Equal(0, budget.Used);
    }

    [Fact]
    public async Task Resuming_past_the_last_iteration_of_a_running_job_sends_no_older_iteration()
    {
        using var timeout = Jobs.Timeout(60);
        var client = factory.CreateClient();
        var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 3000), ("includeGradient", null)), timeout.Token);
        var events = await Jobs.ReadAll(client, job.Id, timeout.Token, lastEventId: "2500");
        var iterations = events.Iterations().Select(p => p.Iteration).ToList();
        Assert.Equal(Enumerable.Range(2501, 500), iterations);
        Assert.Equal("completed", events[^1].Type);
    }
}

/// <summary>Shutdown with subscribers that never read: every stream ends and the host stops within a few seconds.</summary>
[Collection(Isolated.Name)]
public sealed class ShutdownTests
{
    internal sealed class KestrelFactory : WebApplicationFactory<Program>
    {
        public KestrelFactory() => UseKestrel(0);

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseEnvironment(AutogradApiFactory.EnvironmentName);
            builder.UseSetting("Serilog:MinimumLevel:Default", "Warning");
        }
    }

    [Fact]
    public async Task The_host_stops_within_five_seconds_while_five_subscribers_never_read()
    {
        var factory = new KestrelFactory();
        factory.StartServer();
        var client = factory.CreateClient();
        using var timeout = Jobs.Timeout(60);
        var job = await Jobs.Start(client, Jobs.Timed(60, recordEvery: 1), timeout.Token);
        await Jobs.WaitUntilRunning(client, job.Id, timeout.Token);

        var address = client.BaseAddress!;
        var sockets = new List<Socket>();
        for (var i = 0; i < 5; i++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { ReceiveBufferSize = 1024 };
            await socket.ConnectAsync(address.Host == "localhost" ? "127.0.0.1" : address.Host, address.Port, timeout.Token);
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET /minimize/{job.Id}/events HTTP/1.1\r\nHost: {address.Authority}\r\n\r\n"), timeout.Token);
            sockets.Add(socket);
        }
        // Let the streams fill their connections' buffers and block on writes nobody takes.
        await Task.Delay(1500, timeout.Token);

        var clock = Stopwatch.StartNew();
        await factory.DisposeAsync();
        clock.Stop();
        foreach (var socket in sockets) socket.Dispose();
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"stopping took {clock.Elapsed.TotalSeconds:0.0} s");
    }
}

/// <summary>Pooled tapes count against the budget and are not pooled when it is short; nothing is evicted for them.</summary>
public sealed class PooledTapeBudgetTests
{
    sealed class Ledger(long limit) : Autograd.Expressions.IRetainedMemory
    {
        public long Used;
        public bool TryReserve(long bytes)
        {
            if (Used + bytes > limit) return false;
            Used += bytes;
            return true;
        }
        public void Release(long bytes) => Used -= bytes;
    }

    [Fact]
    public void A_pooled_copy_is_charged_while_pooled_and_released_when_rented_or_refused_when_it_does_not_fit()
    {
        var inputs = new[] { Autograd.Expressions.InputSpec.Vector("x", Autograd.Expressions.InputKind.Parameter, 1000) };
        var limits = new Autograd.Expressions.FormulaLimits();
        var ledger = new Ledger(limit: 100_000);
        var cache = new Autograd.Expressions.FormulaCache(16, ledger);
        var first = cache.Rent<double>("sum(exp(x) * x)", inputs, limits);
        var second = cache.Rent<double>("sum(exp(x) * x)", inputs, limits);
        Assert.True(first.RetainedBytes >= 3 * 1000 * sizeof(double), $"{first.RetainedBytes} bytes");
        cache.Return(first);
        Assert.Equal(first.RetainedBytes, ledger.Used);
        cache.Return(second);
        Assert.Equal(first.RetainedBytes + second.RetainedBytes, ledger.Used);
        Assert.Same(first, cache.Rent<double>("sum(exp(x) * x)", inputs, limits));
        Assert.Equal(second.RetainedBytes, ledger.Used);

        var tight = new Ledger(limit: first.RetainedBytes - 1);
        var refusing = new Autograd.Expressions.FormulaCache(16, tight);
        var copy = refusing.Rent<double>("sum(exp(x) * x)", inputs, limits);
        refusing.Return(copy);
        Assert.Equal(0, tight.Used);
        Assert.NotSame(copy, refusing.Rent<double>("sum(exp(x) * x)", inputs, limits));
    }
}

/// <summary>A refused upload is answered and the connection kept for the client's next request.</summary>
[Collection(Isolated.Name)]
public sealed class UploadConnectionTests
{
    [Fact]
    public async Task After_a_rejected_csv_the_next_pipelined_request_on_the_same_connection_is_answered()
    {
        await using var factory = new ShutdownTests.KestrelFactory();
        factory.StartServer();
        var address = factory.CreateClient().BaseAddress!;
        using var timeout = Jobs.Timeout(30);
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        await socket.ConnectAsync("127.0.0.1", address.Port, timeout.Token);
        var csv = "x,y\n1,2\n3,oops\n" + string.Concat(Enumerable.Repeat("5,6\n", 20_000));
        var requests = $"POST /datasets HTTP/1.1\r\nHost: {address.Authority}\r\nContent-Type: text/csv\r\nContent-Length: {Encoding.ASCII.GetByteCount(csv)}\r\n\r\n{csv}"
            + $"GET /health/live HTTP/1.1\r\nHost: {address.Authority}\r\n\r\n";
        await socket.SendAsync(Encoding.ASCII.GetBytes(requests), timeout.Token);

        var received = new StringBuilder();
        var buffer = new byte[65536];
        while (!received.ToString().Contains("Healthy"))
        {
            var count = await socket.ReceiveAsync(buffer, timeout.Token);
            Assert.True(count > 0, $"the connection was closed after: {received}");
            received.Append(Encoding.ASCII.GetString(buffer, 0, count));
        }
        var text = received.ToString();
        Assert.StartsWith("HTTP/1.1 400", text);
        Assert.Contains("not-a-number", text);
        Assert.Contains("HTTP/1.1 200", text[text.IndexOf("not-a-number", StringComparison.Ordinal)..]);
    }
}
