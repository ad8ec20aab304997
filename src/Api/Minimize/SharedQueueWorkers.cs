using System.Collections.Concurrent;
using System.Diagnostics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Optimization;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>The shared queue when the service runs on Redis; null when jobs stay in this process.</summary>
public sealed record SharedQueue(IJobQueue? Queue);

/// <summary>
/// The workers of a replica whose role runs jobs (<c>Service:Role</c> = worker or all) on the shared queue: each claims
/// a job, rebuilds its work from the spec (reading its dataset from the store), resumes from the job's last checkpoint
/// if a worker before it died, renews its lease while it runs, saves checkpoints every few seconds and every N
/// iterations, and finishes the job only while its claim holds. A claim lost, or a shutdown, stops the run without
/// writing anything more: the job stays in the queue and another worker takes it over from its checkpoint.
/// </summary>
public sealed class SharedQueueWorkers(SharedQueue shared, MinimizeTranslator translator, JobLifecycle lifecycle, JobRunner runner,
    IOptions<ServiceOptions> service, IOptions<MinimizeOptions> options, ILogger<SharedQueueWorkers> log) : BackgroundService
{
    readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (shared.Queue is not { } queue || !service.Value.RunsWorkers) return;
        lifecycle.Store.OnCancellationRequested(id =>
        {
            if (_running.TryGetValue(id, out var run)) CancelQuietly(run);
        });
        var name = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():n}";
        var workers = Enumerable.Range(0, options.Value.EffectiveWorkers).Select(i => Task.Factory.StartNew(
            () => Loop(queue, $"{name}-{i}", stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        await Task.WhenAll(workers);
    }

    void Loop(IJobQueue queue, string worker, CancellationToken stopping)
    {
        var poll = TimeSpan.FromSeconds(service.Value.PollSeconds);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (queue.Claim(worker) is { } claim) Run(queue, worker, claim, stopping);
                else stopping.WaitHandle.WaitOne(poll);
            }
            catch (Exception e) when (!stopping.IsCancellationRequested)
            {
                // Redis unreachable, most likely: whatever this worker held is taken over once its lease expires.
                log.LogWarning(e, "Worker {Worker} could not take or finish a job; trying again", worker);
                stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        }
    }

    void Run(IJobQueue queue, string worker, JobClaim claim, CancellationToken stopping)
    {
        var spec = claim.Spec;
        if (claim.Unreadable is { } reason)
        {
            lifecycle.FinishedUnder(queue, claim, "", new MinimizeCompleted
            {
                Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false, Iterations = 0,
                Message = $"The job could not be started: its stored description could not be read back ({reason}).",
            });
            return;
        }
        MinimizeTranslation translation;
        try
        {
            translation = translator.Translate(spec);
        }
        catch (ProblemException e)
        {
            // Valid when accepted, not any more: its dataset was deleted meanwhile.
            lifecycle.FinishedUnder(queue, claim, spec.Request.Optimizer?.Type ?? "", new MinimizeCompleted
            {
                Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false, Iterations = 0,
                Message = $"The job could not be started: {e.Message}",
            });
            return;
        }
        var (record, work, wallCapBinds) = translation;
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(stopping);
        var lost = 0;
        var period = TimeSpan.FromSeconds(service.Value.LeaseSeconds / 3);
        void Renew()
        {
            try
            {
                switch (queue.Renew(claim, worker))
                {
                    case LeaseState.Lost:
                        Volatile.Write(ref lost, 1);
                        CancelQuietly(cancellation);
                        break;
                    case LeaseState.Cancelled:
                        CancelQuietly(cancellation);
                        break;
                }
            }
            catch (Exception e)
            {
                log.LogWarning(e, "Job {JobId}: the lease could not be renewed", spec.Id);
            }
        }
        _running[spec.Id] = cancellation;
        Renew();
        using var renewal = new Timer(_ => Renew(), null, period, period);
        try
        {
            lifecycle.Running(spec.Id);
            var settings = service.Value;
            var lastSaved = Stopwatch.GetTimestamp();
            var lastIteration = claim.Checkpoint?.Iteration ?? 0;
            CheckpointCallback onCheckpoint = (iteration, capture) =>
            {
                if (iteration - lastIteration < settings.CheckpointIterations
                    && Stopwatch.GetElapsedTime(lastSaved).TotalSeconds < settings.CheckpointSeconds) return;
                (lastIteration, lastSaved) = (iteration, Stopwatch.GetTimestamp());
                try
                {
                    if (!queue.SaveCheckpoint(claim, capture()))
                    {
                        Volatile.Write(ref lost, 1);
                        CancelQuietly(cancellation);
                    }
                }
                catch (Exception e)
                {
                    log.LogWarning(e, "Job {JobId}: checkpoint at iteration {Iteration} not saved", spec.Id, iteration);
                }
            };
            var parent = ActivityContext.TryParse(spec.TraceParent, null, out var context) ? context : default;
            var completed = runner.Run(spec.Id, work, record.Optimizer, spec.Request.RecordEvery, wallCapBinds, parent,
                queue.FencedEvents(claim), cancellation.Token, claim.Checkpoint, onCheckpoint, () => { });
            if (Volatile.Read(ref lost) == 1)
            {
                log.LogWarning("Job {JobId}: worker {Worker} lost its claim; another worker carries the job on", spec.Id, worker);
                return;
            }
            if (stopping.IsCancellationRequested && completed.StopReason == StopReasonCode.Cancelled)
            {
                // Shutting down: the job stays queued and another worker resumes it from its checkpoint.
                log.LogInformation("Job {JobId} left to another worker at shutdown", spec.Id);
                return;
            }
            if (!lifecycle.FinishedUnder(queue, claim, record.Optimizer, completed))
                log.LogWarning("Job {JobId}: worker {Worker} lost its claim before finishing; nothing written", spec.Id, worker);
            else
                log.LogInformation("Job {JobId} {Status} after {Iterations} iterations on worker {Worker}: {StopReason}",
                    spec.Id, completed.Status, completed.Iterations, worker, completed.StopReason);
        }
        finally
        {
            _running.TryRemove(spec.Id, out _);
        }
    }

    static void CancelQuietly(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}
