using System.Diagnostics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>
/// Admission: validates a request (translated by <see cref="MinimizeTranslator"/>), takes a place in the queue, charges
/// its compiled work to the memory budget while this process holds it, records it and queues it; and cancellation.
/// The same for every <see cref="IJobQueue"/>; state transitions go through <see cref="JobLifecycle"/>, and
/// <see cref="JobWorkers"/> run the jobs.
/// </summary>
public sealed class MinimizeJobs
{
    readonly JobLifecycle _lifecycle;
    readonly MinimizeTranslator _translator;
    readonly IJobQueue _queue;
    readonly MinimizeOptions _options;
    readonly TimeProvider _clock;
    readonly MemoryBudget _budget;
    readonly ILogger<MinimizeJobs> _log;
    readonly CancellationToken _stopping;

    public MinimizeJobs(JobLifecycle lifecycle, MinimizeTranslator translator, JobRunner runner, IJobQueue queue, IOptions<MinimizeOptions> options,
        TimeProvider clock, MemoryBudget budget, ILogger<MinimizeJobs> log, IHostApplicationLifetime lifetime, ServiceMetrics metrics)
    {
        (_lifecycle, _translator, _queue, _options, _clock, _budget, _log) = (lifecycle, translator, queue, options.Value, clock, budget, log);
        metrics.ObserveJobs(() => queue.Waiting, () => runner.Running);
        _stopping = lifetime.ApplicationStopping;
    }

    public IJobStore Store => _lifecycle.Store;

    /// <summary>Validates and compiles the request, then queues it.</summary>
    /// <exception cref="ProblemException">400/413 for a bad request, 429 when the queue is full, 503 while shutting down or out of memory.</exception>
    /// <param name="owner">The API key's owner the job belongs to; null when the service runs without keys.</param>
    public async Task<MinimizeJob> SubmitAsync(MinimizeRequest request, string? owner)
    {
        if (_stopping.IsCancellationRequested)
            throw new ProblemException(503, "shutting-down", "The service is shutting down", "The service is shutting down and takes no new jobs; retry against another instance.");
        Store.Prune();
        var spec = new MinimizeSpec(JobIds.New(), owner, request, _clock.GetUtcNow(), Activity.Current?.Id);
        var translation = _translator.Translate(spec);
        var (job, work, _) = translation;
        var bytes = work.RetainedBytes;
        // Admission counts jobs waiting for a worker (over every replica for a shared queue); a job cancelled while
        // waiting gives its place back at once.
        bool admitted;
        try
        {
            admitted = await _queue.TryReserveAsync(_options.MaxQueuedJobs);
        }
        catch
        {
            work.Release();
            throw;
        }
        if (!admitted)
        {
            work.Release();
            throw new ProblemException(429, "queue-full", "Too many jobs", _queue.Shared
                    ? $"{_options.MaxQueuedJobs} jobs are waiting for a worker across all replicas; retry after the Retry-After interval."
                    : $"All {_options.EffectiveWorkers} workers are busy and {_options.MaxQueuedJobs} jobs are waiting; retry after the Retry-After interval.",
                new Dictionary<string, object?> { ["retryAfterSeconds"] = 5 });
        }
        if (!_budget.TryReserve(bytes))
        {
            work.Release();
            await _queue.ReleaseAsync();
            throw _budget.Exhausted("The job's data and tape", bytes);
        }
        try
        {
            await _lifecycle.QueuedAsync(job, owner);
        }
        catch
        {
            // The store is unreachable: give the memory and the place in the queue back before the 503.
            work.Release();
            _budget.Release(bytes);
            await _queue.ReleaseAsync();
            throw;
        }
        if (!await _queue.EnqueueAsync(spec, translation))
        {
            // A worker anywhere rebuilds the work from the spec.
            work.Release();
            _budget.Release(bytes);
        }
        _log.LogInformation("Job {JobId} queued: {Optimizer} for up to {MaxIterations} iterations on {ExpressionLength}-character formula",
            job.Id, job.Optimizer, job.MaxIterations, job.Expression.Length);
        return job;
    }

    /// <summary>Requests cancellation; false if the job is unknown. Idempotent.</summary>
    public async Task<bool> CancelAsync(string id, string? owner)
    {
        if (await Store.FindAsync(id, owner) is not { } found) return false;
        // Still waiting: finished here. Otherwise marked, so that a worker that claims or takes it over later sees it too,
        // and asked of whichever process runs it.
        if (found.FinishedAt is null && await _queue.CancelAsync(id))
            _lifecycle.Finished(id, found.Optimizer, JobLifecycle.CancelledBeforeStart(shuttingDown: false));
        else Store.RequestCancellation(id);
        return true;
    }

    /// <summary>Waits until the job has finished or the timeout passes; returns the job's latest state.</summary>
    public async Task<MinimizeJob?> WaitAsync(string id, string? owner, TimeSpan timeout, CancellationToken cancellation)
    {
        if (await Store.EventsAsync(id, owner) is { } log) await log.WaitClosedAsync(timeout, cancellation);
        return await Store.FindAsync(id, owner);
    }
}

/// <summary>How a job over data is fitted and reported: rows, mini-batches, and the loss and target for the fit report.</summary>
public sealed record FitSpec(int Rows, int? BatchSize, bool Shuffle, int Seed, string? Loss, double[]? Target);
