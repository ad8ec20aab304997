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
/// The worker loops of this process, the same for every <see cref="IJobQueue"/>: each claims a job, takes the work
/// compiled when this process accepted it or rebuilds it from the spec (reading its dataset from the store, and
/// charging its data and tape to this process's memory budget while it runs), resumes from the job's last checkpoint if
/// a worker before it died, renews its lease while it runs, saves checkpoints every few seconds and every N iterations
/// (on a shared queue), and writes its progress and end only while its claim holds. On a shared queue a claim lost, or
/// a shutdown, stops the run without writing anything more: another worker takes the job over from its checkpoint. A
/// queue in this process's memory ends with it: at shutdown its running jobs end cancelled and its waiting ones too.
/// A replica whose role is <c>api</c> runs no jobs of a shared queue.
/// </summary>
public sealed class JobWorkers(IJobQueue queue, MinimizeTranslator translator, JobLifecycle lifecycle, JobRunner runner, MemoryBudget budget,
    IOptions<ServiceOptions> service, IOptions<MinimizeOptions> options, ILogger<JobWorkers> log) : BackgroundService
{
    readonly ConcurrentDictionary<string, CancellationTokenSource> _running = new();

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (queue.Shared && !service.Value.RunsWorkers) return;
        lifecycle.Store.OnCancellationRequested(id =>
        {
            if (_running.TryGetValue(id, out var run)) CancelQuietly(run);
        });
        var name = $"{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid():n}";
        var workers = Enumerable.Range(0, options.Value.EffectiveWorkers).Select(i => Task.Factory.StartNew(
            () => Loop($"{name}-{i}", stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        await Task.WhenAll(workers);
        foreach (var (id, optimizer) in queue.Drain())
        {
            try
            {
                lifecycle.Finished(id, optimizer, JobLifecycle.CancelledBeforeStart(shuttingDown: true));
            }
            catch (Exception e)
            {
                log.LogError(e, "Job {JobId} could not be recorded as cancelled at shutdown", id);
            }
        }
    }

    /// <summary>
    /// One worker, on a thread of its own: jobs are long and CPU-bound, and holding thread-pool threads for them would
    /// starve the requests and event streams that the pool serves.
    /// </summary>
    void Loop(string worker, CancellationToken stopping)
    {
        var poll = TimeSpan.FromSeconds(service.Value.PollSeconds);
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                if (queue.Claim(worker) is { } claim) Run(worker, claim, stopping);
                else queue.WaitForWork(poll, stopping);
            }
            catch (Exception e)
            {
                // Redis unreachable, most likely: whatever this worker held is taken over once its lease expires.
                log.LogWarning(e, "Worker {Worker} could not take or finish a job; trying again", worker);
                stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(1));
            }
        }
    }

    void Run(string worker, JobClaim claim, CancellationToken stopping)
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
        if (claim.Prepared is { } prepared) translation = prepared;
        else
        {
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
            if (!budget.TryReserve(translation.Work.RetainedBytes))
            {
                // Another worker (or this one, once running jobs have ended) runs it; this one waits a lease before claiming again.
                log.LogWarning("Job {JobId}: its data and tape ({Bytes:N0} bytes) do not fit worker {Worker}'s memory budget now; handed back to the queue",
                    spec.Id, translation.Work.RetainedBytes, worker);
                translation.Work.Release();
                queue.Return(claim);
                stopping.WaitHandle.WaitOne(TimeSpan.FromSeconds(service.Value.LeaseSeconds));
                return;
            }
        }
        var (record, work, wallCapBinds) = translation;
        // Charged when the work was compiled (at admission, or just now); given back once the run has stopped.
        var charged = work.RetainedBytes;
        var released = 0;
        void Release()
        {
            if (Interlocked.Exchange(ref released, 1) == 0) budget.Release(charged);
        }
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
            if (cancellation.IsCancellationRequested)
            {
                work.Release();
                Release();
                if (Volatile.Read(ref lost) == 1) return;
                if (queue.Shared && stopping.IsCancellationRequested)
                {
                    queue.Return(claim);
                    return;
                }
                lifecycle.FinishedUnder(queue, claim, record.Optimizer, JobLifecycle.CancelledBeforeStart(stopping.IsCancellationRequested));
                return;
            }
            lifecycle.Running(queue, claim);
            var settings = service.Value;
            var lastSaved = Stopwatch.GetTimestamp();
            var lastIteration = claim.Checkpoint?.Iteration ?? 0;
            CheckpointCallback? onCheckpoint = !queue.Shared ? null : (iteration, capture) =>
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
                queue.FencedEvents(claim), change => queue.UpdateRecord(claim, change), cancellation.Token, claim.Checkpoint, onCheckpoint, Release);
            if (Volatile.Read(ref lost) == 1)
            {
                log.LogWarning("Job {JobId}: worker {Worker} lost its claim; another worker carries the job on", spec.Id, worker);
                return;
            }
            if (queue.Shared && stopping.IsCancellationRequested && completed.StopReason == StopReasonCode.Cancelled)
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
            Release();
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
