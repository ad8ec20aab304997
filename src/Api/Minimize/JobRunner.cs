using System.Diagnostics;
using System.Text.Json;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Optimization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>The worker's part: runs one claimed job with its progress, trace and caps, and says how it ended.</summary>
public sealed class JobRunner(IOptions<MinimizeOptions> options, TimeProvider clock, IOptions<JsonOptions> json,
    ILogger<JobRunner> log, IHostApplicationLifetime lifetime)
{
    readonly MinimizeOptions _options = options.Value;
    readonly JsonSerializerOptions _json = json.Value.SerializerOptions;
    int _running;

    /// <summary>Jobs running in this process now.</summary>
    public int Running => Volatile.Read(ref _running);

    /// <summary>
    /// Runs the work with its progress, trace and the service's caps, and says how it ended; <paramref name="ended"/> is
    /// called once the work has stopped, before the end is reported anywhere.
    /// </summary>
    /// <param name="updateRecord">Writes the job's progress to its record (refused once the worker's claim was superseded).</param>
    public MinimizeCompleted Run(string id, IMinimizeWork work, string optimizer, int recordEvery, bool wallCapBinds, ActivityContext parent,
        IEventLog events, JobProgress.RecordChange updateRecord, CancellationToken cancellation, MinimizerCheckpoint? resume,
        CheckpointCallback? onCheckpoint, Action ended)
    {
        var stopping = lifetime.ApplicationStopping;
        Interlocked.Increment(ref _running);
        var activity = Telemetry.Source.StartActivity("autograd.job", ActivityKind.Internal, parent);
        activity?.SetTag("autograd.job.id", id);
        activity?.SetTag("autograd.optimizer", optimizer);
        // The cap on recorded iterations also bounds the numbers they hold, so that a job over many parameters
        // cannot fill memory with its trace.
        var maxEvents = (int)Math.Clamp(_options.MaxEventValuesPerJob / work.ValuesPerRecord, 100, _options.MaxEventsPerJob);
        var progress = new JobProgress(id, updateRecord, events, recordEvery, maxEvents, _options.MaxEventBytesPerJob, clock, _json);
        MinimizeCompleted completed;
        try
        {
            completed = work.Run(progress, cancellation, resume, onCheckpoint);
            if (completed.Status == JobStatus.Cancelled && stopping.IsCancellationRequested)
                completed = completed with { Message = completed.Message + " The service is shutting down." };
            // A time limit the client chose is a stopping rule like maxIterations; the service's own cap is not
            // the client's choice, and a job cut short by it has not done what was asked.
            if (completed.StopReason == StopReasonCode.TimeLimit && wallCapBinds)
                completed = completed with
                {
                    Status = JobStatus.Failed,
                    Message = completed.Message + $" This is the service's wall-clock cap per job (Minimize:MaxWallSeconds = {_options.MaxWallSeconds:0.###} s): ask for fewer iterations, or a faster optimizer.",
                };
        }
        catch (Exception e)
        {
            log.LogError(e, "Job {JobId} failed", id);
            completed = new MinimizeCompleted
            {
                Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false,
                Iterations = progress.LastRecorded, Message = $"The job failed unexpectedly: {e.Message}",
            };
        }
        finally
        {
            progress.Flush();
            ended();
            Interlocked.Decrement(ref _running);
        }
        if (activity is not null)
        {
            activity.SetTag("autograd.iterations", completed.Iterations);
            activity.SetTag("autograd.stop_reason", ServiceMetrics.StopReasonName(completed.StopReason));
            if (completed.Status == JobStatus.Failed) activity.SetStatus(ActivityStatusCode.Error, completed.Message);
            // Ended before the completed event is written, so whoever sees the job finished also finds its activity ended.
            activity.Dispose();
        }
        return completed;
    }
}
