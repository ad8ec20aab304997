using System.Collections.Concurrent;
using System.Diagnostics;
using System.Threading.Channels;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>A job accepted by this process and waiting for, or held by, one of its workers.</summary>
public sealed class QueuedJob(MinimizeSpec spec, IMinimizeWork work, CancellationTokenSource cancellation, MemoryBudget budget,
    string optimizer, ActivityContext parent, bool wallCapBinds)
{
    int _claimed;
    int _forgotten;
    public MinimizeSpec Spec { get; } = spec;
    public string Id => Spec.Id;
    /// <summary>True when the service's wall-clock cap, not the request's own time limit, is the one that can stop the job.</summary>
    public bool WallCapBinds { get; } = wallCapBinds;
    /// <summary>The compiled work; dropped once the job has ended, so that its data can be collected.</summary>
    public IMinimizeWork Work { get; private set; } = work;
    public CancellationTokenSource Cancellation { get; } = cancellation;
    public int RecordEvery => Spec.Request.RecordEvery;
    public string Optimizer { get; } = optimizer;
    /// <summary>The submitting request's trace context: the job's activity is its child though a worker thread runs it.</summary>
    public ActivityContext Parent { get; } = parent;

    /// <summary>Lets go of the work and its memory; once, whoever ends the job.</summary>
    public void Forget()
    {
        if (Interlocked.Exchange(ref _forgotten, 1) != 0) return;
        budget.Release(Work.RetainedBytes);
        Work = NoWork.Instance;
        Cancellation.Dispose();
    }

    /// <summary>True for exactly one caller: the worker that starts the job, or the cancel that ends it while queued.</summary>
    public bool Claim() => Interlocked.Exchange(ref _claimed, 1) == 0;

    /// <summary>Cancels a job that may be ending at this very moment: then its token is already disposed, and there is nothing to cancel.</summary>
    public void CancelQuietly()
    {
        try
        {
            Cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }
}

/// <summary>
/// The queue: admits jobs (translated by <see cref="MinimizeTranslator"/>) into a bounded queue, hands them to the
/// workers, and cancels them. State transitions go through <see cref="JobLifecycle"/>; <see cref="JobRunner"/> runs a job.
/// </summary>
public sealed class MinimizeJobs
{
    readonly JobLifecycle _lifecycle;
    readonly MinimizeTranslator _translator;
    readonly JobRunner _runner;
    readonly MinimizeOptions _options;
    readonly TimeProvider _clock;
    readonly MemoryBudget _budget;
    readonly ILogger<MinimizeJobs> _log;
    readonly Channel<QueuedJob> _queue;
    readonly ConcurrentDictionary<string, QueuedJob> _active = new();
    int _waiting;
    readonly CancellationToken _stopping;
    readonly IJobQueue? _shared;

    public MinimizeJobs(JobLifecycle lifecycle, MinimizeTranslator translator, JobRunner runner, IOptions<MinimizeOptions> options,
        TimeProvider clock, MemoryBudget budget, ILogger<MinimizeJobs> log, IHostApplicationLifetime lifetime, ServiceMetrics metrics,
        SharedQueue shared)
    {
        (_lifecycle, _translator, _runner, _options, _clock, _budget, _log) = (lifecycle, translator, runner, options.Value, clock, budget, log);
        _shared = shared.Queue;
        metrics.ObserveJobs(() => Volatile.Read(ref _waiting), () => runner.Running);
        _queue = Channel.CreateUnbounded<QueuedJob>();
        _stopping = lifetime.ApplicationStopping;
        Store.OnCancellationRequested(id => CancelLocal(id));
        _stopping.Register(() =>
        {
            foreach (var job in _active.Values) job.CancelQuietly();
        });
    }

    public IJobStore Store => _lifecycle.Store;

    /// <summary>Validates and compiles the request, then queues it.</summary>
    /// <exception cref="ProblemException">400/413 for a bad request, 429 when the queue is full, 503 while shutting down.</exception>
    /// <param name="owner">The API key's owner the job belongs to; null when the service runs without keys.</param>
    public async Task<MinimizeJob> SubmitAsync(MinimizeRequest request, string? owner)
    {
        if (_stopping.IsCancellationRequested)
            throw new ProblemException(503, "shutting-down", "The service is shutting down", "The service is shutting down and takes no new jobs; retry against another instance.");
        Store.Prune();
        var spec = new MinimizeSpec(JobIds.New(), owner, request, _clock.GetUtcNow(), Activity.Current?.Id);
        var (job, work, wallCapBinds) = _translator.Translate(spec);
        if (_shared is { } queue) return await SubmitSharedAsync(queue, spec, job, work);

        // Admission counts jobs waiting for a worker; a job cancelled while waiting gives its place back at once.
        if (Interlocked.Increment(ref _waiting) > _options.MaxQueuedJobs)
        {
            Interlocked.Decrement(ref _waiting);
            work.Release();
            throw new ProblemException(429, "queue-full", "Too many jobs",
                $"All {_options.EffectiveWorkers} workers are busy and {_options.MaxQueuedJobs} jobs are waiting; retry after the Retry-After interval.",
                new Dictionary<string, object?> { ["retryAfterSeconds"] = 5 });
        }
        if (!_budget.TryReserve(work.RetainedBytes))
        {
            Interlocked.Decrement(ref _waiting);
            work.Release();
            throw _budget.Exhausted("The job's data and tape", work.RetainedBytes);
        }
        var queued = new QueuedJob(spec, work, CancellationTokenSource.CreateLinkedTokenSource(_stopping), _budget,
            job.Optimizer, Activity.Current?.Context ?? default, wallCapBinds);
        try
        {
            await _lifecycle.QueuedAsync(job, owner);
        }
        catch
        {
            // The store is unreachable: give the place in the queue and the memory back before the 503.
            Interlocked.Decrement(ref _waiting);
            work.Release();
            queued.Forget();
            throw;
        }
        _active[job.Id] = queued;
        _queue.Writer.TryWrite(queued);
        _log.LogInformation("Job {JobId} queued: {Optimizer} for up to {MaxIterations} iterations on {ExpressionLength}-character formula",
            job.Id, job.Optimizer, job.MaxIterations, job.Expression.Length);
        return job;
    }

    /// <summary>Queues a validated job on the queue replicas share; a worker anywhere rebuilds its work from the spec.</summary>
    async Task<MinimizeJob> SubmitSharedAsync(IJobQueue queue, MinimizeSpec spec, MinimizeJob job, IMinimizeWork work)
    {
        work.Release();
        if (!await queue.TryReserveAsync(_options.MaxQueuedJobs))
            throw new ProblemException(429, "queue-full", "Too many jobs",
                $"{_options.MaxQueuedJobs} jobs are waiting for a worker across all replicas; retry after the Retry-After interval.",
                new Dictionary<string, object?> { ["retryAfterSeconds"] = 5 });
        try
        {
            await _lifecycle.QueuedAsync(job, spec.Owner);
        }
        catch
        {
            await queue.ReleaseAsync();
            throw;
        }
        await queue.EnqueueAsync(spec);
        _log.LogInformation("Job {JobId} queued for any worker: {Optimizer} for up to {MaxIterations} iterations", job.Id, job.Optimizer, job.MaxIterations);
        return job;
    }

    /// <summary>Requests cancellation; false if the job is unknown. Idempotent.</summary>
    public async Task<bool> CancelAsync(string id, string? owner)
    {
        if (await Store.FindAsync(id, owner) is not { } found) return false;
        if (_shared is { } queue)
        {
            // Marked in the store, so that a worker that claims or takes it over later sees it too; still waiting: finish it here.
            if (found.FinishedAt is null && await queue.CancelAsync(id))
                _lifecycle.Finished(id, found.Optimizer, JobLifecycle.CancelledBeforeStart(shuttingDown: false));
            else Store.RequestCancellation(id);
            return true;
        }
        // Another process sharing the store may hold the job: ask them all.
        if (!CancelLocal(id)) Store.RequestCancellation(id);
        return true;
    }

    /// <summary>Cancels the job if this process holds it; false if it does not.</summary>
    bool CancelLocal(string id)
    {
        if (!_active.TryGetValue(id, out var job)) return false;
        job.CancelQuietly();
        // Still waiting for a worker: finish it now and give its place in the queue back.
        if (job.Claim()) EndUnstarted(job, shuttingDown: false);
        return true;
    }

    /// <summary>Ends a job that no worker started, once its caller has claimed it.</summary>
    void EndUnstarted(QueuedJob job, bool shuttingDown)
    {
        Interlocked.Decrement(ref _waiting);
        _active.TryRemove(job.Id, out _);
        job.Work.Release();
        job.Forget();
        _lifecycle.Finished(job.Id, job.Optimizer, JobLifecycle.CancelledBeforeStart(shuttingDown));
    }

    /// <summary>Waits until the job has finished or the timeout passes; returns the job's latest state.</summary>
    public async Task<MinimizeJob?> WaitAsync(string id, string? owner, TimeSpan timeout, CancellationToken cancellation)
    {
        if (await Store.EventsAsync(id, owner) is { } log) await log.WaitClosedAsync(timeout, cancellation);
        return await Store.FindAsync(id, owner);
    }

    /// <summary>
    /// The worker loop, run on a thread of its own: jobs are long and CPU-bound, and holding thread-pool
    /// threads for them would starve the requests and event streams that the pool serves.
    /// </summary>
    public void RunWorker(CancellationToken stopping)
    {
        try
        {
            while (true)
            {
                var job = _queue.Reader.ReadAsync(stopping).AsTask().GetAwaiter().GetResult();
                if (!job.Claim()) continue;
                Interlocked.Decrement(ref _waiting);
                try
                {
                    _runner.Execute(job);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    // A store that became unreachable while the job ran or finished: the worker carries on with the next job.
                    _log.LogError(e, "Job {JobId} could not be finished in the store", job.Id);
                }
                _active.TryRemove(job.Id, out _);
                job.Forget();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    /// <summary>Finishes every job still waiting in the queue as cancelled; called once the workers have stopped.</summary>
    public void CancelQueued()
    {
        while (_queue.Reader.TryRead(out var job))
        {
            if (!job.Claim()) continue;
            try
            {
                EndUnstarted(job, shuttingDown: true);
            }
            catch (Exception e)
            {
                _log.LogError(e, "Job {JobId} could not be recorded as cancelled at shutdown", job.Id);
            }
        }
    }
}

/// <summary>What a finished job holds in place of its work.</summary>
sealed class NoWork : IMinimizeWork
{
    public static readonly NoWork Instance = new();
    public int ValuesPerRecord => 1;
    public long RetainedBytes => 0;
    public MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation) => throw new InvalidOperationException("The job has ended.");
    public void Release() { }
}

/// <summary>How a job over data is fitted and reported: rows, mini-batches, and the loss and target for the fit report.</summary>
public sealed record FitSpec(int Rows, int? BatchSize, bool Shuffle, int Seed, string? Loss, double[]? Target);

/// <summary>Runs <see cref="MinimizeOptions.EffectiveWorkers"/> worker loops; on shutdown, finishes what is left as cancelled.</summary>
public sealed class MinimizeWorkers(MinimizeJobs jobs, IOptions<MinimizeOptions> options) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var workers = Enumerable.Range(0, options.Value.EffectiveWorkers).Select(_ => Task.Factory.StartNew(
            () => jobs.RunWorker(stoppingToken), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));
        await Task.WhenAll(workers);
        jobs.CancelQueued();
    }
}
