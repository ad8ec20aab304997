using System.Net;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>One server-sent event as a client sees it.</summary>
internal sealed record SseEvent(string Type, string Data, string? Id)
{
    public MinimizeProgress Progress
    {
        get
        {
            Assert.Equal("iteration", Type);
            return JsonSerializer.Deserialize<MinimizeProgress>(Data, Api.Json)!;
        }
    }

    public MinimizeCompleted Completed
    {
        get
        {
            Assert.Equal("completed", Type);
            return JsonSerializer.Deserialize<MinimizeCompleted>(Data, Api.Json)!;
        }
    }

    public MinimizeDecimated Decimated
    {
        get
        {
            Assert.Equal("decimated", Type);
            return JsonSerializer.Deserialize<MinimizeDecimated>(Data, Api.Json)!;
        }
    }
}

/// <summary>Helpers for /minimize: request bodies, starting jobs, reading their event streams, cancelling.</summary>
internal static class Jobs
{
    /// <summary>The tutorial's run: sgd, learning rate 0.01, 1000 iterations on Rosenbrock a = 1, b = 5 from (-1, 1).</summary>
    public const string TutorialJson = """
        {"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 5},
         "optimizer": {"type": "sgd", "learningRate": 0.01}, "maxIterations": 1000, "includeGradient": true}
        """;

    /// <summary>The tutorial's body with some top-level fields replaced (a null value removes the field).</summary>
    public static string Tutorial(params (string Field, JsonNode? Value)[] changes) => With(TutorialJson, changes);

    /// <summary>Rosenbrock with b = 100 from (-1, 1), for the second-order optimizers.</summary>
    public static string Rosenbrock100(string optimizer, int maxIterations = 1000, double tolerance = 1e-10) => $$"""
        {"expression": "(a - x[1])^2 + b*(x[2] - x[1]^2)^2", "parameters": {"x": [-1, 1]}, "constants": {"a": 1, "b": 100},
         "optimizer": {"type": "{{optimizer}}"}, "maxIterations": {{maxIterations}}, "gradientNormTolerance": {{tolerance:R}}}
        """;

    /// <summary>
    /// A least-squares fit over 4000 data rows that stops on its time limit, so that it runs for a known while
    /// however fast the machine is: long enough to be watched, resumed or queued behind. 4000 rows (measured here:
    /// 14,000 iterations in 2 s in a new service) keep 2 s of a warm service well below the cap of 100,000 recorded
    /// iterations, which 1000 rows reached. Its learning rate is so small that a million iterations leave it far from
    /// the minimum: it can neither converge nor reach the bottom and stop as noProgress first.
    /// </summary>
    /// <param name="rows">More rows make iterations slower, so that a longer run stays below the event cap.</param>
    public static string Timed(double seconds, int recordEvery = 1, int rows = 4000)
    {
        var d = Enumerable.Range(0, rows).Select(i => i / (double)rows).ToArray();
        var y = d.Select(v => 2 * v + 0.1).ToArray();
        return $$"""
            {"expression": "mean((y - p*d)^2)", "parameters": {"p": 0}, "data": {"d": {{Api.Numbers(d)}}, "y": {{Api.Numbers(y)}}},
             "optimizer": {"type": "sgd", "learningRate": 1e-6}, "maxIterations": 1000000, "timeLimitSeconds": {{seconds:R}},
             "recordEvery": {{recordEvery}}}
            """;
    }

    /// <summary>A job that runs for a minute unless cancelled; always cancel it.</summary>
    public static string Long(int recordEvery = 100) => Timed(60, recordEvery);

    public static string With(string json, params (string Field, JsonNode? Value)[] changes)
    {
        var body = JsonNode.Parse(json)!.AsObject();
        foreach (var (field, value) in changes)
        {
            var target = body;
            var path = field.Split('.');
            foreach (var part in path[..^1]) target = target[part]!.AsObject();
            if (value is null) target.Remove(path[^1]);
            else target[path[^1]] = value;
        }
        return body.ToJsonString();
    }

    public static CancellationTokenSource Timeout(int seconds = 30) => new(TimeSpan.FromSeconds(seconds));

    public static async Task<HttpResponseMessage> Post(HttpClient client, string json, CancellationToken cancellation, string? prefer = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/minimize") { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        if (prefer is not null) request.Headers.TryAddWithoutValidation("Prefer", prefer);
        return await client.SendAsync(request, cancellation);
    }

    /// <summary>Posts a job and expects 202 with <c>Location: /minimize/{id}</c>; returns the accepted job.</summary>
    public static async Task<MinimizeJob> Start(HttpClient client, string json, CancellationToken cancellation)
    {
        using var response = await Post(client, json, cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {(int)response.StatusCode}: {body}");
        var job = JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
        Assert.False(string.IsNullOrWhiteSpace(job.Id));
        Assert.Equal($"/minimize/{job.Id}", response.Headers.Location?.OriginalString);
        return job;
    }

    public static async Task<MinimizeJob> Get(HttpClient client, string id, CancellationToken cancellation)
    {
        using var response = await client.GetAsync($"/minimize/{id}", cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        return JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
    }

    /// <summary>Polls the job until <paramref name="condition"/> holds.</summary>
    public static async Task<MinimizeJob> WaitFor(HttpClient client, string id, Func<MinimizeJob, bool> condition, CancellationToken cancellation)
    {
        while (true)
        {
            var job = await Get(client, id, cancellation);
            if (condition(job)) return job;
            await Task.Delay(20, cancellation);
        }
    }

    public static Task<MinimizeJob> WaitUntilRunning(HttpClient client, string id, CancellationToken cancellation) =>
        WaitFor(client, id, job => job.Status == JobStatus.Running && job.Iteration > 0, cancellation);

    /// <summary>DELETE for clean-up: never throws, so that it can sit in a finally block.</summary>
    public static async Task CancelQuietly(HttpClient client, params string?[] ids)
    {
        foreach (var id in ids)
        {
            if (id is null) continue;
            try
            {
                using var timeout = Timeout(10);
                using var _ = await client.DeleteAsync($"/minimize/{id}", timeout.Token);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
            {
            }
        }
    }

    /// <summary>Opens <c>/minimize/{id}/events</c> without buffering the body.</summary>
    public static async Task<HttpResponseMessage> OpenStream(HttpClient client, string id, string? lastEventId, CancellationToken cancellation)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/minimize/{id}/events");
        request.Headers.Accept.ParseAdd("text/event-stream");
        if (lastEventId is not null) request.Headers.TryAddWithoutValidation("Last-Event-ID", lastEventId);
        return await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellation);
    }

    /// <summary>The job's events as they arrive, until the server closes the stream (or the caller stops).</summary>
    public static async IAsyncEnumerable<SseEvent> Events(HttpClient client, string id, string? lastEventId = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        using var response = await OpenStream(client, id, lastEventId, cancellation);
        if (response.StatusCode != HttpStatusCode.OK)
            Assert.Fail($"Expected 200, got {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync(cancellation)}");
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        await using var stream = await response.Content.ReadAsStreamAsync(cancellation);
        await foreach (var item in SseParser.Create(stream).EnumerateAsync(cancellation))
            yield return new SseEvent(item.EventType, item.Data, item.EventId);
    }

    /// <summary>Reads the stream to its end and checks that it ends with exactly one <c>completed</c> event.</summary>
    public static async Task<List<SseEvent>> ReadAll(HttpClient client, string id, CancellationToken cancellation, string? lastEventId = null)
    {
        var events = new List<SseEvent>();
        await foreach (var e in Events(client, id, lastEventId, cancellation)) events.Add(e);
        Assert.NotEmpty(events);
        Assert.Equal("completed", events[^1].Type);
        Assert.Equal("completed", events[^1].Id);
        Assert.Single(events, e => e.Type == "completed");
        return events;
    }

    /// <summary>The first <paramref name="count"/> events; the connection is then dropped.</summary>
    public static async Task<List<SseEvent>> ReadSome(HttpClient client, string id, int count, CancellationToken cancellation, string? lastEventId = null)
    {
        var events = new List<SseEvent>();
        await foreach (var e in Events(client, id, lastEventId, cancellation))
        {
            events.Add(e);
            if (events.Count == count) break;
        }
        return events;
    }

    public static List<MinimizeProgress> Iterations(this IEnumerable<SseEvent> events) =>
        events.Where(e => e.Type == "iteration").Select(e => e.Progress).ToList();

    public static void Relative(double expected, double actual, double tolerance, string? what = null) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * Math.Abs(expected),
            $"{what}: expected {expected:R} to {tolerance} relative, got {actual:R}");

    public static void Relative(double[] expected, double[] actual, double tolerance, string? what = null)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (var i = 0; i < expected.Length; i++) Relative(expected[i], actual[i], tolerance, $"{what}[{i + 1}]");
    }
}
