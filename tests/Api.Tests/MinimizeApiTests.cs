using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Autograd.Contracts;

namespace Autograd.Api.Tests;

/// <summary>POST /minimize and its jobs: event streams, resume, cancel, queue, Prefer, trace, errors.</summary>
public sealed class MinimizeApiTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    readonly HttpClient _client = factory.CreateClient();

    // ---- 1. The tutorial's run ----

    [Fact]
    public async Task Tutorial_run_streams_1000_iterations_matching_the_float64_reference()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.TutorialJson, timeout.Token);
        Assert.True(job.Status is JobStatus.Queued or JobStatus.Running);
        Assert.Equal("sgd", job.Optimizer);
        Assert.Equal(1000, job.MaxIterations);

        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);

        Assert.Equal(1001, events.Count);
        Assert.All(events[..^1], e => Assert.Equal("iteration", e.Type));
        var iterations = events.Iterations();
        Assert.Equal(Enumerable.Range(1, 1000), iterations.Select(p => p.Iteration));
        Assert.Equal(Enumerable.Range(1, 1000).Select(i => i.ToString(CultureInfo.InvariantCulture)), events[..^1].Select(e => e.Id));

        // Iteration 1 is the start point: value 4, gradient (-4, 0).
        Api.Close(4, iterations[0].Value);
        Api.Close([-1, 1], iterations[0].Parameters.Vector("x"));
        Api.Close([-4, 0], iterations[0].Gradient!.Vector("x"));
        Api.Close(4, iterations[0].GradientNorm);

        (int Iteration, double Value, double[] Gradient)[] reference =
        [
            (100, 0.35029246978084444, [-0.6676852329110927, -0.5771310972800915]),
            (200, 0.07398106873321564, [-0.16031877759579394, -0.253247727124728]),
            (500, 0.0039907161524854904, [-0.02651927777881584, -0.05206312665164581]),
            (1000, 6.962694008850682e-05, [-0.0032222025458647236, -0.006654080512732419]),
        ];
        foreach (var (iteration, value, gradient) in reference)
        {
            var progress = iterations[iteration - 1];
            Jobs.Relative(value, progress.Value, 1e-9, $"value at {iteration}");
            Jobs.Relative(gradient, progress.Gradient!.Vector("x"), 1e-9, $"gradient at {iteration}");
            Jobs.Relative(Math.Sqrt(gradient[0] * gradient[0] + gradient[1] * gradient[1]), progress.GradientNorm, 1e-9, $"gradient norm at {iteration}");
        }

        var completed = events[^1].Completed;
        Assert.Equal(JobStatus.Succeeded, completed.Status);
        Assert.Equal(StopReasonCode.MaxIterations, completed.StopReason);
        Assert.False(completed.Converged);
        Assert.Equal(1000, completed.Iterations);
        Assert.False(string.IsNullOrWhiteSpace(completed.Message));
        var result = completed.Parameters!.Vector("x");
        Jobs.Relative([0.9918216738881531, 0.9830474495799582], result, 1e-9, "final parameters");
        // The result is the point after the 1000th update, and the value is the loss there, not at iteration 1000.
        var (x1, x2) = (result[0], result[1]);
        Jobs.Relative((1 - x1) * (1 - x1) + 5 * (x2 - x1 * x1) * (x2 - x1 * x1), completed.Value!.Value, 1e-12, "final value");

        var finished = await Jobs.Get(_client, job.Id, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal(StopReasonCode.MaxIterations, finished.StopReason);
        Assert.Equal(1000, finished.Iteration);
        Assert.Equal(1000, finished.RecordedIterations);
        Assert.False(finished.Decimated);
        Assert.NotNull(finished.StartedAt);
        Assert.NotNull(finished.FinishedAt);
        Jobs.Relative([0.9918216738881531, 0.9830474495799582], finished.Parameters!.Vector("x"), 1e-9, "job parameters");
    }

    [Fact]
    public async Task Tutorial_run_in_float32_reproduces_r_torch_printed_figures()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("dtype", "float32")), timeout.Token);
        Assert.Equal(DType.Float32, job.Dtype);

        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);
        var iterations = events.Iterations();
        Assert.Equal(Enumerable.Range(1, 1000), iterations.Select(p => p.Iteration));

        Jobs.Relative(0.3502924, iterations[99].Value, 1e-6, "value at 100");
        Jobs.Relative([-0.667685, -0.5771312], iterations[99].Gradient!.Vector("x"), 1e-6, "gradient at 100");
        Jobs.Relative(6.962555e-05, iterations[999].Value, 1e-6, "value at 1000");
        Jobs.Relative([-0.003222887, -0.006653666], iterations[999].Gradient!.Vector("x"), 1e-6, "gradient at 1000");

        // float32 really is float32: the float64 figures at 1000 differ in the fifth digit.
        Assert.True(Math.Abs(iterations[999].Value - 6.962694008850682e-05) > 1e-6 * 6.962694008850682e-05);
        var completed = events[^1].Completed;
        Assert.Equal(JobStatus.Succeeded, completed.Status);
        Assert.Equal(StopReasonCode.MaxIterations, completed.StopReason);
    }

    // ---- 2. Late subscribers ----

    [Fact]
    public async Task A_subscriber_joining_mid_run_gets_every_event_from_the_start()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Timed(2, recordEvery: 5), timeout.Token);
        try
        {
            var firstReader = Task.Run(async () =>
            {
                var events = new List<SseEvent>();
                await foreach (var e in Jobs.Events(_client, job.Id, cancellation: timeout.Token)) events.Add(e);
                return events;
            }, timeout.Token);

            // Join once the job is well under way (and still running: it runs for 2 s).
            var midRun = await Jobs.WaitFor(_client, job.Id, j => j.Iteration >= 500 || j.FinishedAt is not null, timeout.Token);
            Assert.Equal(JobStatus.Running, midRun.Status);
            var second = await Jobs.ReadAll(_client, job.Id, timeout.Token);
            var first = await firstReader;

            // The first iteration is always recorded, whatever recordEvery says; then every 5th.
            Assert.Equal("1", second[0].Id);
            Assert.Equal(first, second);
            var completed = second[^1].Completed;
            Assert.Equal(StopReasonCode.TimeLimit, completed.StopReason);
            Assert.True(completed.Iterations > midRun.Iteration);
            var iterations = second.Iterations().Select(p => p.Iteration).ToList();
            Assert.Equal(Enumerable.Range(1, completed.Iterations / 5).Select(i => 5 * i).Prepend(1), iterations.Take(completed.Iterations / 5 + 1));
            Assert.Equal(completed.Iterations, iterations[^1]);
        }
        finally
        {
            await Jobs.CancelQuietly(_client, job.Id);
        }
    }

    // ---- 3. Last-Event-ID ----

    [Fact]
    public async Task Reconnecting_mid_run_with_last_event_id_resumes_without_gap_or_duplicate()
    {
        using var timeout = Jobs.Timeout();
        // Five seconds, so that the job is still running when this test asks on a loaded machine; three times the
        // rows of the other timed jobs, so that it stays below the event cap all the same.
        var job = await Jobs.Start(_client, Jobs.Timed(5, rows: 12000), timeout.Token);
        try
        {
            var before = await Jobs.ReadSome(_client, job.Id, 50, timeout.Token);
            Assert.Equal(Enumerable.Range(1, 50), before.Iterations().Select(p => p.Iteration));
            var lastId = before[^1].Id;
            Assert.Equal("50", lastId);

            var midRun = await Jobs.Get(_client, job.Id, timeout.Token);
            Assert.Equal(JobStatus.Running, midRun.Status);
            var after = await Jobs.ReadAll(_client, job.Id, timeout.Token, lastEventId: lastId);

            var completed = after[^1].Completed;
            Assert.Equal(StopReasonCode.TimeLimit, completed.StopReason);
            Assert.True(completed.Iterations > midRun.Iteration);
            var expected = Enumerable.Range(51, completed.Iterations - 50).ToList();
            Assert.Equal(expected, after.Iterations().Select(p => p.Iteration));
            Assert.Equal(expected.Select(i => i.ToString(CultureInfo.InvariantCulture)), after[..^1].Select(e => e.Id));
        }
        finally
        {
            await Jobs.CancelQuietly(_client, job.Id);
        }
    }

    [Fact]
    public async Task Reconnecting_after_the_job_finished_gets_the_rest_then_completed()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("maxIterations", 300)), timeout.Token);
        var all = await Jobs.ReadAll(_client, job.Id, timeout.Token);
        Assert.Equal(301, all.Count);

        foreach (var last in new[] { 0, 1, 150, 299 })
        {
            var rest = await Jobs.ReadAll(_client, job.Id, timeout.Token, lastEventId: last.ToString(CultureInfo.InvariantCulture));
            Assert.Equal(Enumerable.Range(last + 1, 300 - last), rest.Iterations().Select(p => p.Iteration));
            Assert.Equal(all[last..], rest);
        }

        var onlyCompleted = await Jobs.ReadAll(_client, job.Id, timeout.Token, lastEventId: "300");
        Assert.Equal([all[^1]], onlyCompleted);
    }

    [Fact]
    public async Task Last_event_id_completed_answers_204()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        await Jobs.ReadAll(_client, job.Id, timeout.Token);

        using var response = await Jobs.OpenStream(_client, job.Id, "completed", timeout.Token);
        Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync(timeout.Token));
    }

    [Theory]
    [InlineData("abc")]
    [InlineData("-1")]
    [InlineData("1.5")]
    [InlineData("99999999999999999999")]
    public async Task A_garbage_last_event_id_is_400(string lastEventId)
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        await Jobs.ReadAll(_client, job.Id, timeout.Token);

        using var response = await Jobs.OpenStream(_client, job.Id, lastEventId, timeout.Token);
        var problem = await Api.ReadProblem(response, 400, "invalid-input");
        Assert.Equal("Last-Event-ID", problem.GetProperty("field").GetString());
    }

    // ---- 4. Cancel ----

    [Fact]
    public async Task Delete_cancels_a_running_job_and_its_stream_ends_with_a_cancelled_completion()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Long(recordEvery: 10), timeout.Token);
        try
        {
            var events = new List<SseEvent>();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            var reader = Task.Run(async () =>
            {
                await foreach (var e in Jobs.Events(_client, job.Id, cancellation: timeout.Token))
                {
                    events.Add(e);
                    started.TrySetResult();
                }
            }, timeout.Token);
            if (await Task.WhenAny(started.Task, reader).WaitAsync(timeout.Token) == reader) await reader;

            using (var delete = await _client.DeleteAsync($"/minimize/{job.Id}", timeout.Token))
            {
                Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
                var body = JsonSerializer.Deserialize<MinimizeJob>(await delete.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
                Assert.Equal(job.Id, body.Id);
            }
            await reader.WaitAsync(timeout.Token);

            Assert.Equal("completed", events[^1].Type);
            var completed = events[^1].Completed;
            Assert.Equal(JobStatus.Cancelled, completed.Status);
            Assert.Equal(StopReasonCode.Cancelled, completed.StopReason);
            Assert.False(completed.Converged);
            var iterations = events.Iterations();
            Assert.NotEmpty(iterations);
            Assert.True(completed.Iterations >= iterations[^1].Iteration);
            Assert.True(completed.Iterations < 1_000_000);

            using (var again = await _client.DeleteAsync($"/minimize/{job.Id}", timeout.Token))
            {
                Assert.Equal(HttpStatusCode.OK, again.StatusCode);
                var body = JsonSerializer.Deserialize<MinimizeJob>(await again.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
                Assert.Equal(JobStatus.Cancelled, body.Status);
            }

            var finished = await Jobs.Get(_client, job.Id, timeout.Token);
            Assert.Equal(JobStatus.Cancelled, finished.Status);
            Assert.Equal(StopReasonCode.Cancelled, finished.StopReason);
            Assert.NotNull(finished.FinishedAt);
            Assert.Equal(completed.Iterations, finished.Iteration);
        }
        finally
        {
            await Jobs.CancelQuietly(_client, job.Id);
        }
    }

    [Fact]
    public async Task Delete_of_a_finished_job_answers_200_and_leaves_it_as_it_was()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        await Jobs.ReadAll(_client, job.Id, timeout.Token);

        using var delete = await _client.DeleteAsync($"/minimize/{job.Id}", timeout.Token);
        Assert.Equal(HttpStatusCode.OK, delete.StatusCode);
        var finished = await Jobs.Get(_client, job.Id, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, finished.Status);
        Assert.Equal(StopReasonCode.MaxIterations, finished.StopReason);
    }

    [Fact]
    public async Task Delete_of_a_queued_job_cancels_it_at_once()
    {
        using var timeout = Jobs.Timeout();
        using var single = factory.WithSettings(("Minimize:Workers", "1"));
        using var client = single.CreateClient();
        string? running = null, queued = null;
        try
        {
            running = (await Jobs.Start(client, Jobs.Long(), timeout.Token)).Id;
            await Jobs.WaitUntilRunning(client, running, timeout.Token);
            queued = (await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token)).Id;

            using (var delete = await client.DeleteAsync($"/minimize/{queued}", timeout.Token))
                Assert.Equal(HttpStatusCode.OK, delete.StatusCode);

            // The queued job should end now, not whenever the running one ends (here: a minute). Actual: still queued.
            var clock = Stopwatch.StartNew();
            var job = await Jobs.Get(client, queued, timeout.Token);
            while (job.FinishedAt is null && clock.Elapsed < TimeSpan.FromSeconds(3))
            {
                await Task.Delay(50, timeout.Token);
                job = await Jobs.Get(client, queued, timeout.Token);
            }
            Assert.Equal(JobStatus.Cancelled, job.Status);
            Assert.Equal(StopReasonCode.Cancelled, job.StopReason);
            var events = await Jobs.ReadAll(client, queued, timeout.Token);
            Assert.Equal(StopReasonCode.Cancelled, Assert.Single(events).Completed.StopReason);
        }
        finally
        {
            await Jobs.CancelQuietly(client, queued, running);
        }
    }

    // ---- 5. Divergence ----

    [Fact]
    public async Task Sgd_with_learning_rate_1_diverges_and_keeps_the_last_finite_point()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("optimizer", new JsonObject { ["type"] = "sgd", ["learningRate"] = 1 })), timeout.Token);
        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);

        var completed = events[^1].Completed;
        Assert.Equal(JobStatus.Failed, completed.Status);
        Assert.Equal(StopReasonCode.Diverged, completed.StopReason);
        Assert.False(completed.Converged);
        Assert.Contains("iverged", completed.Message);

        var iterations = events.Iterations();
        Assert.NotEmpty(iterations);
        Assert.True(iterations.Count < 1000);
        Assert.Equal(Enumerable.Range(1, iterations.Count), iterations.Select(p => p.Iteration));
        Assert.All(iterations, p => Assert.True(double.IsFinite(p.Value) && p.Parameters.Vector("x").All(double.IsFinite)));

        var result = completed.Parameters!.Vector("x");
        Assert.All(result, v => Assert.True(double.IsFinite(v)));
        Assert.Equal(iterations[^1].Parameters.Vector("x"), result);
        Assert.Equal(iterations[^1].Value, completed.Value!.Value);

        var finished = await Jobs.Get(_client, job.Id, timeout.Token);
        Assert.Equal(JobStatus.Failed, finished.Status);
        Assert.Equal(StopReasonCode.Diverged, finished.StopReason);
        Assert.Equal(result, finished.Parameters!.Vector("x"));
    }

    // ---- 6. Full queue ----

    [Fact]
    public async Task A_full_queue_answers_429_with_retry_after()
    {
        using var timeout = Jobs.Timeout();
        using var small = factory.WithSettings(("Minimize:Workers", "1"), ("Minimize:MaxQueuedJobs", "1"));
        using var client = small.CreateClient();
        string? running = null, queued = null;
        try
        {
            running = (await Jobs.Start(client, Jobs.Long(), timeout.Token)).Id;
            await Jobs.WaitUntilRunning(client, running, timeout.Token);
            var second = await Jobs.Start(client, Jobs.Long(), timeout.Token);
            queued = second.Id;
            Assert.Equal(JobStatus.Queued, second.Status);

            using var response = await Jobs.Post(client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
            Assert.NotNull(response.Headers.RetryAfter);
            Assert.True(response.Headers.RetryAfter!.Delta > TimeSpan.Zero, $"Retry-After: {response.Headers.RetryAfter}");
            var problem = await Api.ReadProblem(response, 429, "queue-full");
            Assert.Null(response.Headers.Location);

            Assert.Equal(JobStatus.Running, (await Jobs.Get(client, running, timeout.Token)).Status);
            Assert.Equal(JobStatus.Queued, (await Jobs.Get(client, queued, timeout.Token)).Status);
            Assert.True(problem.GetProperty("retryAfterSeconds").GetInt32() > 0);
        }
        finally
        {
            await Jobs.CancelQuietly(client, queued, running);
        }
    }

    [Fact]
    public async Task A_job_rejected_with_429_is_not_listed()
    {
        using var timeout = Jobs.Timeout();
        using var small = factory.WithSettings(("Minimize:Workers", "1"), ("Minimize:MaxQueuedJobs", "1"));
        using var client = small.CreateClient();
        string? running = null, queued = null;
        try
        {
            running = (await Jobs.Start(client, Jobs.Long(), timeout.Token)).Id;
            await Jobs.WaitUntilRunning(client, running, timeout.Token);
            queued = (await Jobs.Start(client, Jobs.Long(), timeout.Token)).Id;
            using (var rejected = await Jobs.Post(client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token))
                Assert.Equal(HttpStatusCode.TooManyRequests, rejected.StatusCode);

            var listed = await List(client, timeout.Token);
            Assert.Equal([queued, running], listed.Select(j => j.Id));
        }
        finally
        {
            await Jobs.CancelQuietly(client, queued, running);
        }
    }

    // ---- 7. Prefer: wait ----

    [Fact]
    public async Task Prefer_wait_on_a_fast_job_answers_200_with_the_finished_job()
    {
        using var timeout = Jobs.Timeout();
        using var response = await Jobs.Post(_client, Jobs.Rosenbrock100("lbfgs", maxIterations: 200), timeout.Token, prefer: "wait=10");
        var body = await response.Content.ReadAsStringAsync(timeout.Token);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200, got {(int)response.StatusCode}: {body}");
        Assert.Equal("wait=10", Assert.Single(response.Headers.GetValues("Preference-Applied")));
        var job = JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
        Assert.Equal(JobStatus.Succeeded, job.Status);
        Assert.Equal(StopReasonCode.GradientNormTolerance, job.StopReason);
        Assert.True(job.Converged);
        Assert.NotNull(job.FinishedAt);
        Assert.Equal($"/minimize/{job.Id}", response.Headers.Location?.OriginalString);
        Api.Close([1, 1], job.Parameters!.Vector("x"), 1e-6);
    }

    [Fact]
    public async Task Prefer_wait_on_a_long_job_answers_202_after_the_wait()
    {
        using var timeout = Jobs.Timeout();
        string? id = null;
        try
        {
            var clock = Stopwatch.StartNew();
            using var response = await Jobs.Post(_client, Jobs.Long(), timeout.Token, prefer: "wait=1");
            var elapsed = clock.Elapsed;
            var body = await response.Content.ReadAsStringAsync(timeout.Token);
            Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"Expected 202, got {(int)response.StatusCode}: {body}");
            var job = JsonSerializer.Deserialize<MinimizeJob>(body, Api.Json)!;
            id = job.Id;
            Assert.Equal($"/minimize/{job.Id}", response.Headers.Location?.OriginalString);
            Assert.Equal("wait=1", Assert.Single(response.Headers.GetValues("Preference-Applied")));
            Assert.True(elapsed >= TimeSpan.FromSeconds(0.9) && elapsed < TimeSpan.FromSeconds(5), $"answered after {elapsed}");
            Assert.True(job.Status is JobStatus.Queued or JobStatus.Running);
            Assert.Null(job.FinishedAt);
        }
        finally
        {
            await Jobs.CancelQuietly(_client, id);
        }
    }

    [Fact]
    public async Task Without_prefer_the_answer_is_202_at_once_without_preference_applied()
    {
        using var timeout = Jobs.Timeout();
        using var response = await Jobs.Post(_client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.False(response.Headers.Contains("Preference-Applied"));
        var job = JsonSerializer.Deserialize<MinimizeJob>(await response.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        await Jobs.ReadAll(_client, job.Id, timeout.Token);
    }

    // ---- 8. Second-order optimizers ----

    [Theory]
    [InlineData("lbfgs")]
    [InlineData("newton")]
    public async Task Second_order_optimizers_solve_rosenbrock_100(string optimizer)
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Rosenbrock100(optimizer), timeout.Token);
        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);

        var completed = events[^1].Completed;
        Assert.Equal(JobStatus.Succeeded, completed.Status);
        Assert.Equal(StopReasonCode.GradientNormTolerance, completed.StopReason);
        Assert.True(completed.Converged);
        Assert.True(completed.GradientNorm <= 1e-10);
        Api.Close([1, 1], completed.Parameters!.Vector("x"), 1e-6);
        Assert.True(completed.Iterations < 1000);
        Assert.Equal(completed.Iterations, events.Iterations()[^1].Iteration);
        Assert.Equal(optimizer, (await Jobs.Get(_client, job.Id, timeout.Token)).Optimizer);
    }

    // ---- 9. Trace ----

    [Fact]
    public async Task Trace_as_json_and_csv_with_record_every_10()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("includeGradient", null), ("recordEvery", 10)), timeout.Token);
        Assert.Equal(10, job.RecordEvery);
        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);
        var streamed = events.Iterations();
        Assert.Equal(Enumerable.Range(1, 100).Select(i => 10 * i).Prepend(1), streamed.Select(p => p.Iteration));

        var finished = await Jobs.Get(_client, job.Id, timeout.Token);
        Assert.Equal(101, finished.RecordedIterations);
        Assert.Equal(10, finished.RecordEvery);

        using var json = await _client.GetAsync($"/minimize/{job.Id}/trace", timeout.Token);
        Assert.Equal(HttpStatusCode.OK, json.StatusCode);
        Assert.Equal("application/json", json.Content.Headers.ContentType?.MediaType);
        var trace = JsonSerializer.Deserialize<MinimizeProgress[]>(await json.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        Assert.Equal(finished.RecordedIterations, trace.Length);
        Assert.Equal(streamed.Select(p => p.Iteration), trace.Select(p => p.Iteration));
        Assert.Equal(streamed.Select(p => p.Value), trace.Select(p => p.Value));
        Assert.All(trace, p => Assert.Null(p.Gradient));
        Jobs.Relative(0.35029246978084444, trace[10].Value, 1e-9, "value at 100");

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/minimize/{job.Id}/trace");
        request.Headers.Accept.ParseAdd("text/csv");
        using var csv = await _client.SendAsync(request, timeout.Token);
        Assert.Equal(HttpStatusCode.OK, csv.StatusCode);
        Assert.Equal("text/csv", csv.Content.Headers.ContentType?.MediaType);
        var lines = (await csv.Content.ReadAsStringAsync(timeout.Token)).TrimEnd('\n').Split('\n');
        Assert.Equal("iteration,value,gradientNorm,x[1],x[2]", lines[0]);
        Assert.Equal(102, lines.Length);
        for (var i = 0; i < trace.Length; i++)
        {
            var cells = lines[i + 1].Split(',').Select(c => double.Parse(c, CultureInfo.InvariantCulture)).ToArray();
            Assert.Equal(5, cells.Length);
            Assert.Equal(trace[i].Iteration, cells[0]);
            Assert.Equal(trace[i].Value, cells[1]);
            Assert.Equal(trace[i].GradientNorm, cells[2]);
            Assert.Equal(trace[i].Parameters.Vector("x"), cells[3..]);
        }
    }

    [Fact]
    public async Task Trace_records_the_last_iteration_even_off_the_record_every_grid()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("recordEvery", 10), ("maxIterations", 95)), timeout.Token);
        var events = await Jobs.ReadAll(_client, job.Id, timeout.Token);
        int[] expected = [1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 95];
        Assert.Equal(expected, events.Iterations().Select(p => p.Iteration));

        using var json = await _client.GetAsync($"/minimize/{job.Id}/trace", timeout.Token);
        var trace = JsonSerializer.Deserialize<MinimizeProgress[]>(await json.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        Assert.Equal(expected, trace.Select(p => p.Iteration));
    }

    [Fact]
    public async Task Trace_csv_has_gradient_columns_when_the_gradient_is_included()
    {
        using var timeout = Jobs.Timeout();
        var job = await Jobs.Start(_client, Jobs.Tutorial(("maxIterations", 3)), timeout.Token);
        await Jobs.ReadAll(_client, job.Id, timeout.Token);

        using var request = new HttpRequestMessage(HttpMethod.Get, $"/minimize/{job.Id}/trace");
        request.Headers.Accept.ParseAdd("text/csv");
        using var csv = await _client.SendAsync(request, timeout.Token);
        var lines = (await csv.Content.ReadAsStringAsync(timeout.Token)).TrimEnd('\n').Split('\n');
        Assert.Equal(["iteration,value,gradientNorm,x[1],x[2],grad_x[1],grad_x[2]", "1,4,4,-1,1,-4,0"], lines[..2]);
        Assert.Equal(4, lines.Length);
    }

    // ---- 10. Bad requests ----

    public static TheoryData<string, string, string> BadRequests => new()
    {
        { Jobs.Tutorial(("optimizer", new JsonObject { ["type"] = "sgdx" })), "unknown-optimizer", "optimizer.type" },
        { Jobs.Tutorial(("optimizer", null)), "invalid-input", "optimizer.type" },
        { Jobs.Tutorial(("optimizer", new JsonObject { ["type"] = "sgd", ["learningRate"] = 0 })), "invalid-optimizer-setting", "optimizer.learningRate" },
        { Jobs.Tutorial(("optimizer", new JsonObject { ["type"] = "sgd", ["learningRate"] = -1 })), "invalid-optimizer-setting", "optimizer.learningRate" },
        { Jobs.Tutorial(("optimizer", new JsonObject { ["type"] = "adam", ["learningRate"] = 0 })), "invalid-optimizer-setting", "optimizer.learningRate" },
        { Jobs.Tutorial(("maxIterations", null)), "invalid-input", "maxIterations" },
        { Jobs.Tutorial(("maxIterations", 0)), "invalid-input", "maxIterations" },
        { Jobs.Tutorial(("maxIterations", 1_000_001)), "invalid-input", "maxIterations" },
        { Jobs.Tutorial(("recordEvery", 0)), "invalid-input", "recordEvery" },
        { Jobs.Tutorial(("recordEvery", -5)), "invalid-input", "recordEvery" },
        { Jobs.Tutorial(("gradientNormTolerance", -1e-6)), "invalid-input", "gradientNormTolerance" },
        { Jobs.Tutorial(("valueChangeTolerance", -1)), "invalid-input", "valueChangeTolerance" },
        { Jobs.Tutorial(("parameterChangeTolerance", -1)), "invalid-input", "parameterChangeTolerance" },
        { Jobs.Tutorial(("timeLimitSeconds", 0)), "invalid-input", "timeLimitSeconds" },
        { Jobs.Tutorial(("expression", null)), "invalid-input", "expression" },
    };

    [Theory]
    [MemberData(nameof(BadRequests))]
    public async Task A_bad_request_is_a_400_problem_naming_the_field(string json, string code, string field)
    {
        using var timeout = Jobs.Timeout();
        using var response = await Jobs.Post(_client, json, timeout.Token);
        var problem = await Api.ReadProblem(response, 400, code);
        Assert.Equal(field, problem.GetProperty("field").GetString());
        Assert.Null(response.Headers.Location);
    }

    [Fact]
    public async Task Max_iterations_past_the_configured_limit_is_400()
    {
        using var timeout = Jobs.Timeout();
        using var limited = factory.WithSettings(("Minimize:MaxIterations", "500"));
        using var client = limited.CreateClient();
        using (var response = await Jobs.Post(client, Jobs.Tutorial(("maxIterations", 501)), timeout.Token))
        {
            var problem = await Api.ReadProblem(response, 400, "invalid-input");
            Assert.Equal("maxIterations", problem.GetProperty("field").GetString());
            Assert.Contains("500", problem.GetProperty("detail").GetString());
        }
        var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 500)), timeout.Token);
        await Jobs.ReadAll(client, job.Id, timeout.Token);
    }

    [Fact]
    public async Task A_bad_formula_is_400_formula_syntax_with_its_column()
    {
        using var timeout = Jobs.Timeout();
        using var response = await Jobs.Post(_client, Jobs.Tutorial(("expression", "(a - x[1])^2 + * b")), timeout.Token);
        var problem = await Api.ReadProblem(response, 400, "formula-syntax");
        Assert.Equal("expression", problem.GetProperty("field").GetString());
        Assert.Equal(16, problem.GetProperty("column").GetInt32());
        Assert.Equal("*", problem.GetProperty("token").GetString());
    }

    [Theory]
    [InlineData("GET", "/minimize/{0}")]
    [InlineData("DELETE", "/minimize/{0}")]
    [InlineData("GET", "/minimize/{0}/events")]
    [InlineData("GET", "/minimize/{0}/trace")]
    public async Task An_unknown_job_is_404_job_not_found(string method, string path)
    {
        using var timeout = Jobs.Timeout();
        const string id = "000000000000";
        using var request = new HttpRequestMessage(new HttpMethod(method), string.Format(CultureInfo.InvariantCulture, path, id));
        using var response = await _client.SendAsync(request, timeout.Token);
        var problem = await Api.ReadProblem(response, 404, "job-not-found");
        Assert.Equal(id, problem.GetProperty("jobId").GetString());
    }

    // ---- 11. Decimation ----

    [Fact]
    public async Task Past_max_events_per_job_the_log_is_decimated()
    {
        using var timeout = Jobs.Timeout();
        using var capped = factory.WithSettings(("Minimize:MaxEventsPerJob", "100"));
        using var client = capped.CreateClient();
        var job = await Jobs.Start(client, Jobs.Tutorial(("includeGradient", null)), timeout.Token);
        var live = await Jobs.ReadAll(client, job.Id, timeout.Token);

        var decimated = live.Where(e => e.Type == "decimated").Select(e => e.Decimated).ToList();
        Assert.NotEmpty(decimated);
        Assert.All(decimated, d => Assert.False(string.IsNullOrWhiteSpace(d.Message)));
        Assert.Equal(decimated.Select(d => d.RecordEvery).Order(), decimated.Select(d => d.RecordEvery));
        Assert.True(decimated[0].RecordEvery > 1);
        var liveIterations = live.Iterations().Select(p => p.Iteration).ToList();
        AssertStrictlyIncreasing(liveIterations);
        Assert.Equal(1000, liveIterations[^1]);

        var finished = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.True(finished.Decimated);
        Assert.True(finished.RecordEvery > 1);
        Assert.Equal(decimated[^1].RecordEvery, finished.RecordEvery);
        Assert.Equal(JobStatus.Succeeded, finished.Status);

        using var json = await client.GetAsync($"/minimize/{job.Id}/trace", timeout.Token);
        var trace = JsonSerializer.Deserialize<MinimizeProgress[]>(await json.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        Assert.InRange(trace.Length, 10, 105);
        Assert.Equal(finished.RecordedIterations, trace.Length);
        var traced = trace.Select(p => p.Iteration).ToList();
        AssertStrictlyIncreasing(traced);
        Assert.Equal(1000, traced[^1]);
        Assert.Equal(1, traced[0]);
        Assert.All(traced[1..^1], i => Assert.Equal(0, i % finished.RecordEvery));
        Api.Close(6.962694008850682e-05, trace[^1].Value, 1e-15);

        // A subscriber arriving afterwards gets the thinned log: the trace, then completed.
        var late = await Jobs.ReadAll(client, job.Id, timeout.Token);
        Assert.Equal(traced, late.Iterations().Select(p => p.Iteration));
        Assert.Equal(StopReasonCode.MaxIterations, late[^1].Completed.StopReason);
    }

    [Fact]
    public async Task After_decimation_only_multiples_of_record_every_are_kept()
    {
        using var timeout = Jobs.Timeout();
        using var capped = factory.WithSettings(("Minimize:MaxEventsPerJob", "100"));
        using var client = capped.CreateClient();
        var job = await Jobs.Start(client, Jobs.Tutorial(("includeGradient", null), ("maxIterations", 150)), timeout.Token);
        await Jobs.ReadAll(client, job.Id, timeout.Token);

        var finished = await Jobs.Get(client, job.Id, timeout.Token);
        Assert.Equal(2, finished.RecordEvery);
        using var json = await client.GetAsync($"/minimize/{job.Id}/trace", timeout.Token);
        var trace = JsonSerializer.Deserialize<MinimizeProgress[]>(await json.Content.ReadAsStringAsync(timeout.Token), Api.Json)!;
        // Expected 2, 4, ..., 150; actual has 101 between 100 and 102.
        Assert.Equal(Enumerable.Range(1, 75).Select(i => 2 * i).Prepend(1), trace.Select(p => p.Iteration));
    }

    // ---- 12. Keep-alive ----

    [Fact]
    public async Task An_idle_stream_gets_keep_alive_comments()
    {
        using var timeout = Jobs.Timeout();
        using var quick = factory.WithSettings(("Minimize:KeepAliveSeconds", "0.2"), ("Minimize:Workers", "1"));
        using var client = quick.CreateClient();
        string? running = null, queued = null;
        try
        {
            running = (await Jobs.Start(client, Jobs.Long(), timeout.Token)).Id;
            await Jobs.WaitUntilRunning(client, running, timeout.Token);
            queued = (await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 10)), timeout.Token)).Id;

            using var response = await Jobs.OpenStream(client, queued, null, timeout.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            Assert.Contains("no-cache", response.Headers.CacheControl?.ToString());
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(timeout.Token), Encoding.UTF8);
            var lines = new List<string>();
            var clock = Stopwatch.StartNew();
            while (lines.Count(l => l == ": keep-alive") < 2)
            {
                var line = await reader.ReadLineAsync(timeout.Token);
                Assert.NotNull(line);
                lines.Add(line);
            }
            Assert.Equal("retry: 2000", lines[0]);
            Assert.DoesNotContain(lines, l => l.StartsWith("event:", StringComparison.Ordinal) || l.StartsWith("data:", StringComparison.Ordinal));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"two keep-alives took {clock.Elapsed}");
            Assert.Equal(JobStatus.Queued, (await Jobs.Get(client, queued, timeout.Token)).Status);
        }
        finally
        {
            await Jobs.CancelQuietly(client, queued, running);
        }
    }

    // ---- 13. Listing ----

    [Fact]
    public async Task Get_minimize_lists_jobs_newest_first()
    {
        using var timeout = Jobs.Timeout();
        using var fresh = factory.WithSettings();
        using var client = fresh.CreateClient();
        var ids = new List<string>();
        for (var i = 0; i < 3; i++)
        {
            var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 5)), timeout.Token);
            await Jobs.ReadAll(client, job.Id, timeout.Token);
            ids.Add(job.Id);
        }

        var listed = await List(client, timeout.Token);
        Assert.Equal(ids.AsEnumerable().Reverse(), listed.Select(j => j.Id));
        Assert.Equal(listed.Select(j => j.CreatedAt).OrderDescending(), listed.Select(j => j.CreatedAt));
        Assert.All(listed, j => Assert.Equal(JobStatus.Succeeded, j.Status));

        var limited = await List(client, timeout.Token, "?limit=2");
        Assert.Equal(ids.AsEnumerable().Reverse().Take(2), limited.Select(j => j.Id));
    }

    static async Task<MinimizeJob[]> List(HttpClient client, CancellationToken cancellation, string query = "")
    {
        using var response = await client.GetAsync("/minimize" + query, cancellation);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonSerializer.Deserialize<MinimizeJob[]>(await response.Content.ReadAsStringAsync(cancellation), Api.Json)!;
    }

    static void AssertStrictlyIncreasing(IReadOnlyList<int> values)
    {
        for (var i = 1; i < values.Count; i++)
            Assert.True(values[i] > values[i - 1], $"not increasing at {i}: {values[i - 1]} then {values[i]}");
    }
}

/// <summary>Finished jobs go when their time to live is up, even if no other job comes along to prune them.</summary>
public sealed class JobRetentionTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    [Fact]
    public async Task A_finished_job_is_forgotten_after_its_time_to_live_on_an_idle_service()
    {
        // 0.05 minutes is 3 s, long enough for the test to see the job finished on a loaded machine; the service
        // then looks for expired jobs every second.
        await using var host = factory.WithSettings(("Minimize:FinishedJobTtlMinutes", "0.05"));
        var client = host.CreateClient();
        using var timeout = Jobs.Timeout(30);
        var job = await Jobs.Start(client, Jobs.Tutorial(), timeout.Token);
        var finished = await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, timeout.Token);
        Assert.Equal(JobStatus.Succeeded, finished.Status);

        HttpStatusCode status;
        do
        {
            await Task.Delay(100, timeout.Token);
            using var response = await client.GetAsync($"/minimize/{job.Id}", timeout.Token);
            status = response.StatusCode;
        }
        while (status == HttpStatusCode.OK);
        Assert.Equal(HttpStatusCode.NotFound, status);
        // The service and this test read the same clock.
        var age = DateTimeOffset.UtcNow - finished.FinishedAt!.Value;
        Assert.True(age >= TimeSpan.FromMinutes(0.05), $"forgotten {age.TotalSeconds:0.00} s after it finished, before its time to live");
    }
}
