using System.Buffers;
using System.Globalization;
using System.Text;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Serilog;

namespace Autograd.Api.Minimize;

public static class MinimizeApi
{
    public static IEndpointRouteBuilder MapMinimizeApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/minimize").WithTags("Minimize")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("", StartMinimize)
            .WithName(nameof(StartMinimize))
            .WithSummary("Start a minimisation job")
            .WithDescription("""
                Validates and compiles the loss, queues the job and answers 202 with `Location: /minimize/{id}`.
                Follow it at `/minimize/{id}/events` (server-sent events). With `Prefer: wait=N` (RFC 7240) the
                answer is 200 with the finished job if it ends within N seconds. A full queue answers 429 with Retry-After.
                """)
            .Accepts<MinimizeRequest>("application/json")
            .Produces<MinimizeJob>(StatusCodes.Status202Accepted)
            .Produces<MinimizeJob>()
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapGet("", ListMinimizeJobs)
            .WithName(nameof(ListMinimizeJobs))
            .WithSummary("Recent jobs, newest first");

        group.MapGet("/{id}", GetMinimizeJob)
            .WithName(nameof(GetMinimizeJob))
            .WithSummary("A job's status, progress and result")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapGet("/{id}/trace", GetMinimizeTrace)
            .WithName(nameof(GetMinimizeTrace))
            .WithSummary("The recorded iterations, as JSON or (Accept: text/csv) CSV")
            .Produces<MinimizeProgress[]>()
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);

        group.MapFitReport();

        group.MapGet("/{id}/events", StreamMinimizeEvents)
            .WithName(nameof(StreamMinimizeEvents))
            .WithSummary("The job's iterations as server-sent events")
            .WithDescription("""
                One `iteration` event per recorded iteration (`id:` = the iteration number, data: MinimizeProgress),
                then one `completed` event (data: MinimizeCompleted) after which the stream closes; a `decimated` event
                (data: MinimizeDecimated) if older iterations had to be thinned. Idle streams get `: keep-alive` comments.
                A late subscriber gets every recorded event from the start; `Last-Event-ID: n` resumes after iteration n.
                In a race (`optimizers`) each event names its `run` and `label`, and its id is iteration × runs + run,
                so that ids rise through the interleaved rounds and `Last-Event-ID` resumes every run exactly.
                """)
            .Produces<MinimizeProgress>(StatusCodes.Status200OK, "text/event-stream")
            .Produces<MinimizeCompleted>(StatusCodes.Status200OK, "text/event-stream")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);

        group.MapDelete("/{id}", CancelMinimize)
            .WithName(nameof(CancelMinimize))
            .WithSummary("Cancel a job (idempotent); its stream ends with a cancelled completion")
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    public static async Task<Results<Accepted<MinimizeJob>, Ok<MinimizeJob>, ProblemHttpResult>> StartMinimize(
        MinimizeRequest request, HttpContext context, MinimizeJobs jobs, IOptions<MinimizeOptions> options,
        IDiagnosticContext diagnostics, Export.ExportRecipes recipes)
    {
        MinimizeJob job;
        try
        {
            job = await jobs.SubmitAsync(request, context.Owner());
        }
        catch (ProblemException problem)
        {
            diagnostics.Set("Problem", problem.Code);
            if (problem.Extensions.TryGetValue("retryAfterSeconds", out var retry)) context.Response.Headers.RetryAfter = retry?.ToString();
            return problem.ToResult();
        }
        diagnostics.Set("JobId", job.Id);
        recipes.Remember(job, request, context.Owner());
        context.Items[Logging.JobIdItem] = job.Id;
        var location = $"/minimize/{job.Id}";
        if (PreferredWait(context.Request, options.Value.MaxPreferWaitSeconds) is { } wait)
        {
            context.Response.Headers["Preference-Applied"] = $"wait={(int)wait.TotalSeconds}";
            var latest = await jobs.WaitAsync(job.Id, context.Owner(), wait, context.RequestAborted) ?? job;
            if (latest.FinishedAt is not null)
            {
                context.Response.Headers.Location = location;
                return TypedResults.Ok(latest);
            }
            job = latest;
        }
        return TypedResults.Accepted(location, job);
    }

    public static async Task<Ok<MinimizeJob[]>> ListMinimizeJobs(HttpContext context, MinimizeJobs jobs, int limit = 50) =>
        TypedResults.Ok((await jobs.Store.RecentAsync(Math.Clamp(limit, 1, 1000), context.Owner())).ToArray());

    public static async Task<Results<Ok<MinimizeJob>, ProblemHttpResult>> GetMinimizeJob(string id, HttpContext context, MinimizeJobs jobs) =>
        await jobs.Store.FindAsync(id, context.Owner()) is { } job ? TypedResults.Ok(job) : NotFound(id).ToResult();

    public static async Task<Results<TraceResult, ProblemHttpResult>> GetMinimizeTrace(string id, HttpContext context, MinimizeJobs jobs)
    {
        if (await jobs.Store.EventsAsync(id, context.Owner()) is not { } log) return NotFound(id).ToResult();
        if (log.IsEvicted) return Evicted(id).ToResult();
        var wantsCsv = context.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase));
        return new TraceResult((await log.SnapshotAsync(context.RequestAborted)).Where(f => f.Kind == EventKind.Iteration).ToList(), wantsCsv);
    }

    public static async Task<Results<EventStreamResult, NoContent, ProblemHttpResult>> StreamMinimizeEvents(
        string id, [FromHeader(Name = "Last-Event-ID")] string? lastEventId, HttpContext context, MinimizeJobs jobs, IOptions<MinimizeOptions> options)
    {
        if (await jobs.Store.EventsAsync(id, context.Owner()) is not { } log) return NotFound(id).ToResult();
        if (log.IsEvicted) return Evicted(id).ToResult();
        var lastIteration = 0;
        if (!string.IsNullOrWhiteSpace(lastEventId))
        {
            if (lastEventId == EventStreamResult.CompletedId) return TypedResults.NoContent();
            if (!int.TryParse(lastEventId, NumberStyles.None, CultureInfo.InvariantCulture, out lastIteration))
                return Problems.Invalid("Last-Event-ID", $"Last-Event-ID must be an iteration number or '{EventStreamResult.CompletedId}', not '{Problems.Clip(lastEventId)}'.").ToResult();
        }
        var settings = options.Value;
        return new EventStreamResult(log, 0, lastIteration, TimeSpan.FromSeconds(settings.KeepAliveSeconds),
            TimeSpan.FromSeconds(settings.StreamWriteTimeoutSeconds));
    }

    public static async Task<Results<Ok<MinimizeJob>, ProblemHttpResult>> CancelMinimize(string id, HttpContext context, MinimizeJobs jobs) =>
        await jobs.CancelAsync(id, context.Owner()) && await jobs.Store.FindAsync(id, context.Owner()) is { } job ? TypedResults.Ok(job) : NotFound(id).ToResult();

    static ProblemException Evicted(string id) =>
        new(StatusCodes.Status410Gone, "events-evicted", "The job's recorded iterations were evicted",
            $"Job '{id}' finished and its recorded iterations were evicted to keep the service within its memory budget; GET /minimize/{id} still has its result.",
            new Dictionary<string, object?> { ["jobId"] = id });

    static ProblemException NotFound(string id) =>
        new(StatusCodes.Status404NotFound, "job-not-found", "No such job",
            $"There is no job '{id}'; it may never have existed or may have expired. GET /minimize lists recent jobs.",
            new Dictionary<string, object?> { ["jobId"] = id });

    /// <summary>The <c>wait</c> preference of RFC 7240, capped; null when absent.</summary>
    static TimeSpan? PreferredWait(HttpRequest request, int maxSeconds)
    {
        foreach (var header in request.Headers["Prefer"])
        foreach (var preference in (header ?? "").Split(','))
        {
            var parts = preference.Trim().Split('=', 2);
            if (parts.Length == 2 && parts[0].Trim().Equals("wait", StringComparison.OrdinalIgnoreCase)
                && int.TryParse(parts[1].Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
                return TimeSpan.FromSeconds(Math.Min(seconds, maxSeconds));
        }
        return null;
    }
}

/// <summary>The recorded iterations as a JSON array of the stored event data, or as CSV.</summary>
public sealed class TraceResult(IReadOnlyList<EventFrame> iterations, bool csv) : IResult
{
    public async Task ExecuteAsync(HttpContext context)
    {
        var response = context.Response;
        if (csv)
        {
            var json = context.RequestServices.GetRequiredService<IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions>>().Value.SerializerOptions;
            var trace = iterations.Select(f => System.Text.Json.JsonSerializer.Deserialize<MinimizeProgress>(f.Data.Span, json)!).ToList();
            response.ContentType = "text/csv; charset=utf-8";
            await response.WriteAsync(TraceCsv.Write(trace), context.RequestAborted);
            return;
        }
        response.ContentType = "application/json; charset=utf-8";
        var writer = response.BodyWriter;
        writer.Write("["u8);
        for (var i = 0; i < iterations.Count; i++)
        {
            if (i > 0) writer.Write(","u8);
            writer.Write(iterations[i].Data.Span);
            if (writer.UnflushedBytes > 64 * 1024) await writer.FlushAsync(context.RequestAborted);
        }
        writer.Write("]"u8);
        await writer.FlushAsync(context.RequestAborted);
    }
}

/// <summary>The trace as CSV: one row per recorded iteration, one column per parameter element.</summary>
public static class TraceCsv
{
    public static string Write(IReadOnlyList<MinimizeProgress> trace)
    {
        var race = trace.Count > 0 && trace[0].Run is not null;
        var csv = new StringBuilder(race ? "run,label,iteration,value,gradientNorm" : "iteration,value,gradientNorm");
        if (trace.Count == 0) return csv.Append('\n').ToString();
        var first = trace[0];
        foreach (var (name, value) in first.Parameters) AppendLabels(csv, name, value);
        if (first.Gradient is { } gradient)
            foreach (var (name, value) in gradient) AppendLabels(csv, "grad_" + name, value);
        csv.Append('\n');
        foreach (var row in trace)
        {
            if (race) csv.Append(row.Run).Append(',').Append(Quoted(row.Label ?? "")).Append(',');
            csv.Append(row.Iteration).Append(',').Append(Number(row.Value)).Append(',').Append(Number(row.GradientNorm));
            foreach (var value in row.Parameters.Values) AppendValues(csv, value);
            if (row.Gradient is { } g) foreach (var value in g.Values) AppendValues(csv, value);
            csv.Append('\n');
        }
        return csv.ToString();
    }

    static void AppendLabels(StringBuilder csv, string name, NumberOrVector value)
    {
        foreach (var label in Gradients.GradientService.ElementLabels(name, value.Values.Length, value.IsScalar, value.Columns))
            csv.Append(',').Append(label.Contains(',') ? $"\"{label}\"" : label);
    }

    static void AppendValues(StringBuilder csv, NumberOrVector value)
    {
        foreach (var v in value.Values) csv.Append(',').Append(Number(v));
    }

    /// <summary>A CSV field, quoted (RFC 4180) when it holds a comma, quote or line break.</summary>
    static string Quoted(string text) =>
        text.AsSpan().IndexOfAny(",\"\r\n") < 0 ? text : "\"" + text.Replace("\"", "\"\"") + "\"";

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
