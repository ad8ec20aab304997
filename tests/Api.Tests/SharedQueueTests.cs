using System.Diagnostics;
using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Autograd.Optimization;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Autograd.Api.Tests;

/// <summary>
/// The shared queue on a real Redis: API replicas that run no jobs and worker replicas that run them; a worker killed
/// mid-run (a real process, SIGKILL) whose job another worker takes over from its checkpoint with the uninterrupted
/// run's bits; a worker whose claim was taken over writes nothing (fencing); and a restart of every process.
/// Leases are one second here; the tests wait for conditions with generous timeouts and time nothing.
/// </summary>
public sealed class SharedQueueTests(RedisServer redis) : IClassFixture<RedisServer>
{
    static readonly (string, string)[] Fast =
    [
        ("Service:LeaseSeconds", "1"), ("Service:CheckpointSeconds", "0.2"), ("Service:CheckpointIterations", "500"),
        ("Service:PollSeconds", "0.05"), ("Minimize:Workers", "1"),
    ];

    WebApplicationFactory<Program> Host(string role) =>
        new AutogradApiFactory().WithSettings([("Store:Redis", redis.ConnectionString), ("Service:Role", role), .. Fast]);

    /// <summary>A host that has started (its workers claim jobs from now on).</summary>
    static WebApplicationFactory<Program> Started(WebApplicationFactory<Program> host)
    {
        _ = host.Services;
        return host;
    }

    /// <summary>A least-squares fit over 4000 rows for a fixed number of iterations: deterministic, and a few seconds long.</summary>
    static string Fit(string optimizer, int maxIterations, int recordEvery = 10, int? batchSize = null)
    {
        const int rows = 4000;
        var d = Enumerable.Range(0, rows).Select(i => i / (double)rows).ToArray();
        var y = d.Select((v, i) => 2 * v + 0.1 + 0.01 * Math.Sin(i)).ToArray();
        var body = JsonNode.Parse($$"""
            {"expression": "mean((y - p*d - q)^2)", "parameters": {"p": 0, "q": 0}, "data": {"d": {{Api.Numbers(d)}}, "y": {{Api.Numbers(y)}}},
             "optimizer": {{optimizer}}, "maxIterations": {{maxIterations}}, "recordEvery": {{recordEvery}}}
            """)!.AsObject();
        if (batchSize is { } size)
        {
            body["batchSize"] = size;
            body["shuffle"] = true;
            body["seed"] = 7;
        }
        return body.ToJsonString();
    }

    /// <summary>A queued job whose stored spec no worker can read fails, with the reason, instead of being claimed forever.</summary>
    [Fact]
    public async Task AJobWhoseStoredSpecCannotBeReadFailsAndSaysWhy()
    {
        using var timeout = Jobs.Timeout(60);
        using var api = Host("api");
        var client = api.CreateClient();
        var job = await Jobs.Start(client, Fit("""{"type": "sgd", "learningRate": 0.1}""", 10), timeout.Token);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        await connection.GetDatabase().StringSetAsync("autograd:spec:" + job.Id, "{\"id\": 12, not json");

        using var worker = Started(Host("worker"));
        var failed = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Failed, failed.Status);
        Assert.Contains("stored description could not be read back", failed.Message);
        var events = await Jobs.ReadAll(client, job.Id, timeout.Token);
        Assert.Equal(JobStatus.Failed, events[^1].Completed.Status);
    }

    [Fact]
    public async Task TwoApiHostsAndTwoWorkersShareJobsStreamsAndCancellation()
    {
        using var a = Host("api");
        using var b = Host("api");
        using var w1 = Started(Host("worker"));
        using var w2 = Started(Host("worker"));
        using var timeout = Jobs.Timeout(120);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());

        var job = await Jobs.Start(clientA, Fit("""{"type": "sgd", "learningRate": 0.001}""", 20000, recordEvery: 20), timeout.Token);
        var seen = new List<SseEvent>();
        seen.AddRange(await Jobs.ReadSome(clientB, job.Id, 40, timeout.Token));
        seen.AddRange(await Jobs.ReadSome(clientA, job.Id, 40, timeout.Token, lastEventId: seen[^1].Id));
        seen.AddRange(await Jobs.ReadAll(clientB, job.Id, timeout.Token, lastEventId: seen[^1].Id));
        var numbers = seen.Iterations().Select(p => p.Iteration).ToList();
        Assert.Equal([1, .. Enumerable.Range(1, 1000).Select(i => 20 * i)], numbers);

        var fromA = await Jobs.Get(clientA, job.Id, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, fromA.Status);
        Assert.Equal(JsonSerializer.Serialize(fromA, Api.Json), JsonSerializer.Serialize(await Jobs.Get(clientB, job.Id, timeout.Token), Api.Json));
        var trace = await Datasets.TraceJson(clientA, job.Id, timeout.Token);
        Assert.Equal(trace, await Datasets.TraceJson(clientB, job.Id, timeout.Token));
        Assert.Equal(numbers, Datasets.Trace(trace).Select(p => p.Iteration));
        var listed = JsonSerializer.Deserialize<MinimizeJob[]>(await clientB.GetStringAsync("/minimize", timeout.Token), Api.Json)!;
        Assert.Contains(listed, j => j.Id == job.Id && j.Status == JobStatus.Succeeded);

        // A long job cancelled through the host that did not accept it, twice: it stops on its worker, once.
        var running = await Jobs.Start(clientB, Fit("""{"type": "sgd", "learningRate": 1e-7}""", 1_000_000), timeout.Token);
        await Jobs.WaitUntilRunning(clientA, running.Id, timeout.Token);
        using (var first = await clientA.DeleteAsync($"/minimize/{running.Id}", timeout.Token)) Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        using (var second = await clientB.DeleteAsync($"/minimize/{running.Id}", timeout.Token)) Assert.Equal(HttpStatusCode.OK, second.StatusCode);
        var events = await Jobs.ReadAll(clientA, running.Id, timeout.Token);
        Assert.Equal(JobStatus.Cancelled, events[^1].Completed.Status);
        var cancelled = await Jobs.WaitFor(clientB, running.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        Assert.True(cancelled.Iteration > 0);
    }

    public static TheoryData<string, string, int, int?> KillCases() => new()
    {
        { "sgd", """{"type": "sgd", "learningRate": 0.001, "momentum": 0.9}""", 30000, null },
        { "adam", """{"type": "adam", "learningRate": 0.0001}""", 30000, null },
        { "lbfgs", """{"type": "lbfgs", "learningRate": 0.0001, "lineSearch": "none", "historySize": 5}""", 30000, null },
        { "shuffled mini-batches", """{"type": "sgd", "learningRate": 0.001}""", 120000, 64 },
    };

    [Theory]
    [MemberData(nameof(KillCases))]
    public async Task AWorkerKilledMidRunIsTakenOverFromItsCheckpointWithTheUninterruptedBits(string name, string optimizer, int iterations, int? batchSize)
    {
        var body = Fit(optimizer, iterations, recordEvery: 10, batchSize);
        using var timeout = Jobs.Timeout(240);

        // The uninterrupted run, in a service of its own.
        using var memory = new AutogradApiFactory();
        var reference = await Jobs.Start(memory.CreateClient(), body, timeout.Token);
        var referenceTrace = Datasets.Trace(await TraceWhenFinished(memory.CreateClient(), reference.Id, timeout.Token));
        var referenceJob = await Jobs.Get(memory.CreateClient(), reference.Id, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, referenceJob.Status);

        using var api = Host("api");
        var client = api.CreateClient();
        using var doomed = WorkerProcess.Start(redis.ConnectionString, Fast);
        var job = await Jobs.Start(client, body, timeout.Token);
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var checkpoint = (RedisKey)("autograd:checkpoint:" + job.Id);
        // Killed once it has saved a checkpoint and is still running.
        while (!await connection.GetDatabase().KeyExistsAsync(checkpoint)) await Task.Delay(20, timeout.Token);
        var atKill = await Jobs.Get(client, job.Id, timeout.Token);
        doomed.Kill();
        Assert.Null(atKill.FinishedAt);

        using var survivor = Started(Host("worker"));
        var events = await Jobs.ReadAll(client, job.Id, timeout.Token);
        var finished = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.True(finished.Status == JobStatus.Succeeded, $"{name}: {finished.Status}, {finished.Message}");
        Assert.Equal(referenceJob.Iteration, finished.Iteration);
        Assert.Equal(referenceJob.StopReason, finished.StopReason);
        var streamed = events.Iterations();
        Assert.Equal(referenceTrace.Select(p => p.Iteration), streamed.Select(p => p.Iteration));
        Assert.Equal(referenceTrace.Select(p => Bits(p.Value)), streamed.Select(p => Bits(p.Value)));
        foreach (var parameter in new[] { "p", "q" })
            Assert.Equal(Bits(referenceJob.Parameters![parameter].Values[0]), Bits(finished.Parameters![parameter].Values[0]));
        Assert.Equal(Bits(referenceJob.Value!.Value), Bits(finished.Value!.Value));
        Assert.Equal(JsonSerializer.Serialize(referenceJob.Fit, Api.Json), JsonSerializer.Serialize(finished.Fit, Api.Json));
    }

    static async Task<string> TraceWhenFinished(HttpClient client, string id, CancellationToken cancellation)
    {
        await Jobs.ReadAll(client, id, cancellation);
        return await Datasets.TraceJson(client, id, cancellation);
    }

    static long Bits(double value) => BitConverter.DoubleToInt64Bits(value);

    [Fact]
    public async Task AWorkerWhoseClaimWasTakenOverCannotWriteAnyMore()
    {
        using var api = Host("api");
        using var timeout = Jobs.Timeout(60);
        var client = api.CreateClient();
        var job = await Jobs.Start(client, Fit("""{"type": "sgd", "learningRate": 0.001}""", 100), timeout.Token);
        var queue = api.Services.GetRequiredService<SharedQueue>().Queue!;
        var lifecycle = api.Services.GetRequiredService<JobLifecycle>();

        var first = await ClaimAsync(queue, "paused-worker", job.Id, timeout.Token);
        Assert.Equal(1, first.Epoch);
        // The first worker pauses past its lease; another takes the job over.
        var second = await ClaimAsync(queue, "other-worker", job.Id, timeout.Token);
        Assert.Equal(2, second.Epoch);
        Assert.Null(second.Checkpoint);

        AppendIteration(queue.FencedEvents(first), 5);
        Assert.Equal(LeaseState.Lost, queue.Renew(first, "paused-worker"));
        Assert.False(queue.SaveCheckpoint(first, new MinimizerCheckpoint(5, [0, 0], [0, 0], 1, 1, 1, 0, 0, new OptimizerState("sgd"), null)));
        Assert.False(lifecycle.FinishedUnder(queue, first, "sgd", new MinimizeCompleted
        {
            Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false, Iterations = 5, Message = "written by the paused worker",
        }));
        Assert.Equal(LeaseState.Held, queue.Renew(second, "other-worker"));
        AppendIteration(queue.FencedEvents(second), 1);
        Assert.True(lifecycle.FinishedUnder(queue, second, "sgd", new MinimizeCompleted
        {
            Status = JobStatus.Succeeded, StopReason = StopReasonCode.MaxIterations, Converged = false, Iterations = 1, Message = "written by the other worker",
        }));
        Assert.False(lifecycle.FinishedUnder(queue, first, "sgd", new MinimizeCompleted
        {
            Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false, Iterations = 5, Message = "written by the paused worker",
        }));

        var events = await Jobs.ReadAll(client, job.Id, timeout.Token);
        Assert.Equal([1], events.Iterations().Select(p => p.Iteration));
        Assert.Equal("written by the other worker", events[^1].Completed.Message);
        var finished = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.Equal((JobStatus.Succeeded, "written by the other worker"), (finished.Status, finished.Message));
    }

    /// <summary>Claims until this job comes up (its lease having expired if another worker held it).</summary>
    static async Task<JobClaim> ClaimAsync(IJobQueue queue, string worker, string id, CancellationToken cancellation)
    {
        while (true)
        {
            if (queue.Claim(worker) is { } claim && claim.Spec.Id == id) return claim;
            await Task.Delay(50, cancellation);
        }
    }

    static void AppendIteration(IEventLog log, int iteration)
    {
        var frame = System.Text.Encoding.UTF8.GetBytes($"id: {iteration}\nevent: iteration\ndata: {{\"iteration\":{iteration},\"value\":1,\"gradientNorm\":1,\"parameters\":{{}}}}\n\n");
        log.Append(EventKind.Iteration, iteration, frame, frame.AsSpan().IndexOf("{"u8));
        // Appends are fire-and-forget and keep their order on the connection: a read after this sees it or its refusal.
    }

    [Fact]
    public async Task AfterEveryProcessRestartsFinishedJobsTracesAndDatasetsRemainAndAQueuedJobRuns()
    {
        using var timeout = Jobs.Timeout(120);
        string finishedId, queuedId, datasetId, trace;
        MinimizeJob finishedBefore;
        using (var api = Host("api"))
        using (var worker = Started(Host("worker")))
        {
            var client = api.CreateClient();
            datasetId = (await Datasets.CreateCsv(client, "x,y\n0,1\n1,3\n2,5\n3,7\n", timeout.Token)).Id;
            var done = await Jobs.Start(client, Jobs.Tutorial(), timeout.Token);
            await Jobs.ReadAll(client, done.Id, timeout.Token);
            finishedId = done.Id;
            finishedBefore = await Jobs.Get(client, finishedId, timeout.Token);
            trace = await Datasets.TraceJson(client, finishedId, timeout.Token);
        }
        using (var api = Host("api"))
        {
            // No worker runs now: the job waits in the queue while every process is gone.
            var queued = await Jobs.Start(api.CreateClient(), $$"""
                {"model": "b0 + b1*x", "target": "y", "dataset": "{{datasetId}}", "parameters": {"b0": 0, "b1": 0},
                 "optimizer": {"type": "lbfgs"}, "maxIterations": 100}
                """, timeout.Token);
            queuedId = queued.Id;
        }

        using var apiAgain = Host("api");
        using var workerAgain = Started(Host("worker"));
        var again = apiAgain.CreateClient();
        Assert.Equal(JsonSerializer.Serialize(finishedBefore, Api.Json), JsonSerializer.Serialize(await Jobs.Get(again, finishedId, timeout.Token), Api.Json));
        Assert.Equal(trace, await Datasets.TraceJson(again, finishedId, timeout.Token));
        Assert.Equal(4, (await Datasets.Get(again, datasetId, timeout.Token)).Rows);
        var ran = await Jobs.WaitFor(again, queuedId, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, ran.Status);
        Jobs.Relative(1, ran.Parameters!["b0"].Values[0], 1e-6, "b0");
        Jobs.Relative(2, ran.Parameters!["b1"].Values[0], 1e-6, "b1");
    }
}

/// <summary>The service as a real process in the worker role, for a test to kill without a graceful shutdown (SIGKILL).</summary>
sealed class WorkerProcess : IDisposable
{
    readonly Process _process;

    WorkerProcess(Process process) => _process = process;

    public static WorkerProcess Start(string redis, IEnumerable<(string Key, string Value)> settings)
    {
        var directory = AppContext.BaseDirectory;
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = directory, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(Path.Combine(directory, "Autograd.Api.dll"));
        start.Environment["ASPNETCORE_URLS"] = "http://127.0.0.1:0";
        start.Environment["ASPNETCORE_ENVIRONMENT"] = AutogradApiFactory.EnvironmentName;
        start.Environment["Store__Redis"] = redis;
        start.Environment["Service__Role"] = "worker";
        start.Environment["Serilog__MinimumLevel__Default"] = "Warning";
        foreach (var (key, value) in settings) start.Environment[key.Replace(":", "__")] = value;
        var process = Process.Start(start)!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new WorkerProcess(process);
    }

    /// <summary>SIGKILL: no shutdown code runs.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit();
    }

    public void Dispose()
    {
        if (!_process.HasExited) Kill();
        _process.Dispose();
    }
}
