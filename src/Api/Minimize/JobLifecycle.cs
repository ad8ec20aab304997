using System.Text.Json;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>
/// The one owner of a job's state: every transition of its record (queued → running → succeeded, failed or
/// cancelled) goes through here, and so does the completed event that closes its log. Progress (iteration, value,
/// recorded counts) is written by <see cref="JobProgress"/>; it never changes the status.
/// </summary>
public sealed class JobLifecycle(IJobStore store, TimeProvider clock, ServiceMetrics metrics, IOptions<JsonOptions> json)
{
    readonly JsonSerializerOptions _json = json.Value.SerializerOptions;

    public IJobStore Store => store;

    /// <summary>Records a job accepted and waiting for a worker.</summary>
    public ValueTask QueuedAsync(MinimizeJob job, string? owner) => store.AddAsync(job, owner);

    /// <summary>Records that the worker holding <paramref name="claim"/> started the job (nothing if the claim was superseded).</summary>
    public void Running(IJobQueue queue, JobClaim claim)
    {
        var started = clock.GetUtcNow();
        // A job resumed by another worker keeps the time it first started.
        queue.UpdateRecord(claim, j => j with { Status = JobStatus.Running, StartedAt = j.StartedAt ?? started });
    }

    /// <summary>The completion of a job that ended before a worker ran it: built here only.</summary>
    public static MinimizeCompleted CancelledBeforeStart(bool shuttingDown) => new()
    {
        Status = JobStatus.Cancelled, StopReason = StopReasonCode.Cancelled, Converged = false, Iterations = 0,
        Message = shuttingDown ? "Cancelled before it started: the service is shutting down." : "Cancelled before it started.",
    };

    /// <summary>Records the job's end and appends its completed event, which closes its log.</summary>
    public void Finished(string id, string optimizer, MinimizeCompleted completed)
    {
        double? seconds = null;
        store.Update(id, job => Ended(job, completed, clock.GetUtcNow(), out seconds));
        metrics.Finished(optimizer, completed.StopReason, completed.Iterations, seconds);
        if (store.Events(id) is { } log) JobProgress.AppendJson(log, EventKind.Completed, EventStreamResult.CompletedId, completed, _json);
        store.Prune();
    }

    /// <summary>
    /// Records the end of a job run from the queue, atomically with its completed event and only while
    /// <paramref name="claim"/> holds it; false if another worker's claim superseded it (nothing was written).
    /// </summary>
    public bool FinishedUnder(IJobQueue queue, JobClaim claim, string optimizer, MinimizeCompleted completed)
    {
        double? seconds = null;
        var (frame, offset) = JobProgress.Frame(EventKind.Completed, EventStreamResult.CompletedId, completed, _json);
        if (!queue.Complete(claim, job => Ended(job, completed, clock.GetUtcNow(), out seconds), frame, offset)) return false;
        metrics.Finished(optimizer, completed.StopReason, completed.Iterations, seconds);
        store.Prune();
        return true;
    }

    /// <summary>The record of a job that ended with <paramref name="completed"/> at <paramref name="now"/>.</summary>
    static MinimizeJob Ended(MinimizeJob job, MinimizeCompleted completed, DateTimeOffset now, out double? seconds)
    {
        seconds = job.StartedAt is { } started ? (now - started).TotalSeconds : null;
        return job with
        {
            Status = completed.Status,
            StopReason = completed.StopReason,
            Converged = completed.Converged,
            Message = completed.Message,
            Iteration = completed.Iterations,
            Value = completed.Value ?? job.Value,
            GradientNorm = completed.GradientNorm ?? job.GradientNorm,
            Parameters = completed.Parameters ?? job.Parameters,
            Fit = completed.Fit,
            Race = completed.Race,
            Certificate = completed.Certificate,
            Preflight = completed.Preflight,
            FinishedAt = now,
            ElapsedSeconds = seconds ?? 0,
        };
    }
}
