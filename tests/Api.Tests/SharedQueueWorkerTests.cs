using System.Net;
using System.Text.Json;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using StackExchange.Redis;

namespace Autograd.Api.Tests;

/// <summary>
/// What a worker of the shared queue (a real Redis) writes and holds: a worker whose claim was taken over cannot write the
/// job's progress into its record; a job's data and tape are charged to the memory budget of the worker that runs it,
/// and a job that does not fit a worker's budget is handed back for another; and a job accepted by one replica is
/// exported by another. Leases are one second; the tests wait for conditions and time nothing.
/// </summary>
public sealed class SharedQueueWorkerTests(RedisServer redis) : IClassFixture<RedisServer>
{
    static readonly (string, string)[] Fast =
    [
        ("Service:LeaseSeconds", "1"), ("Service:CheckpointSeconds", "0.2"), ("Service:PollSeconds", "0.05"), ("Minimize:Workers", "1"),
    ];

    WebApplicationFactory<Program> Host(string role, params (string, string)[] settings) =>
        new AutogradApiFactory().WithSettings([("Store:Redis", redis.ConnectionString), ("Service:Role", role), .. Fast, .. settings]);

    static WebApplicationFactory<Program> Started(WebApplicationFactory<Program> host)
    {
        _ = host.Services;
        return host;
    }

    const int Rows = 4000;

    /// <summary>A least-squares fit over 4000 rows (64,000 bytes of data).</summary>
    static string Fit(double learningRate, int maxIterations)
    {
        var d = Enumerable.Range(0, Rows).Select(i => i / (double)Rows).ToArray();
        var y = d.Select(v => 2 * v + 0.1).ToArray();
        return $$"""
            {"expression": "mean((y - p*d - q)^2)", "parameters": {"p": 0, "q": 0}, "data": {"d": {{Api.Numbers(d)}}, "y": {{Api.Numbers(y)}}},
             "optimizer": {"type": "sgd", "learningRate": {{learningRate:R}}}, "maxIterations": {{maxIterations}}, "recordEvery": 100}
            """;
    }

    static async Task<JobClaim> ClaimAsync(IJobQueue queue, string worker, string id, CancellationToken cancellation)
    {
        while (true)
        {
            if (queue.Claim(worker) is { } claim && claim.Spec.Id == id) return claim;
            await Task.Delay(50, cancellation);
        }
    }

    [Fact]
    public async Task AWorkerWhoseClaimWasTakenOverCannotWriteTheJobsProgress()
    {
        using var api = Host("api");
        using var timeout = Jobs.Timeout(60);
        var client = api.CreateClient();
        var job = await Jobs.Start(client, Fit(0.001, 100), timeout.Token);
        var queue = api.Services.GetRequiredService<IJobQueue>();
        var lifecycle = api.Services.GetRequiredService<JobLifecycle>();
        Assert.True(queue.Shared);

        var first = await ClaimAsync(queue, "paused-worker", job.Id, timeout.Token);
        var second = await ClaimAsync(queue, "other-worker", job.Id, timeout.Token);
        Assert.Equal((1, 2), (first.Epoch, second.Epoch));

        JobProgress ProgressOf(JobClaim claim) => new(job.Id, change => queue.UpdateRecord(claim, change), queue.FencedEvents(claim),
            recordEvery: 1, maxEvents: 1000, maxBytes: 1 << 20, TimeProvider.System, Api.Json);
        var paused = ProgressOf(first);
        var holder = ProgressOf(second);

        // The paused worker's snapshot, start and direct write are refused: the record stays as accepted.
        paused.Snapshot(77, 0.5, 0.25, () => new Dictionary<string, NumberOrVector> { ["p"] = NumberOrVector.Scalar(7.0) }, force: true);
        lifecycle.Running(queue, first);
        Assert.False(queue.UpdateRecord(first, j => j with { Iteration = 78 }));
        var untouched = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.Equal((JobStatus.Queued, 0, (double?)null), (untouched.Status, untouched.Iteration, untouched.Value));
        Assert.Equal(0, untouched.Parameters!["p"].Values[0]);

        // The holder's are written; the paused worker's next snapshot still is not.
        lifecycle.Running(queue, second);
        holder.Snapshot(3, 0.125, 0.5, () => new Dictionary<string, NumberOrVector> { ["p"] = NumberOrVector.Scalar(0.75), ["q"] = NumberOrVector.Scalar(0.0) }, force: true);
        paused.Snapshot(99, 9.0, 9.0, () => new Dictionary<string, NumberOrVector> { ["p"] = NumberOrVector.Scalar(9.0) }, force: true);
        var progressed = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.Equal((JobStatus.Running, 3, (double?)0.125, 0.75), (progressed.Status, progressed.Iteration, progressed.Value, progressed.Parameters!["p"].Values[0]));

        Assert.True(lifecycle.FinishedUnder(queue, second, "sgd", new MinimizeCompleted
        {
            Status = JobStatus.Succeeded, StopReason = StopReasonCode.MaxIterations, Converged = false, Iterations = 3, Message = "written by the holder",
        }));
        Assert.False(queue.UpdateRecord(first, j => j with { Iteration = 100 }));
        Assert.Equal(3, (await Jobs.Get(client, job.Id, timeout.Token)).Iteration);
    }

    /// <summary>The bytes the job's data and tape take, as a translator (here one in memory) computes them.</summary>
    static long RetainedBytes(string body)
    {
        using var memory = new AutogradApiFactory();
        var request = JsonSerializer.Deserialize<MinimizeRequest>(body, Api.Json)!;
        var translation = memory.Services.GetRequiredService<MinimizeTranslator>().Translate(new MinimizeSpec("sizing", null, request, DateTimeOffset.UnixEpoch));
        translation.Work.Release();
        return translation.Work.RetainedBytes;
    }

    [Fact]
    public async Task AJobsDataAndTapeAreChargedToTheBudgetOfTheWorkerThatRunsItUntilItEnds()
    {
        using var timeout = Jobs.Timeout(120);
        var body = Fit(1e-7, 1_000_000);
        var bytes = RetainedBytes(body);
        Assert.True(bytes > 2 * Rows * sizeof(double), $"{bytes} bytes");

        using var api = Host("api");
        using var worker = Started(Host("worker"));
        var budget = worker.Services.GetRequiredService<MemoryBudget>();
        var idle = budget.Used;
        var client = api.CreateClient();
        var job = await Jobs.Start(client, body, timeout.Token);
        await Jobs.WaitUntilRunning(client, job.Id, timeout.Token);
        var running = budget.Used;
        using (var cancel = await client.DeleteAsync($"/minimize/{job.Id}", timeout.Token)) Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
        var ended = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Cancelled, ended.Status);
        // Released before the end is written; only a pooled tape (smaller than data and tape together) may stay charged.
        var after = budget.Used;

        Assert.True(running - idle >= bytes, $"{running - idle:N0} bytes charged while the job ran; it holds {bytes:N0}");
        Assert.True(after - idle < bytes, $"{after - idle:N0} bytes still charged after the job; it held {bytes:N0}");
    }

    [Fact]
    public async Task AJobThatDoesNotFitAWorkersBudgetIsHandedBackAndRunByAnotherWorker()
    {
        using var timeout = Jobs.Timeout(120);
        using var api = Host("api");
        var client = api.CreateClient();
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var database = connection.GetDatabase();

        using var small = Started(Host("worker", ("Memory:BudgetBytes", "20000")));
        var job = await Jobs.Start(client, Fit(0.5, 200), timeout.Token);
        // The small worker claimed it (the epoch counts claims), could not hold its 64,000 bytes of data, handed it back,
        // and claimed it again a lease later: twice, and the job never started (a job run to its end has the epoch 'done').
        async Task<long> Epoch()
        {
            var epoch = (string?)await database.StringGetAsync("autograd:epoch:" + job.Id);
            return long.TryParse(epoch, out var claims) ? claims : epoch is null ? 0 : long.MaxValue;
        }
        while (await Epoch() < 2) await Task.Delay(20, timeout.Token);
        Assert.NotEqual(long.MaxValue, await Epoch());
        var handedBack = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.Equal((JobStatus.Queued, (DateTimeOffset?)null), (handedBack.Status, handedBack.StartedAt));

        using var large = Started(Host("worker"));
        var finished = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.True(finished.Status == JobStatus.Succeeded, finished.Message);
        Assert.Equal(200, finished.Iteration);
    }

    [Fact]
    public async Task AJobAcceptedByOneReplicaIsExportedByAnother()
    {
        using var timeout = Jobs.Timeout(60);
        using var worker = Started(Host("worker"));
        using var a = Host("api");
        using var b = Host("api");
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());
        const string body = """
            {"expression": "mean((y - (b0 + b1*x))^2)", "parameters": {"b0": 0, "b1": 0}, "data": {"x": [0, 1, 2, 3], "y": [1, 3.5, 5, 7]},
             "optimizer": {"type": "sgd", "learningRate": 0.1, "momentum": 0.9}, "maxIterations": 50}
            """;
        var job = await Jobs.Start(clientA, body, timeout.Token);
        await Jobs.WaitFor(clientB, job.Id, j => j.FinishedAt is not null, timeout.Token);

        foreach (var path in new[] { $"/minimize/{job.Id}/export?lang=pytorch", $"/minimize/{job.Id}/export?lang=r-torch", $"/minimize/{job.Id}/export/data.csv" })
        {
            using var fromA = await clientA.GetAsync(path, timeout.Token);
            using var fromB = await clientB.GetAsync(path, timeout.Token);
            var textB = await fromB.Content.ReadAsStringAsync(timeout.Token);
            Assert.True(fromB.StatusCode == HttpStatusCode.OK, $"{path}: {(int)fromB.StatusCode} {textB}");
            Assert.Equal(HttpStatusCode.OK, fromA.StatusCode);
            Assert.Equal(await fromA.Content.ReadAsStringAsync(timeout.Token), textB);
        }
        var csv = await clientB.GetStringAsync($"/minimize/{job.Id}/export/data.csv", timeout.Token);
        Assert.Equal("x,y\n0,1\n1,3.5\n2,5\n3,7\n", csv);

        using var unknown = await clientB.GetAsync($"/minimize/{JobIds.New()}/export?lang=pytorch", timeout.Token);
        await Api.ReadProblem(unknown, 404, "job-not-found");
    }
}

/// <summary>
/// Minimize:MaxFinishedJobs on Redis: past it the oldest finished jobs go first (record, events and spec), as in memory.
/// A server of its own: the count is over every job in the store.
/// </summary>
public sealed class RedisRetentionTests(RedisServer redis) : IClassFixture<RedisServer>
{
    [Fact]
    public async Task PastMaxFinishedJobsTheOldestFinishedJobsAreForgotten()
    {
        using var timeout = Jobs.Timeout(120);
        using var host = new AutogradApiFactory().WithSettings(("Store:Redis", redis.ConnectionString), ("Minimize:MaxFinishedJobs", "2"),
            ("Service:PollSeconds", "0.05"));
        var client = host.CreateClient();
        using var connection = await ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var database = connection.GetDatabase();

        var ids = new List<string>();
        for (var i = 0; i < 4; i++)
        {
            var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 10 + i)), timeout.Token);
            var finished = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
            Assert.Equal(JobStatus.Succeeded, finished.Status);
            ids.Add(job.Id);
        }
        // The prune that follows the fourth job's end is sent after its record is written: wait for it, not for a time.
        while (await database.KeyExistsAsync("autograd:job:" + ids[1])) await Task.Delay(20, timeout.Token);

        foreach (var gone in ids.Take(2))
        {
            using var response = await client.GetAsync($"/minimize/{gone}", timeout.Token);
            await Api.ReadProblem(response, 404, "job-not-found");
            foreach (var key in new[] { "job:", "events:", "spec:" })
                Assert.False(await database.KeyExistsAsync("autograd:" + key + gone), key + gone);
        }
        foreach (var (kept, index) in ids.Skip(2).Select((id, i) => (id, i + 2)))
        {
            Assert.Equal(10 + index, (await Jobs.Get(client, kept, timeout.Token)).Iteration);
            Assert.Equal(10 + index, (await Jobs.ReadAll(client, kept, timeout.Token)).Iterations().Count);
        }
        var listed = JsonSerializer.Deserialize<MinimizeJob[]>(await client.GetStringAsync("/minimize", timeout.Token), Api.Json)!;
        Assert.Equal([ids[3], ids[2]], listed.Select(j => j.Id));
        Assert.Equal(2, await database.SortedSetLengthAsync("autograd:jobs:finished"));
    }
}
