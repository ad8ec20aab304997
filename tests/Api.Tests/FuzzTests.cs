using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Autograd.Api.Tests;

/// <summary>
/// Issue #10, "No 5xx from any input": seeded random formulas, request bodies and CSV uploads against one service.
/// Every answer is below 500; every 4xx is a problem with type, title, status, detail and code; every 2xx is JSON.
/// A failure names its case seed and carries the request body, so that it can be replayed alone.
/// </summary>
public sealed class FuzzTests(FuzzHost host, ITestOutputHelper output) : IClassFixture<FuzzHost>
{
    [Fact]
    public Task Random_formulas_never_get_a_5xx() => Run("formula", 1, 1200, FormulaCase);

    [Fact]
    public Task Random_gradient_bodies_never_get_a_5xx() => Run("gradient", 2, 600, GradientCase);

    [Fact]
    public Task Random_surface_bodies_never_get_a_5xx() => Run("surface", 3, 500, SurfaceCase);

    [Fact]
    public Task Random_minimize_bodies_never_get_a_5xx_nor_break_the_job_listing() => Run("minimize", 4, 400, MinimizeCase, DrainJobs);

    [Fact]
    public Task Random_csv_and_json_datasets_never_get_a_5xx() => Run("dataset", 5, 600, DatasetCase);

    // ----- the bugs the fuzz found, each at its smallest; they fail until the service is fixed -----

    [Fact]
    public async Task A_json_body_in_an_unknown_charset_is_415()
    {
        // Reading the body asks Encoding.GetEncoding(charset); its ArgumentException, wrapped in an
        // InvalidOperationException by ReadFromJsonAsync, became a 500.
        foreach (var charset in new[] { "nonsense", "", "utf-7" })
        foreach (var path in new[] { "/gradient", "/surface", "/minimize", "/datasets" })
        {
            using var content = new ByteArrayContent("""{"expression": "x^2", "parameters": {"x": 1}}"""u8.ToArray());
            content.Headers.TryAddWithoutValidation("Content-Type", $"application/json; charset={charset}");
            using var response = await host.Client.PostAsync(path, content);
            await Api.ReadProblem(response, 415, "unsupported-media-type");
        }
    }

    [Fact]
    public async Task Errors_the_framework_raises_are_problems_even_when_the_client_accepts_only_csv()
    {
        // The default problem writer honours Accept: with Accept: text/csv (a trace client) or application/xml
        // it declines, and the answer is an empty 400 or a text/plain "Status Code: 415" page.
        (HttpMethod Method, string Path, string? Type, string Body, int Status, string Code)[] cases =
        [
            (HttpMethod.Post, "/gradient", "application/json", "{", 400, "malformed-json"),
            (HttpMethod.Post, "/gradient", "text/plain", "{}", 415, "unsupported-media-type"),
            (HttpMethod.Get, "/minimize?limit=abc", null, "", 400, "bad-request"),
            (HttpMethod.Get, "/no-such-route", null, "", 404, "not-found"),
            (HttpMethod.Delete, "/gradient", null, "", 405, "method-not-allowed"),
        ];
        foreach (var accept in new[] { "text/csv", "application/xml" })
        foreach (var (method, path, type, body, status, code) in cases)
        {
            using var request = new HttpRequestMessage(method, path);
            if (type is not null)
            {
                request.Content = new ByteArrayContent(Encoding.UTF8.GetBytes(body));
                request.Content.Headers.TryAddWithoutValidation("Content-Type", type);
            }
            request.Headers.TryAddWithoutValidation("Accept", accept);
            using var response = await host.Client.SendAsync(request);
            await Api.ReadProblem(response, status, code);
        }
    }

    [Fact]
    public async Task A_dataset_whose_mean_or_spread_overflows_is_still_readable_and_listed()
    {
        // Every value is finite, but Welford's sums are not: the standard deviation of (1e200, -1e200) is
        // infinite, and the mean of (-1.7e308, 1.7e308) passes through infinity to NaN. Writing either as
        // JSON threw, so GET /datasets/{id} answered 500, and so did GET /datasets for every client.
        using var timeout = Jobs.Timeout();
        foreach (var csv in new[] { "x\n1e200\n-1e200\n", "x\n-1.7e308\n1.7e308\n" })
        {
            var created = await Datasets.CreateCsv(host.Client, csv, timeout.Token);
            try
            {
                var info = await Datasets.Get(host.Client, created.Id, timeout.Token);
                Assert.Equal(2, info.Rows);
                using var list = await host.Client.GetAsync("/datasets", timeout.Token);
                Assert.True(list.IsSuccessStatusCode, $"GET /datasets answered {(int)list.StatusCode} for {csv}");
            }
            finally
            {
                await Datasets.DeleteQuietly(host.Client, created.Id);
            }
        }
    }

    // ----- running the cases -----

    /// <summary>
    /// Runs cases numbered kind * 100000 + i, each from new Random(seed). FUZZ_SEEDS=400044,500024 runs only those
    /// (of this kind), to replay a failure.
    /// </summary>
    async Task Run(string kind, int kindNumber, int cases, Func<FuzzRunner, Random, Task> one, Func<FuzzRunner, Task>? after = null)
    {
        var runner = new FuzzRunner(host);
        var watch = Stopwatch.StartNew();
        var slowest = new List<(double Seconds, string Label)>();
        var seeds = Enumerable.Range(kindNumber * 100_000, cases).ToList();
        if (Environment.GetEnvironmentVariable("FUZZ_SEEDS") is { Length: > 0 } only)
        {
            var chosen = only.Split(',').Select(s => int.Parse(s, CultureInfo.InvariantCulture)).ToHashSet();
            seeds = seeds.Where(chosen.Contains).ToList();
            cases = seeds.Count;
        }
        foreach (var seed in seeds)
        {
            runner.StartCase($"{kind} seed {seed}");
            var started = watch.Elapsed;
            await one(runner, new Random(seed));
            slowest.Add(((watch.Elapsed - started).TotalSeconds, runner.Label));
        }
        runner.StartCase($"{kind} after all cases");
        if (after is not null) await after(runner);
        output.WriteLine($"{kind}: {cases} cases, {runner.Requests} requests in all ({runner.Requests - cases} follow-ups), " +
                         $"{runner.Failures.Count} failures, {watch.Elapsed.TotalSeconds:F1} s");
        output.WriteLine("  answers: " + string.Join(", ", runner.Statuses.Select(s => $"{s.Value} x {s.Key}")));
        output.WriteLine("  time: " + string.Join(", ", runner.SecondsByRoute.OrderByDescending(t => t.Value).Select(t => $"{t.Key} {t.Value:F1} s")));
        output.WriteLine("  slowest cases: " + string.Join(", ", slowest.OrderByDescending(s => s.Seconds).Take(5).Select(s => $"{s.Label} {s.Seconds:F2} s")));
        foreach (var group in runner.Failures.GroupBy(f => f.Signature).OrderByDescending(g => g.Count()))
        {
            var shortest = group.MinBy(f => f.RequestBody.Length)!;
            output.WriteLine($"  {group.Count()} x {group.Key}\n    e.g. {shortest.Label}: {shortest.Method} {shortest.Path} {Chance.Clip(shortest.RequestBody, 300)}" +
                             (shortest.CaseBody != shortest.RequestBody ? $" after {Chance.Clip(shortest.CaseBody, 300)}" : ""));
        }
        Assert.True(runner.Failures.Count == 0,
            $"{runner.Failures.Count} of {runner.Requests} {kind} requests broke the contract:\n\n" + string.Join("\n\n", runner.Failures.Take(15)));
    }

    // ----- formulas -----

    static Task FormulaCase(FuzzRunner runner, Random r) =>
        runner.PostJson("/gradient", FuzzBodies.Formula(r).ToString());

    // ----- /gradient and /surface -----

    static Task GradientCase(FuzzRunner runner, Random r) => PostMutated(runner, r, "/gradient", FuzzBodies.Gradient(r));

    static Task SurfaceCase(FuzzRunner runner, Random r) => PostMutated(runner, r, "/surface", FuzzBodies.Surface(r));

    static readonly string[] OddJsonTypes =
        ["text/plain", "application/json; charset=utf-16", "application/x-www-form-urlencoded", "application/merge-patch+json", "application/JSON",
         "application/json; charset=nonsense", "application/json; charset=", "application/json; charset=utf-7", "application/json; charset=\"", "application/json;"];

    /// <summary>The body as generated, or with a few fields broken, or broken as a whole, or sent as another media type.</summary>
    static async Task<FuzzRunner.Reply?> PostMutated(FuzzRunner runner, Random r, string path, FuzzJson.Obj body, string? prefer = null)
    {
        if (r.Odds(0.3)) FuzzValues.Mutate(r, body, r.Next(1, 3));
        var json = body.ToString();
        if (r.Odds(0.04)) json = FuzzValues.BreakBody(r, json);
        var mediaType = r.Odds(0.03) ? r.Pick(OddJsonTypes) : "application/json";
        return await runner.PostJson(path, json, mediaType, [.. Noise(r), .. prefer is null ? [] : new[] { ("Prefer", prefer) }]);
    }

    static readonly string[] Accepts = ["text/csv", "text/csv;q=0", "*/*", "text/csv, garbage;;;", "text/csv;q=abc", "é", ",,,", "text/csv; charset=\"open", "application/json"];

    /// <summary>Now and then a header the service does not need: a key while none are configured, an odd Accept.</summary>
    static (string Name, string Value)[] Noise(Random r) => r.Odds(0.97) ? [] : [r.Pick(new[]
    {
        ("Authorization", "Bearer"), ("Authorization", "Bearer " + new string('k', 5000)), ("Authorization", "Basic !!!"), ("X-Api-Key", ""),
        ("X-Api-Key", "ñ"), ("Accept", "text/csv"), ("Accept", "application/xml"), ("Accept", ";;;"), ("Accept-Charset", "nonsense"),
        ("Accept-Encoding", "gzip;q=abc"), ("Content-Encoding", "gzip"), ("Expect", "100-continue"),
    })];

    // ----- /minimize -----

    readonly List<string> _jobs = [];

    async Task MinimizeCase(FuzzRunner runner, Random r)
    {
        var prefer = r.Odds(0.6) ? "wait=5"
            : r.Odds(0.75) ? null
            : r.Pick(new[] { "wait=0", "wait=-1", "wait=abc", "wait=99999999999", "respond-async, wait=1", "wait=1.5", "wait", "wait=5, wait=0" });
        var reply = await PostMutated(runner, r, "/minimize", FuzzBodies.Minimize(r), prefer);
        if (reply?.Status is 200 or 202 && JobId(reply.Body) is { } id)
        {
            _jobs.Add(id);
            await FollowJob(runner, r, id, finished: reply.Status == 200);
        }
        if (r.Odds(0.05))
            await runner.Get($"/minimize/{r.Pick(new[] { "x", "..%2F..", "%01", "%FF", "ñ", new string('a', 3000), "0123456789abcdef0123456789abcdef", "%20" })}{r.Pick(new[] { "", "/trace", "/events" })}");
    }

    static bool Finished(string job)
    {
        using var document = JsonDocument.Parse(job);
        return document.RootElement.TryGetProperty("finishedAt", out var at) && at.ValueKind != JsonValueKind.Null;
    }

    static string? JobId(string json)
    {
        try
        {
            using var document = JsonDocument.Parse(json);
            return document.RootElement.TryGetProperty("id", out var id) ? id.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>A job's status, the listing, its trace (JSON or CSV), its event stream once finished, and sometimes a cancel.</summary>
    static async Task FollowJob(FuzzRunner runner, Random r, string id, bool finished)
    {
        // Every choice is drawn first, so that the case's draws do not depend on how fast the job ran.
        var limit = r.Pick(new[] { "50", "1", "1000", "0", "-5", "99999999999", "abc", "" });
        (string, string)[] traceAccept = r.Odds(0.3) ? [("Accept", r.Pick(Accepts))] : [];
        (string, string)[] streamHeaders = r.Odds(0.3)
            ? [("Accept", "text/event-stream"), ("Last-Event-ID", r.Pick(new[] { "1", "3", "completed", "-1", "abc", "99999999999", " ", "0", "１" }))]
            : [("Accept", "text/event-stream")];
        var cancel = r.Odds(0.1);

        runner.ExpectNoJobError(await runner.Get($"/minimize/{id}"));
        await runner.Get($"/minimize?limit={limit}");
        await runner.Get($"/minimize/{id}/trace", traceAccept);
        if (finished) await runner.Get($"/minimize/{id}/events", streamHeaders);
        if (cancel) await runner.Send(HttpMethod.Delete, $"/minimize/{id}", null, "");
    }

    /// <summary>Once every job has finished: each one's status, trace and events, and the whole listing.</summary>
    async Task DrainJobs(FuzzRunner runner)
    {
        var deadline = DateTime.UtcNow.AddSeconds(20);
        foreach (var id in _jobs)
        {
            while (DateTime.UtcNow < deadline)
            {
                var job = await runner.Get($"/minimize/{id}");
                runner.ExpectNoJobError(job);
                if (job is not { Status: 200 } || Finished(job.Body)) break;
                await Task.Delay(20);
            }
            await runner.Get($"/minimize/{id}/trace");
            await runner.Get($"/minimize/{id}/events", ("Accept", "text/event-stream"));
        }
        await runner.Get("/minimize?limit=1000");
    }

    // ----- /datasets -----

    async Task DatasetCase(FuzzRunner runner, Random r)
    {
        FuzzRunner.Reply? reply;
        if (r.Odds(0.8))
        {
            var (bytes, type, text) = FuzzCsv.Upload(r);
            // Small bodies sometimes trickle in a few bytes at a time; a big one that way would take seconds.
            HttpContent content = r.Odds(0.3) && bytes.Length < 64 * 1024 ? new StreamContent(new TrickleStream(bytes, r.Next(1, 64))) : new ByteArrayContent(bytes);
            content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            reply = await runner.Send(HttpMethod.Post, "/datasets", content, text);
        }
        else reply = await runner.PostJson("/datasets", FuzzCsv.ColumnsJson(r), r.Odds(0.04) ? r.Pick(OddJsonTypes) : "application/json");
        if (reply?.Status != 201) return;

        using var document = JsonDocument.Parse(reply.Body);
        var id = document.RootElement.GetProperty("id").GetString()!;
        var columns = document.RootElement.GetProperty("columns").EnumerateArray().Select(c => c.GetString()!).ToArray();
        await runner.Get($"/datasets/{id}");
        if (r.Odds(0.3)) await runner.Get("/datasets");
        var column = r.Pick(columns);
        if (r.Odds(0.4))
            await runner.PostJson("/gradient", $$"""{"expression": "mean(({{column}} - p)^2)", "parameters": {"p": 1}, "dataset": "{{id}}"}""");
        if (r.Odds(0.2))
            await runner.PostJson("/surface", $$"""
                {"expression": "mean(({{column}} - p - q)^2)", "parameters": {"p": 0, "q": 1}, "dataset": "{{id}}",
                 "x": {"parameter": "p", "min": -1e300, "max": 1e300}, "y": {"parameter": "q", "min": -1, "max": 1}, "resolution": 5}
                """);
        if (r.Odds(0.3))
        {
            var fit = $$"""
                {"model": "p + q*{{r.Pick(columns)}}", "target": "{{column}}", "dataset": "{{id}}", "parameters": {"p": 0, "q": 0},
                 "optimizer": {"type": "{{r.Pick(new[] { "sgd", "lbfgs", "newton", "adam" })}}"}, "maxIterations": {{r.Next(1, 20)}}}
                """;
            if (await runner.PostJson("/minimize", fit, "application/json", ("Prefer", "wait=5")) is { Status: 200 or 202 } job && JobId(job.Body) is { } jobId)
            {
                _jobs.Add(jobId);
                await FollowJob(runner, r, jobId, finished: job.Status == 200);
            }
        }
        await runner.Send(HttpMethod.Delete, $"/datasets/{id}", null, "");
        if (r.Odds(0.05)) await runner.Get($"/datasets/{id}");
    }

    /// <summary>A request body that arrives a few bytes at a time, so that CSV records and cells span reads.</summary>
    sealed class TrickleStream(byte[] bytes, int chunk) : MemoryStream(bytes)
    {
        public override int Read(byte[] buffer, int offset, int count) => base.Read(buffer, offset, Math.Min(count, chunk));

        public override int Read(Span<byte> buffer) => base.Read(buffer[..Math.Min(buffer.Length, chunk)]);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            base.ReadAsync(buffer[..Math.Min(buffer.Length, chunk)], cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            base.ReadAsync(buffer, offset, Math.Min(count, chunk), cancellationToken);
    }
}
