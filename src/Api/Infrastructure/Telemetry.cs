using System.Diagnostics;
using System.Diagnostics.Metrics;
using Autograd.Api.Datasets;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Autograd.Expressions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Autograd.Api.Infrastructure;

/// <summary>OpenTelemetry wiring: the framework's meters and the service's own, Prometheus at /metrics, OTLP when configured.</summary>
public static class Telemetry
{
    /// <summary>The name of the service's meter and activity source.</summary>
    public const string Name = "Autograd.Service";

    /// <summary>Where Prometheus scrapes unless <c>Telemetry:MetricsPath</c> says otherwise; an empty path turns scraping off.</summary>
    public const string DefaultMetricsPath = "/metrics";

    /// <summary>The job activities (<c>autograd.job</c>). Static: an activity source holds no state of one host.</summary>
    public static readonly ActivitySource Source = new(Name);

    public static WebApplicationBuilder AddServiceTelemetry(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ServiceMetrics>();
        var otel = builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics =>
            {
                // AddAspNetCoreInstrumentation picks up the framework's meters: http.server.request.duration, Kestrel's connections.
                metrics.AddMeter(Name).AddAspNetCoreInstrumentation();
                if (MetricsPathOf(builder.Configuration) is not null) metrics.AddPrometheusExporter();
            });
        // As dotnet/eShop's ServiceDefaults: export over OTLP only when an endpoint is configured. Traces are recorded
        // only then, so that without a collector a request pays for no activity nobody reads.
        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            var metricsPath = MetricsPathOf(builder.Configuration);
            otel.WithTracing(tracing => tracing.AddSource(Name).AddAspNetCoreInstrumentation(options =>
                    options.Filter = context => !IsQuiet(context.Request.Path, metricsPath)))
                .UseOtlpExporter();
        }
        return builder;
    }

    /// <summary>The Prometheus scraping endpoint, anonymous and outside rate limits like the health probes.</summary>
    public static WebApplication MapServiceMetrics(this WebApplication app)
    {
        if (MetricsPathOf(app.Configuration) is { } path)
            app.MapPrometheusScrapingEndpoint(path).AllowAnonymous().DisableRateLimiting();
        return app;
    }

    /// <summary>The scraping path, or null when scraping is off.</summary>
    public static string? MetricsPathOf(IConfiguration configuration)
    {
        var path = configuration["Telemetry:MetricsPath"] ?? DefaultMetricsPath;
        return string.IsNullOrWhiteSpace(path) ? null : path;
    }

    /// <summary>Health probes and scrapes: polled every few seconds, so they are logged at Debug and not traced.</summary>
    public static bool IsQuiet(PathString path, string? metricsPath) =>
        path.StartsWithSegments("/health") || metricsPath is not null && path.StartsWithSegments(metricsPath);
}

/// <summary>
/// The service's own instruments, on a meter from the host's <see cref="IMeterFactory"/> so that it ends with the host.
/// Counters that the service already keeps (cache, streams, memory) are observed, not counted twice.
/// </summary>
public sealed class ServiceMetrics
{
    readonly Counter<long> _finished;
    readonly Counter<long> _iterations;
    readonly Histogram<double> _duration;

    public ServiceMetrics(IMeterFactory meters, StreamMetrics streams, FormulaCache cache, MemoryBudget budget, IDatasetStore datasets)
    {
        Meter = meters.Create(Telemetry.Name);
        _finished = Meter.CreateCounter<long>("autograd.jobs.finished", "{job}", "Jobs that ended, by stop reason and optimizer.");
        _iterations = Meter.CreateCounter<long>("autograd.iterations", "{iteration}", "Optimizer iterations run by finished jobs.");
        _duration = Meter.CreateHistogram("autograd.job.duration", "s", "How long jobs ran, from a worker taking them to their end.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 120, 300] });
        Meter.CreateObservableGauge("autograd.stream.subscribers", () => streams.Open, "{subscriber}", "Open event streams.");
        Meter.CreateObservableCounter("autograd.stream.events.sent", () => streams.EventsSent, "{event}", "Events written to event streams.");
        Meter.CreateObservableCounter("autograd.tape.cache.hits", () => cache.Hits, "{lookup}", "Formula lookups served by the compiled-tape cache.");
        Meter.CreateObservableCounter("autograd.tape.cache.misses", () => cache.Misses, "{lookup}", "Formula lookups that parsed and compiled.");
        Meter.CreateObservableGauge("autograd.memory.budget.used", () => budget.Used, "By", "Bytes of the memory budget in use: event logs, datasets, job data.");
        Meter.CreateObservableGauge("autograd.memory.budget.limit", () => budget.Limit, "By", "The memory budget (Memory:BudgetBytes).");
        Meter.CreateObservableGauge("autograd.datasets.bytes", () => datasets.Bytes, "By", "Bytes that stored datasets take.");
    }

    /// <summary>The meter <c>Autograd.Service</c>.</summary>
    public Meter Meter { get; }

    /// <summary>Observes the queue: jobs waiting for a worker and jobs a worker runs.</summary>
    public void ObserveJobs(Func<int> queued, Func<int> running)
    {
        Meter.CreateObservableGauge("autograd.jobs.queued", queued, "{job}", "Jobs waiting for a worker.");
        Meter.CreateObservableGauge("autograd.jobs.running", running, "{job}", "Jobs a worker is running.");
    }

    /// <summary>Counts a job that has ended; <paramref name="seconds"/> is null for a job that never started.</summary>
    public void Finished(string optimizer, StopReasonCode stopReason, int iterations, double? seconds)
    {
        var tags = new TagList
        {
            { "autograd.stop_reason", StopReasonName(stopReason) },
            { "autograd.optimizer", optimizer },
        };
        _finished.Add(1, tags);
        if (iterations > 0) _iterations.Add(iterations, new KeyValuePair<string, object?>("autograd.optimizer", optimizer));
        if (seconds is { } s) _duration.Record(s, tags);
    }

    /// <summary>The stop reason as the API spells it ("maxIterations"), without allocating.</summary>
    public static string StopReasonName(StopReasonCode reason) => reason switch
    {
        StopReasonCode.GradientNormTolerance => "gradientNormTolerance",
        StopReasonCode.ValueChangeTolerance => "valueChangeTolerance",
        StopReasonCode.ParameterChangeTolerance => "parameterChangeTolerance",
        StopReasonCode.MaxIterations => "maxIterations",
        StopReasonCode.TimeLimit => "timeLimit",
        StopReasonCode.Diverged => "diverged",
        StopReasonCode.Cancelled => "cancelled",
        StopReasonCode.Error => "error",
        _ => reason.ToString(),
    };
}
