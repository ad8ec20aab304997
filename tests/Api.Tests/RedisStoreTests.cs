using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Tests;

/// <summary>
/// Two API hosts on one real Redis (<c>Store:Redis</c>) share jobs, event streams and datasets, and a host started
/// after both are gone finds the finished work. A job runs on whichever host's worker claims it from the shared
/// queue; everything else is answered by whichever host is asked.
/// </summary>
public sealed class RedisStoreTests(RedisServer redis) : IClassFixture<RedisServer>
{
    WebApplicationFactory<Program> Host() => new AutogradApiFactory().WithSettings(("Store:Redis", redis.ConnectionString));

    [Fact]
    public async Task JobPostedToOneHostIsReadListedStreamedAndTracedFromTheOther()
    {
        using var a = Host();
        using var b = Host();
        using var timeout = Jobs.Timeout(60);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());

        var job = await Jobs.Start(clientA, Jobs.Tutorial(), timeout.Token);
        var finished = await Jobs.WaitFor(clientB, job.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal(1000, finished.Iteration);

        var listed = JsonSerializer.Deserialize<MinimizeJob[]>(await clientB.GetStringAsync("/minimize", timeout.Token), Api.Json)!;
        Assert.Contains(listed, j => j.Id == job.Id && j.Status == JobStatus.Succeeded);

        var events = await Jobs.ReadAll(clientB, job.Id, timeout.Token);
        var iterations = events.Iterations();
        Assert.Equal(Enumerable.Range(1, 1000), iterations.Select(p => p.Iteration));
        Assert.Equal(events.Where(e => e.Type == "iteration").Select(e => e.Id), iterations.Select(p => p.Iteration.ToString()));
        Assert.Equal(JobStatus.Succeeded, events[^1].Completed.Status);

        var traceB = await Datasets.TraceJson(clientB, job.Id, timeout.Token);
        Assert.Equal(await Datasets.TraceJson(clientA, job.Id, timeout.Token), traceB);
        var trace = Datasets.Trace(traceB);
        Assert.Equal(iterations.Select(p => p.Value), trace.Select(p => p.Value));
        Assert.Equal(finished.Parameters!["x"].Values, (await Jobs.Get(clientA, job.Id, timeout.Token)).Parameters!["x"].Values);
    }

    /// <summary>A race and a bounded fit (work that saves no checkpoints) run from the shared queue as they run in memory.</summary>
    [Fact]
    public async Task ARaceAndABoundedFitRunFromTheSharedQueueAsInMemory()
    {
        using var a = Host();
        using var b = Host();
        using var memory = new AutogradApiFactory();
        using var timeout = Jobs.Timeout(60);
        var race = Jobs.Tutorial(("optimizer", null), ("maxIterations", 50),
            ("optimizers", JsonNode.Parse("""[{"type": "sgd", "learningRate": 0.001}, {"type": "adam", "learningRate": 0.05}]""")));
        var bounded = Jobs.Tutorial(("optimizer", JsonNode.Parse("""{"type": "lbfgs"}""")), ("maxIterations", 50),
            ("bounds", JsonNode.Parse("""{"x": {"max": [0.5, 2]}}""")));
        foreach (var request in new[] { race, bounded })
        {
            var job = await Jobs.Start(a.CreateClient(), request, timeout.Token);
            var shared = await Jobs.WaitFor(b.CreateClient(), job.Id, j => j.FinishedAt is not null, timeout.Token);
            var alone = await Datasets.RunOk(memory.CreateClient(), request, timeout.Token);
            Assert.True(shared.Status == JobStatus.Succeeded, shared.Message);
            Assert.Equal(alone.Parameters!["x"].Values, shared.Parameters!["x"].Values);
            Assert.Equal(alone.Race?.Select(r => (r.Run, r.Rank)), shared.Race?.Select(r => (r.Run, r.Rank)));
        }
    }

    [Fact]
    public async Task StreamResumedOnTheOtherHostMidRunSeesEveryIterationExactlyOnce()
    {
        using var a = Host();
        using var b = Host();
        using var timeout = Jobs.Timeout(90);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());

        var job = await Jobs.Start(clientA, Jobs.Timed(4, recordEvery: 10), timeout.Token);
        var seen = new List<SseEvent>();
        seen.AddRange(await Jobs.ReadSome(clientA, job.Id, 30, timeout.Token));
        Assert.Null((await Jobs.Get(clientB, job.Id, timeout.Token)).FinishedAt);
        seen.AddRange(await Jobs.ReadSome(clientB, job.Id, 30, timeout.Token, lastEventId: seen[^1].Id));
        Assert.Null((await Jobs.Get(clientA, job.Id, timeout.Token)).FinishedAt);
        seen.AddRange(await Jobs.ReadAll(clientA, job.Id, timeout.Token, lastEventId: seen[^1].Id));

        var numbers = seen.Iterations().Select(p => p.Iteration).ToList();
        Assert.Equal(numbers.Distinct().Count(), numbers.Count);
        Assert.True(numbers.SequenceEqual(numbers.Order()), "iterations arrive in order");
        var trace = Datasets.Trace(await Datasets.TraceJson(clientB, job.Id, timeout.Token));
        Assert.Equal(trace.Select(p => p.Iteration), numbers);
        Assert.True(numbers.Count > 60, $"the run recorded {numbers.Count} iterations, more than were read before the switches");
        Assert.Equal("completed", seen[^1].Type);
    }

    [Fact]
    public async Task JobCancelledOnTheOtherHostStopsAndItsStreamSaysSo()
    {
        using var a = Host();
        using var b = Host();
        using var timeout = Jobs.Timeout(60);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());

        var job = await Jobs.Start(clientA, Jobs.Long(), timeout.Token);
        try
        {
            await Jobs.WaitUntilRunning(clientB, job.Id, timeout.Token);
            var stream = Jobs.ReadAll(clientA, job.Id, timeout.Token);
            using (var cancel = await clientB.DeleteAsync($"/minimize/{job.Id}", timeout.Token))
                Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            var cancelled = await Jobs.WaitFor(clientB, job.Id, j => j.FinishedAt is not null, timeout.Token);
            Assert.Equal(JobStatus.Cancelled, cancelled.Status);
            Assert.Equal(JobStatus.Cancelled, (await stream)[^1].Completed.Status);
            // Idempotent, from either host.
            using var again = await clientA.DeleteAsync($"/minimize/{job.Id}", timeout.Token);
            Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        }
        finally
        {
            await Jobs.CancelQuietly(clientA, job.Id);
        }
    }

    [Fact]
    public async Task DatasetStoredThroughOneHostIsFittedListedAndDeletedThroughTheOther()
    {
        using var a = Host();
        using var b = Host();
        using var timeout = Jobs.Timeout(60);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());

        var csv = Datasets.Utf8Csv(500, seed: 11, out var x, out _);
        using var posted = await Datasets.PostBytes(clientA, csv.WrittenMemory, "text/csv", timeout.Token);
        var created = await Datasets.ReadCreated(posted, timeout.Token);
        var info = await Datasets.Get(clientB, created.Id, timeout.Token);
        Assert.Equal(500, info.Rows);
        Assert.Equal(x.Min(), info.Columns.Single(c => c.Name == "x").Min);
        Assert.Contains(JsonSerializer.Deserialize<DatasetInfo[]>(await clientB.GetStringAsync("/datasets", timeout.Token), Api.Json)!,
            d => d.Id == created.Id);

        var fitted = await Datasets.RunOk(clientB, Datasets.LabFit(created.Id, Datasets.Sgd(0.1), 2000), timeout.Token);
        Assert.Equal(created.Id, fitted.Dataset);
        Assert.InRange(fitted.Parameters!["b1"].Values[0], 0.5, 1.5);

        using (var deleted = await clientB.DeleteAsync($"/datasets/{created.Id}", timeout.Token))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        using var gone = await clientA.GetAsync($"/datasets/{created.Id}", timeout.Token);
        Assert.Equal(HttpStatusCode.NotFound, gone.StatusCode);
    }

    [Fact]
    public async Task ListingDatasetsReadsTheirStoredSummariesNotTheirColumns()
    {
        using var host = Host();
        using var timeout = Jobs.Timeout(60);
        var client = host.CreateClient();
        var csv = Datasets.Utf8Csv(300, seed: 5, out var x, out _);
        using var posted = await Datasets.PostBytes(client, csv.WrittenMemory, "text/csv", timeout.Token);
        var created = await Datasets.ReadCreated(posted, timeout.Token);
        var single = JsonSerializer.Serialize(await Datasets.Get(client, created.Id, timeout.Token), Api.Json);
        Assert.Equal(x.Max(), (await Datasets.Get(client, created.Id, timeout.Token)).Columns.Single(c => c.Name == "x").Max);

        async Task<string> Listed() =>
            JsonSerializer.Serialize(JsonSerializer.Deserialize<DatasetInfo[]>(await client.GetStringAsync("/datasets", timeout.Token), Api.Json)!
                .Single(d => d.Id == created.Id), Api.Json);
        Assert.Equal(single, await Listed());

        using var connection = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(redis.ConnectionString);
        var database = connection.GetDatabase();
        var key = "autograd:dataset:" + created.Id;
        // Columns unreadable: the listing never touches them.
        var column = await database.HashGetAsync(key, "c0");
        await database.HashSetAsync(key, "c0", new byte[] { 1, 2, 3 });
        Assert.Equal(single, await Listed());

        // A dataset stored before summaries were kept (no summary, no size) is summarised from its columns and deleted in full.
        await database.HashSetAsync(key, "c0", column);
        await database.HashDeleteAsync(key, ["info", "bytes"]);
        Assert.Equal(single, await Listed());
        var totalBefore = (long)await database.StringGetAsync("autograd:datasets:bytes");
        using (var deleted = await client.DeleteAsync($"/datasets/{created.Id}", timeout.Token))
            Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        Assert.Equal(totalBefore - 300 * 2 * sizeof(double), (long)await database.StringGetAsync("autograd:datasets:bytes"));
        Assert.DoesNotContain(created.Id, await client.GetStringAsync("/datasets", timeout.Token));
    }

    [Fact]
    public async Task FinishedJobsTracesAndDatasetsOutliveEveryHost()
    {
        using var timeout = Jobs.Timeout(60);
        MinimizeJob finished;
        string trace, datasetId;
        using (var a = Host())
        using (var b = Host())
        {
            var (clientA, clientB) = (a.CreateClient(), b.CreateClient());
            datasetId = (await Datasets.CreateCsv(clientA, "x,y\n0,1\n1,2\n2,3.1\n3,3.9\n", timeout.Token)).Id;
            finished = await Datasets.RunOk(clientB, Datasets.LabFit(datasetId, Datasets.Sgd(0.05), 500), timeout.Token);
            trace = await Datasets.TraceJson(clientB, finished.Id, timeout.Token);
        }

        using var c = Host();
        var client = c.CreateClient();
        var again = await Jobs.Get(client, finished.Id, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, again.Status);
        Assert.Equal(finished.Parameters!["b0"].Values, again.Parameters!["b0"].Values);
        Assert.Equal(finished.FinishedAt, again.FinishedAt);
        Assert.Equal(trace, await Datasets.TraceJson(client, finished.Id, timeout.Token));
        var events = await Jobs.ReadAll(client, finished.Id, timeout.Token);
        Assert.Equal(500, events.Iterations().Count);
        Assert.Equal(4, (await Datasets.Get(client, datasetId, timeout.Token)).Rows);
    }

    [Fact]
    public async Task DecimatedLogIsThinnedInRedisAsInMemory()
    {
        using var memory = new AutogradApiFactory().WithSettings(("Minimize:MaxEventsPerJob", "100"));
        // Either host's worker may run the job from the shared queue: both have the cap.
        using var a = new AutogradApiFactory().WithSettings(("Store:Redis", redis.ConnectionString), ("Minimize:MaxEventsPerJob", "100"));
        using var b = new AutogradApiFactory().WithSettings(("Store:Redis", redis.ConnectionString), ("Minimize:MaxEventsPerJob", "100"));
        using var timeout = Jobs.Timeout(60);
        var body = Jobs.Tutorial(("includeGradient", null));

        var inMemory = await Jobs.Start(memory.CreateClient(), body, timeout.Token);
        await Jobs.ReadAll(memory.CreateClient(), inMemory.Id, timeout.Token);
        var job = await Jobs.Start(a.CreateClient(), body, timeout.Token);
        var live = await Jobs.ReadAll(b.CreateClient(), job.Id, timeout.Token);

        var trace = await Datasets.TraceJson(b.CreateClient(), job.Id, timeout.Token);
        Assert.Equal(await Datasets.TraceJson(memory.CreateClient(), inMemory.Id, timeout.Token), trace);
        var finished = await Jobs.Get(b.CreateClient(), job.Id, timeout.Token);
        Assert.True(finished.Decimated);
        Assert.Equal(finished.RecordedIterations, Datasets.Trace(trace).Length);
        var numbers = live.Iterations().Select(p => p.Iteration).ToList();
        Assert.True(numbers.SequenceEqual(numbers.Order()) && numbers.Distinct().Count() == numbers.Count, "iterations strictly increase");
        Assert.Equal(1000, numbers[^1]);
        var late = await Jobs.ReadAll(a.CreateClient(), job.Id, timeout.Token);
        Assert.Equal(Datasets.Trace(trace).Select(p => p.Iteration), late.Iterations().Select(p => p.Iteration));
        Assert.Contains(late, e => e.Type == "decimated");
    }

    [Fact]
    public async Task WithApiKeysAJobAndADatasetBelongToTheirKeyOnEveryHost()
    {
        const string keyA = "redis-key-of-team-a", keyB = "redis-key-of-team-b";
        static string Hash(string key) =>
            Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(key))).ToLowerInvariant();
        (string, string)[] settings =
        [
            ("Store:Redis", redis.ConnectionString),
            ("Auth:ApiKeys:0:Name", "redis-team-a"), ("Auth:ApiKeys:0:Sha256", Hash(keyA)),
            ("Auth:ApiKeys:1:Name", "redis-team-b"), ("Auth:ApiKeys:1:Sha256", Hash(keyB)),
        ];
        using var a = new AutogradApiFactory().WithSettings(settings);
        using var b = new AutogradApiFactory().WithSettings(settings);
        using var timeout = Jobs.Timeout(60);
        HttpClient Client(WebApplicationFactory<Program> host, string key)
        {
            var client = host.CreateClient();
            client.DefaultRequestHeaders.Add("X-Api-Key", key);
            return client;
        }
        var (ownerOnA, ownerOnB, otherOnB) = (Client(a, keyA), Client(b, keyA), Client(b, keyB));

        var dataset = await Datasets.CreateCsv(ownerOnA, "x,y\n0,1\n1,2\n2,3\n", timeout.Token);
        var job = await Datasets.RunOk(ownerOnA, Datasets.LabFit(dataset.Id, Datasets.Sgd(0.05), 50), timeout.Token);

        Assert.Equal(JobStatus.Succeeded, (await Jobs.Get(ownerOnB, job.Id, timeout.Token)).Status);
        Assert.Equal(3, (await Datasets.Get(ownerOnB, dataset.Id, timeout.Token)).Rows);
        foreach (var path in new[] { $"/minimize/{job.Id}", $"/minimize/{job.Id}/trace", $"/minimize/{job.Id}/events", $"/datasets/{dataset.Id}" })
        {
            using var response = await otherOnB.GetAsync(path, timeout.Token);
            Assert.True(response.StatusCode == HttpStatusCode.NotFound, $"{path} for another key: expected 404, got {(int)response.StatusCode}");
        }
        using (var cancel = await otherOnB.DeleteAsync($"/minimize/{job.Id}", timeout.Token))
            Assert.Equal(HttpStatusCode.NotFound, cancel.StatusCode);
        Assert.DoesNotContain(JsonSerializer.Deserialize<MinimizeJob[]>(await otherOnB.GetStringAsync("/minimize", timeout.Token), Api.Json)!,
            j => j.Id == job.Id);
        Assert.Contains(JsonSerializer.Deserialize<MinimizeJob[]>(await ownerOnB.GetStringAsync("/minimize", timeout.Token), Api.Json)!,
            j => j.Id == job.Id);
        Assert.DoesNotContain(JsonSerializer.Deserialize<DatasetInfo[]>(await otherOnB.GetStringAsync("/datasets", timeout.Token), Api.Json)!,
            d => d.Id == dataset.Id);
    }

    [Fact]
    public async Task UnknownJobIsNotFoundOnEveryHost()
    {
        using var a = Host();
        using var timeout = Jobs.Timeout();
        using var response = await a.CreateClient().GetAsync("/minimize/0123456789abcdef0123456789abcdef/events", timeout.Token);
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
    }
}

/// <summary>
/// Redis stopping under a running host: readiness fails, requests that need the store answer 503 problems with
/// Retry-After, open streams end, the process lives on, and it is ready again once Redis is back. A class of its
/// own, with its own Redis, because it stops the server.
/// </summary>
public sealed class RedisOutageTests : IDisposable
{
    readonly RedisServer _redis = new();

    public void Dispose() => _redis.Dispose();

    [Fact]
    public async Task RedisStoppingMidRunGives503sAndNotReadyAndTheHostRecovers()
    {
        using var host = new AutogradApiFactory().WithSettings(("Store:Redis", _redis.ConnectionString));
        using var timeout = Jobs.Timeout(90);
        var client = host.CreateClient();
        using (var ready = await client.GetAsync("/health/ready", timeout.Token))
            Assert.Equal(HttpStatusCode.OK, ready.StatusCode);

        var job = await Jobs.Start(client, Jobs.Long(recordEvery: 10), timeout.Token);
        await Jobs.WaitUntilRunning(client, job.Id, timeout.Token);
        // A subscriber that is following the job when Redis goes away.
        var events = Jobs.Events(client, job.Id, cancellation: timeout.Token).GetAsyncEnumerator(timeout.Token);
        Assert.True(await events.MoveNextAsync());
        var stream = Task.Run(async () =>
        {
            try
            {
                while (await events.MoveNextAsync())
                {
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                // The host let go of the stream: what a client sees when the store goes away.
            }
            finally
            {
                await events.DisposeAsync();
            }
        });

        _redis.Stop();

        await Poll(async () =>
        {
            using var ready = await client.GetAsync("/health/ready", timeout.Token);
            return ready.StatusCode == HttpStatusCode.ServiceUnavailable;
        }, timeout.Token);
        foreach (var request in new Func<Task<HttpResponseMessage>>[]
                 {
                     () => client.GetAsync($"/minimize/{job.Id}", timeout.Token),
                     () => client.GetAsync("/minimize", timeout.Token),
                     () => client.GetAsync($"/minimize/{job.Id}/events", timeout.Token),
                     () => client.GetAsync("/datasets", timeout.Token),
                     () => Jobs.Post(client, Jobs.Tutorial(), timeout.Token),
                     () => client.PostAsync("/datasets", new StringContent("x,y\n1,2\n", Encoding.UTF8, "text/csv"), timeout.Token),
                 })
        {
            using var response = await request();
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            Assert.True(response.StatusCode == HttpStatusCode.ServiceUnavailable, $"Expected 503, got {(int)response.StatusCode}: {body}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            Assert.Equal("store-unavailable", JsonDocument.Parse(body).RootElement.GetProperty("code").GetString());
            Assert.NotNull(response.Headers.RetryAfter);
        }
        await stream.WaitAsync(timeout.Token);
        using (var live = await client.GetAsync("/health/live", timeout.Token))
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);

        _redis.Start();
        await Poll(async () =>
        {
            using var ready = await client.GetAsync("/health/ready", timeout.Token);
            return ready.StatusCode == HttpStatusCode.OK;
        }, timeout.Token);
        var after = await Datasets.RunOk(client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        Assert.Equal(10, after.Iteration);
    }

    [Fact]
    public async Task HostsStartedWhileRedisIsDownAreNotReadyUntilItComesAndThenShareJobs()
    {
        _redis.Stop();
        using var a = new AutogradApiFactory().WithSettings(("Store:Redis", _redis.ConnectionString));
        using var b = new AutogradApiFactory().WithSettings(("Store:Redis", _redis.ConnectionString));
        using var timeout = Jobs.Timeout(90);
        var (clientA, clientB) = (a.CreateClient(), b.CreateClient());
        foreach (var client in new[] { clientA, clientB })
        {
            using var ready = await client.GetAsync("/health/ready", timeout.Token);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready.StatusCode);
            using var live = await client.GetAsync("/health/live", timeout.Token);
            Assert.Equal(HttpStatusCode.OK, live.StatusCode);
        }

        _redis.Start();
        foreach (var client in new[] { clientA, clientB })
            await Poll(async () =>
            {
                using var ready = await client.GetAsync("/health/ready", timeout.Token);
                return ready.StatusCode == HttpStatusCode.OK;
            }, timeout.Token);

        // Cancelling on B reaches A only through the subscription made while Redis was down.
        var job = await Jobs.Start(clientA, Jobs.Long(), timeout.Token);
        try
        {
            await Jobs.WaitUntilRunning(clientB, job.Id, timeout.Token);
            using (var cancel = await clientB.DeleteAsync($"/minimize/{job.Id}", timeout.Token))
                Assert.Equal(HttpStatusCode.OK, cancel.StatusCode);
            var cancelled = await Jobs.WaitFor(clientB, job.Id, j => j.FinishedAt is not null, timeout.Token);
            Assert.Equal(JobStatus.Cancelled, cancelled.Status);
        }
        finally
        {
            await Jobs.CancelQuietly(clientA, job.Id);
        }
    }

    static async Task Poll(Func<Task<bool>> condition, CancellationToken cancellation)
    {
        while (!await condition()) await Task.Delay(50, cancellation);
    }
}
