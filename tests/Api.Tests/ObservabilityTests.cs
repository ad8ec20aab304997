using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Autograd.Contracts;
using Microsoft.AspNetCore.Mvc.Testing;

namespace Autograd.Api.Tests;

/// <summary>
/// Metrics at /metrics and the job's activity. Isolated: two hosts in one process share meter and source names,
/// so another test's host running alongside would add to these counts.
/// </summary>
[Collection(Isolated.Name)]
public sealed partial class ObservabilityTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    const long Budget = 300L * 1024 * 1024;

    /// <summary>Every metric the service documents, as Prometheus names them (dots to underscores, unit suffix, counters' _total).</summary>
    public static readonly string[] ServiceMetrics =
    [
        "autograd_jobs_queued", "autograd_jobs_running", "autograd_jobs_finished_total", "autograd_iterations_total",
        "autograd_job_duration_seconds_bucket", "autograd_job_duration_seconds_count", "autograd_job_duration_seconds_sum",
        "autograd_stream_subscribers", "autograd_stream_events_sent_total",
        "autograd_tape_cache_hits_total", "autograd_tape_cache_misses_total",
        "autograd_memory_budget_used_bytes", "autograd_memory_budget_limit_bytes", "autograd_datasets_bytes",
    ];

    [Fact]
    public async Task MetricsCountWhatTheRequestsAndJobsDid()
    {
        using var cancellation = Jobs.Timeout(60);
        var token = cancellation.Token;
        using var host = factory.WithSettings(("Memory:BudgetBytes", Budget.ToString(CultureInfo.InvariantCulture)));
        using var client = host.CreateClient();

        for (var i = 0; i < 3; i++) await Api.PostOk(client, Api.ParaboloidRequest(i, 1));
        var dataset = await Datasets.CreateCsv(client, "d,y\n1,2\n3,4\n5,6\n", token);
        var first = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 300)), token);
        var second = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 200)), token);
        var finished = new List<MinimizeJob>();
        foreach (var id in new[] { first.Id, second.Id })
            finished.Add(await Jobs.WaitFor(client, id, job => job.FinishedAt is not null, token));
        var events = await Jobs.ReadAll(client, first.Id, token);

        // A stream counts what it sent once the write has gone out, which the client may see first: wait for the count.
        Dictionary<string, List<Sample>> metrics;
        do metrics = Parse(await Scrape(client, token));
        while (Value(metrics, "autograd_stream_events_sent_total") < events.Count && !await Retry(token));

        foreach (var name in ServiceMetrics) Assert.True(metrics.ContainsKey(name), $"/metrics lacks {name}");
        Assert.All(finished, job => Assert.Equal(StopReasonCode.MaxIterations, job.StopReason));
        Assert.Equal(2, Value(metrics, "autograd_jobs_finished_total", ("autograd_optimizer", "sgd"), ("autograd_stop_reason", "maxIterations")));
        Assert.Equal(finished.Sum(job => job.Iteration), Value(metrics, "autograd_iterations_total", ("autograd_optimizer", "sgd")));
        Assert.Equal(2, Value(metrics, "autograd_job_duration_seconds_count", ("autograd_optimizer", "sgd")));
        Assert.True(Value(metrics, "autograd_job_duration_seconds_sum") > 0);
        Assert.Equal(0, Value(metrics, "autograd_jobs_queued"));
        Assert.Equal(0, Value(metrics, "autograd_jobs_running"));
        Assert.InRange(Value(metrics, "autograd_stream_subscribers"), 0, 1);
        Assert.True(Value(metrics, "autograd_stream_events_sent_total") >= events.Count);
        // Three requests for one formula: the first compiles it, the other two find it (the jobs add their own lookups).
        Assert.True(Value(metrics, "autograd_tape_cache_hits_total") >= 2);
        Assert.True(Value(metrics, "autograd_tape_cache_misses_total") >= 2, "the paraboloid and the tutorial's formula each compile once");
        Assert.Equal(Budget, Value(metrics, "autograd_memory_budget_limit_bytes"));
        Assert.InRange(Value(metrics, "autograd_memory_budget_used_bytes"), 1, Budget);
        Assert.True(Value(metrics, "autograd_datasets_bytes") >= dataset.Rows * dataset.Columns.Length * sizeof(double));
        // The framework's meters sit next to the service's.
        Assert.True(Value(metrics, "http_server_request_duration_seconds_count", ("http_route", "/gradient")) >= 3);
    }

    [Fact]
    public async Task MetricsAreAnonymousAndOffWhenThePathIsEmpty()
    {
        using var cancellation = Jobs.Timeout();
        using (var keyed = factory.WithSettings(("Auth:ApiKeys:0:Name", "ops"), ("Auth:ApiKeys:0:Sha256", new string('a', 64))))
        using (var client = keyed.CreateClient())
        {
            using var refused = await Api.Post(client, Api.ParaboloidRequest());
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
            using var response = await client.GetAsync("/metrics", cancellation.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        using var off = factory.WithSettings(("Telemetry:MetricsPath", ""));
        using var offClient = off.CreateClient();
        using var missing = await offClient.GetAsync("/metrics", cancellation.Token);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task JobActivityIsAChildOfTheRequestThatStartedIt()
    {
        using var cancellation = Jobs.Timeout();
        var token = cancellation.Token;
        var started = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name is "Autograd.Service" or "Microsoft.AspNetCore",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStarted = started.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        using var client = factory.CreateClient();

        // The caller's own trace context, so that its request is told apart from every other one in the process.
        var caller = new ActivityContext(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        using var request = new HttpRequestMessage(HttpMethod.Post, "/minimize")
        {
            Content = new StringContent(Jobs.Tutorial(("maxIterations", 50)), Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("traceparent", $"00-{caller.TraceId}-{caller.SpanId}-01");
        using var response = await client.SendAsync(request, token);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var accepted = JsonSerializer.Deserialize<MinimizeJob>(await response.Content.ReadAsStringAsync(token), Api.Json)!;
        var finished = await Jobs.WaitFor(client, accepted.Id, job => job.FinishedAt is not null, token);

        var requestActivity = Assert.Single(started, a => a.Source.Name == "Microsoft.AspNetCore" && a.ParentSpanId == caller.SpanId);
        var job = Assert.Single(started, a => a.Source.Name == "Autograd.Service" && (string?)a.GetTagItem("autograd.job.id") == accepted.Id);
        Assert.Equal("autograd.job", job.OperationName);
        Assert.Equal(caller.TraceId, requestActivity.TraceId);
        Assert.Equal(caller.TraceId, job.TraceId);
        Assert.Equal(requestActivity.SpanId, job.ParentSpanId);
        Assert.True(job.IsStopped);
        Assert.Equal("sgd", job.GetTagItem("autograd.optimizer"));
        Assert.Equal(finished.Iteration, job.GetTagItem("autograd.iterations"));
        Assert.Equal("maxIterations", job.GetTagItem("autograd.stop_reason"));
    }

    [Fact]
    public async Task DashboardQueriesOnlyMetricsTheServiceExports()
    {
        using var cancellation = Jobs.Timeout();
        var token = cancellation.Token;
        using var host = factory.WithSettings(("Memory:BudgetBytes", Budget.ToString(CultureInfo.InvariantCulture)));
        using var client = host.CreateClient();
        await Api.PostOk(client, Api.ParaboloidRequest());
        var job = await Jobs.Start(client, Jobs.Tutorial(("maxIterations", 10)), token);
        await Jobs.WaitFor(client, job.Id, j => j.FinishedAt is not null, token);
        var exported = Parse(await Scrape(client, token));

        var path = Path.Combine(RepositoryRoot(), "deploy", "grafana", "dashboards", "autograd.json");
        using var dashboard = JsonDocument.Parse(File.ReadAllText(path));
        var queries = dashboard.RootElement.GetProperty("panels").EnumerateArray()
            .SelectMany(panel => panel.GetProperty("targets").EnumerateArray())
            .Select(target => target.GetProperty("expr").GetString()!).ToList();
        var queried = queries.SelectMany(MetricNames).ToHashSet();

        Assert.NotEmpty(queries);
        foreach (var name in queried) Assert.True(exported.ContainsKey(name), $"The dashboard queries {name}, which /metrics does not export");
        foreach (var needed in new[] { "autograd_jobs_queued", "autograd_iterations_total", "http_server_request_duration_seconds_bucket",
                     "autograd_stream_subscribers", "autograd_memory_budget_used_bytes" })
            Assert.Contains(needed, queried);
    }

    /// <summary>The metric names in a PromQL query: identifiers that are not functions, keywords, labels, strings or ranges.</summary>
    static IEnumerable<string> MetricNames(string query)
    {
        var bare = Regex.Replace(query, @"\{[^}]*\}|\[[^\]]*\]|""[^""]*""|\b(by|without)\s*\([^)]*\)", " ");
        return Regex.Matches(bare, @"\b[a-zA-Z_:][a-zA-Z0-9_:]*\b(?!\s*\()").Select(m => m.Value)
            .Where(name => !PromQlWords.Contains(name) && !double.TryParse(name, CultureInfo.InvariantCulture, out _));
    }

    static readonly HashSet<string> PromQlWords = ["sum", "rate", "irate", "increase", "histogram_quantile", "avg", "max", "min", "count", "by", "without", "on", "ignoring", "and", "or", "unless"];

    static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Autograd.Service.sln"))) directory = directory.Parent;
        return directory?.FullName ?? throw new InvalidOperationException($"No Autograd.Service.sln above {AppContext.BaseDirectory}.");
    }

    /// <summary>One sample line: its labels and value.</summary>
    public sealed record Sample(Dictionary<string, string> Labels, double Value);

    public static async Task<string> Scrape(HttpClient client, CancellationToken cancellation)
    {
        using var response = await client.GetAsync("/metrics", cancellation);
        var body = await response.Content.ReadAsStringAsync(cancellation);
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"Expected 200 from /metrics, got {(int)response.StatusCode}: {body}");
        return body;
    }

    /// <summary>The Prometheus text format's samples by metric name.</summary>
    public static Dictionary<string, List<Sample>> Parse(string text)
    {
        var metrics = new Dictionary<string, List<Sample>>();
        foreach (var line in text.Split('\n'))
        {
            if (line.Length == 0 || line[0] == '#') continue;
            var match = SampleLine().Match(line);
            Assert.True(match.Success, $"Not a Prometheus sample: {line}");
            var labels = LabelPair().Matches(match.Groups["labels"].Value).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
            var value = double.Parse(match.Groups["value"].Value.Replace("+Inf", "Infinity"), CultureInfo.InvariantCulture);
            if (!metrics.TryGetValue(match.Groups["name"].Value, out var samples)) metrics[match.Groups["name"].Value] = samples = [];
            samples.Add(new Sample(labels, value));
        }
        return metrics;
    }

    /// <summary>The sum over the samples of a metric whose labels include all of <paramref name="labels"/>.</summary>
    static double Value(Dictionary<string, List<Sample>> metrics, string name, params (string Key, string Value)[] labels)
    {
        Assert.True(metrics.TryGetValue(name, out var samples), $"/metrics lacks {name}");
        return samples.Where(s => labels.All(l => s.Labels.GetValueOrDefault(l.Key) == l.Value)).Sum(s => s.Value);
    }

    static async Task<bool> Retry(CancellationToken cancellation)
    {
        await Task.Delay(50, cancellation);
        return false;
    }

    [GeneratedRegex("""^(?<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(\{(?<labels>.*)\})? (?<value>\S+)( \d+)?$""")]
    private static partial Regex SampleLine();

    [GeneratedRegex(@"([a-zA-Z_][a-zA-Z0-9_]*)=""((?:[^""\\]|\\.)*)""")]
    private static partial Regex LabelPair();
}
