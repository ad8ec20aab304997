using System.Collections.Concurrent;
using System.Diagnostics;
using System.Numerics;
using System.Threading.Channels;
using Autograd.Api.Datasets;
using Autograd.Api.Gradients;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;
using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>Accepts minimisation jobs into a bounded queue, cancels them, and runs them for the workers.</summary>
public sealed class MinimizeJobs
{
    sealed class QueuedJob(string id, IMinimizeWork work, CancellationTokenSource cancellation, int recordEvery, MemoryBudget budget,
        string optimizer, ActivityContext parent, bool wallCapBinds)
    {
        /// <summary>True when the service's wall-clock cap, not the request's own time limit, is the one that can stop the job.</summary>
        public bool WallCapBinds { get; } = wallCapBinds;
        int _claimed;
        int _forgotten;
        public string Id { get; } = id;
        /// <summary>The compiled work; dropped once the job has ended, so that its data can be collected.</summary>
        public IMinimizeWork Work { get; private set; } = work;
        public CancellationTokenSource Cancellation { get; } = cancellation;
        public int RecordEvery { get; } = recordEvery;
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
    }

    readonly IJobStore _store;
    readonly IDatasetStore _datasets;
    readonly FormulaCache _cache;
    readonly ServiceLimits _limits;
    readonly MinimizeOptions _options;
    readonly TimeProvider _clock;
    readonly MemoryBudget _budget;
    readonly JsonSerializerOptions _json;
    readonly ILogger<MinimizeJobs> _log;
    readonly ServiceMetrics _metrics;
    readonly Channel<QueuedJob> _queue;
    readonly ConcurrentDictionary<string, QueuedJob> _active = new();
    int _waiting;
    int _running;
    readonly CancellationToken _stopping;

    public MinimizeJobs(IJobStore store, IDatasetStore datasets, FormulaCache cache, IOptions<ServiceLimits> limits, IOptions<MinimizeOptions> options,
        TimeProvider clock, MemoryBudget budget, IOptions<JsonOptions> json, ILogger<MinimizeJobs> log, IHostApplicationLifetime lifetime,
        ServiceMetrics metrics)
    {
        _metrics = metrics;
        metrics.ObserveJobs(() => Volatile.Read(ref _waiting), () => Volatile.Read(ref _running));
        (_store, _datasets, _cache, _limits, _options, _clock, _budget, _log) = (store, datasets, cache, limits.Value, options.Value, clock, budget, log);
        _json = json.Value.SerializerOptions;
        _queue = Channel.CreateUnbounded<QueuedJob>();
        _stopping = lifetime.ApplicationStopping;
        store.OnCancellationRequested(id => CancelLocal(id));
        _stopping.Register(() =>
        {
            foreach (var job in _active.Values) CancelQuietly(job);
        });
    }

    public IJobStore Store => _store;

    /// <summary>Validates and compiles the request, then queues it.</summary>
    /// <exception cref="ProblemException">400/413 for a bad request, 429 when the queue is full, 503 while shutting down.</exception>
    /// <param name="owner">The API key's owner the job belongs to; null when the service runs without keys.</param>
    public async Task<MinimizeJob> SubmitAsync(MinimizeRequest request, string? owner)
    {
        if (_stopping.IsCancellationRequested)
            throw new ProblemException(503, "shutting-down", "The service is shutting down", "The service is shutting down and takes no new jobs; retry against another instance.");
        _store.Prune();
        var (source, target) = LossSource(request);
        var settings = OptimizerRequests.ToSettings(request.Optimizer);
        var rules = StoppingRulesOf(request);
        if (request.RecordEvery < 1)
            throw Problems.Invalid("recordEvery", $"recordEvery must be 1 or more, not {request.RecordEvery}.");
        var formula = source.Parse(_cache, _limits.FormulaLimits);
        var data = DataSource.Resolve(request.Data, request.Dataset, _datasets, owner, formula,
            () => GradientService.BoundNames(request.Parameters?.Keys, request.Constants?.Keys));
        var inputs = InputBinding.Bind(request.Parameters, request.Constants, data, _limits, request.Dtype);
        var fit = FitOf(request, inputs, target);
        var bounds = LeastSquaresRequests.Resolve(request.Bounds, inputs);
        var leastSquares = LeastSquaresRequests.Of(formula);
        if (settings.Kind == OptimizerKind.LevenbergMarquardt)
        {
            if (leastSquares is null)
                throw new ProblemException(400, "not-least-squares", "Levenberg-Marquardt needs a least-squares loss",
                    "levenberg-marquardt minimises a sum of squared residuals, but this loss is not mean((r)^2) or sum((r)^2): " +
                    "give 'residuals', or 'model' with loss 'mse', or an expression of that form (without let).",
                    new Dictionary<string, object?> { ["field"] = "optimizer.type" });
            if (fit?.BatchSize is not null)
                throw Problems.Invalid("batchSize", "levenberg-marquardt uses every row in each step (its Jacobian is over all residuals); leave out batchSize.");
        }
        var work = request.Dtype == DType.Float32
            ? Compile<float>(request, source, inputs, settings, rules, fit, bounds, leastSquares)
            : Compile<double>(request, source, inputs, settings, rules, fit, bounds, leastSquares);

        var job = new MinimizeJob
        {
            Id = JobIds.New(),
            Status = JobStatus.Queued,
            Expression = source.Text,
            Dataset = request.Dataset,
            BatchSize = fit?.BatchSize,
            Optimizer = OptimizerRequests.NameOf(settings.Kind),
            Dtype = request.Dtype,
            MaxIterations = rules.MaxIterations,
            Parameters = request.Parameters,
            RecordEvery = request.RecordEvery,
            CreatedAt = _clock.GetUtcNow(),
            StartProjected = bounds?.StartProjection is null ? null : true,
        };
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
        var queued = new QueuedJob(job.Id, work, CancellationTokenSource.CreateLinkedTokenSource(_stopping), request.RecordEvery, _budget,
            job.Optimizer, Activity.Current?.Context ?? default, wallCapBinds: !(request.TimeLimitSeconds < _options.MaxWallSeconds));
        try
        {
            await _store.AddAsync(job, owner);
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

    /// <summary>Requests cancellation; false if the job is unknown. Idempotent.</summary>
    public async Task<bool> CancelAsync(string id, string? owner)
    {
        if (await _store.FindAsync(id, owner) is null) return false;
        // Another process sharing the store may hold the job: ask them all.
        if (!CancelLocal(id)) _store.RequestCancellation(id);
        return true;
    }

    /// <summary>Cancels the job if this process holds it; false if it does not.</summary>
    bool CancelLocal(string id)
    {
        if (!_active.TryGetValue(id, out var job)) return false;
        CancelQuietly(job);
        if (job.Claim())
        {
            // Still waiting for a worker: finish it now and give its place in the queue back.
            Interlocked.Decrement(ref _waiting);
            _active.TryRemove(id, out _);
            job.Work.Release();
            job.Forget();
            Finish(job, new MinimizeCompleted
            {
                Status = JobStatus.Cancelled, StopReason = StopReasonCode.Cancelled, Converged = false, Iterations = 0,
                Message = "Cancelled before it started.",
            });
        }
        return true;
    }

    /// <summary>Cancels a job that may be ending at this very moment: then its token is already disposed, and there is nothing to cancel.</summary>
    static void CancelQuietly(QueuedJob job)
    {
        try
        {
            job.Cancellation.Cancel();
        }
        catch (ObjectDisposedException)
        {
        }
    }

    /// <summary>Waits until the job has finished or the timeout passes; returns the job's latest state.</summary>
    public async Task<MinimizeJob?> WaitAsync(string id, string? owner, TimeSpan timeout, CancellationToken cancellation)
    {
        if (await _store.EventsAsync(id, owner) is { } log) await log.WaitClosedAsync(timeout, cancellation);
        return await _store.FindAsync(id, owner);
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
                    Execute(job);
                }
                catch (Exception e) when (e is not OperationCanceledException || !stopping.IsCancellationRequested)
                {
                    // A store that became unreachable while the job ran or finished: the worker carries on with the next job.
                    _log.LogError(e, "Job {JobId} could not be finished in the store", job.Id);
                    _active.TryRemove(job.Id, out _);
                }
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
            Interlocked.Decrement(ref _waiting);
            job.Work.Release();
            job.Forget();
            _active.TryRemove(job.Id, out _);
            try
            {
                Finish(job, new MinimizeCompleted
                {
                    Status = JobStatus.Cancelled, StopReason = StopReasonCode.Cancelled, Converged = false, Iterations = 0,
                    Message = "Cancelled before it started: the service is shutting down.",
                });
            }
            catch (Exception e)
            {
                _log.LogError(e, "Job {JobId} could not be recorded as cancelled at shutdown", job.Id);
            }
        }
    }

    void Execute(QueuedJob job)
    {
        var log = _store.Events(job.Id);
        if (log is null || job.Cancellation.IsCancellationRequested)
        {
            job.Work.Release();
            _active.TryRemove(job.Id, out _);
            Finish(job, Cancelled(0, job.Cancellation.Token));
            return;
        }
        var started = _clock.GetUtcNow();
        Interlocked.Increment(ref _running);
        var activity = Telemetry.Source.StartActivity("autograd.job", ActivityKind.Internal, job.Parent);
        activity?.SetTag("autograd.job.id", job.Id);
        activity?.SetTag("autograd.optimizer", job.Optimizer);
        _store.Update(job.Id, j => j with { Status = JobStatus.Running, StartedAt = started });
        // The cap on recorded iterations also bounds the numbers they hold, so that a job over many parameters
        // cannot fill memory with its trace.
        var maxEvents = (int)Math.Clamp(_options.MaxEventValuesPerJob / job.Work.ValuesPerRecord, 100, _options.MaxEventsPerJob);
        var progress = new JobProgress(job.Id, _store, log, job.RecordEvery, maxEvents, _options.MaxEventBytesPerJob, _clock, _json);
        MinimizeCompleted completed;
        try
        {
            completed = job.Work.Run(progress, job.Cancellation.Token);
            if (completed.Status == JobStatus.Cancelled && _stopping.IsCancellationRequested)
                completed = completed with { Message = completed.Message + " The service is shutting down." };
            // A time limit the client chose is a stopping rule like maxIterations; the service's own cap is not
            // the client's choice, and a job cut short by it has not done what was asked.
            if (completed.StopReason == StopReasonCode.TimeLimit && job.WallCapBinds)
                completed = completed with
                {
                    Status = JobStatus.Failed,
                    Message = completed.Message + $" This is the service's wall-clock cap per job (Minimize:MaxWallSeconds = {_options.MaxWallSeconds:0.###} s): ask for fewer iterations, or a faster optimizer.",
                };
        }
        catch (Exception e)
        {
            _log.LogError(e, "Job {JobId} failed", job.Id);
            completed = new MinimizeCompleted
            {
                Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false,
                Iterations = progress.LastRecorded, Message = $"The job failed unexpectedly: {e.Message}",
            };
        }
        finally
        {
            progress.Flush();
            _active.TryRemove(job.Id, out _);
            job.Forget();
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
        Finish(job, completed);
        _log.LogInformation("Job {JobId} {Status} after {Iterations} iterations in {Seconds:0.000} s: {StopReason}",
            job.Id, completed.Status, completed.Iterations, (_clock.GetUtcNow() - started).TotalSeconds, completed.StopReason);
    }

    MinimizeCompleted Cancelled(int iterations, CancellationToken token) => new()
    {
        Status = JobStatus.Cancelled, StopReason = StopReasonCode.Cancelled, Converged = false, Iterations = iterations,
        Message = _stopping.IsCancellationRequested ? "Cancelled: the service is shutting down." : "Cancelled before it started.",
    };

    void Finish(QueuedJob queued, MinimizeCompleted completed)
    {
        var id = queued.Id;
        var now = _clock.GetUtcNow();
        double? seconds = null;
        _store.Update(id, job => job with
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
            FinishedAt = now,
            ElapsedSeconds = (seconds = job.StartedAt is { } started ? (now - started).TotalSeconds : null) ?? 0,
        });
        _metrics.Finished(queued.Optimizer, completed.StopReason, completed.Iterations, seconds);
        if (_store.Events(id) is { } log) JobProgress.AppendJson(log, EventKind.Completed, EventStreamResult.CompletedId, completed, _json);
        _store.Prune();
    }

    StoppingRules StoppingRulesOf(MinimizeRequest request)
    {
        if (request.MaxIterations is not { } max)
            throw Problems.Invalid("maxIterations", $"'maxIterations' is required: how many iterations to run at most (up to {_options.MaxIterations:N0}).");
        if (max < 1 || max > _options.MaxIterations)
            throw Problems.Invalid("maxIterations", $"maxIterations must be between 1 and {_options.MaxIterations:N0}, not {max}.");
        CheckTolerance(request.GradientNormTolerance, "gradientNormTolerance");
        CheckTolerance(request.ValueChangeTolerance, "valueChangeTolerance");
        CheckTolerance(request.ParameterChangeTolerance, "parameterChangeTolerance");
        if (request.TimeLimitSeconds is { } seconds && !(seconds > 0 && double.IsFinite(seconds)))
            throw Problems.Invalid("timeLimitSeconds", $"timeLimitSeconds must be a positive number, not {seconds}.");
        var wall = Math.Min(request.TimeLimitSeconds ?? double.MaxValue, _options.MaxWallSeconds);
        return new StoppingRules(max)
        {
            GradientNormTolerance = request.GradientNormTolerance,
            ValueChangeTolerance = request.ValueChangeTolerance,
            ParameterChangeTolerance = request.ParameterChangeTolerance,
            TimeLimit = TimeSpan.FromSeconds(wall),
        };

        static void CheckTolerance(double? value, string field)
        {
            if (value is { } v && !(v >= 0 && double.IsFinite(v)))
                throw Problems.Invalid(field, $"{field} must be a finite number of at least 0, not {v}.");
        }
    }

    /// <summary>The formula to minimise: the expression as given, or the expansion of model, target and loss.</summary>
    static (FormulaSource Source, string? Target) LossSource(MinimizeRequest request)
    {
        if (request.Residuals is not null)
        {
            if (request.Expression is not null || request.Model is not null || request.Target is not null || request.Loss is not null)
                throw Problems.Invalid("residuals", "Give 'residuals' alone: the loss is then sum((residuals)^2), without 'expression', 'model', 'target' or 'loss'.");
            if (string.IsNullOrWhiteSpace(request.Residuals))
                throw Problems.Invalid("residuals", "'residuals' is empty; give one residual per row, e.g. \"y - (b0 + b1*x)\".");
            return (LeastSquaresRequests.LossOfResiduals(request.Residuals), null);
        }
        if (request.Model is null)
        {
            if (string.IsNullOrWhiteSpace(request.Expression))
                throw Problems.Invalid("expression", "Give the loss as 'expression', e.g. \"(a - x[1])^2 + b*(x[2] - x[1]^2)^2\", or as 'model', 'target' and 'loss'.");
            if (request.Target is not null || request.Loss is not null)
                throw Problems.Invalid("target", "'target' and 'loss' go with 'model', not with 'expression'.");
            return (new FormulaSource(request.Expression), null);
        }
        if (request.Expression is not null)
            throw Problems.Invalid("model", "Give either 'expression' or 'model' (with 'target' and 'loss'), not both.");
        if (string.IsNullOrWhiteSpace(request.Model))
            throw Problems.Invalid("model", "'model' is empty; give the prediction as a formula, e.g. \"b0 + b1*x\".");
        if (request.Target is null || !InputBinding.IsValidName(request.Target))
            throw Problems.Invalid("target", "'target' is required with 'model': the name of the data column the model predicts.");
        var loss = request.Loss ?? "mse";
        try
        {
            var (expression, offset) = ModelLoss.Expand(request.Model, request.Target, loss, request.LossOptions);
            return (FormulaSource.ForModel(expression, offset, request.Model), request.Target);
        }
        catch (ArgumentException e)
        {
            var field = ModelLoss.Names.Contains(loss) ? "lossOptions" : "loss";
            throw new ProblemException(400, field == "loss" ? "unknown-loss" : "invalid-loss-option", "The loss is not valid", e.Message,
                new Dictionary<string, object?> { ["field"] = field });
        }
    }

    FitSpec? FitOf(MinimizeRequest request, BoundInputs inputs, string? target)
    {
        var dataSlots = Enumerable.Range(0, inputs.Specs.Count).Where(i => inputs.Specs[i].Kind == InputKind.Data).ToArray();
        if (dataSlots.Length == 0)
        {
            if (request.BatchSize is not null)
                throw Problems.Invalid("batchSize", "batchSize needs data: give 'data' or 'dataset' columns that the formula uses.");
            return null;
        }
        var rows = inputs.Specs[dataSlots[0]].Length;
        if (request.BatchSize is { } batch && (batch < 1 || batch > rows))
            throw Problems.Invalid("batchSize", $"batchSize must be between 1 and the {rows:N0} rows of the data, not {batch}.");
        var targetColumn = target is null ? null : inputs.Specs.Select((spec, i) => (spec, i))
            .Where(p => p.spec.Name == target && p.spec.Kind == InputKind.Data).Select(p => inputs.Values[p.i]).FirstOrDefault();
        if (target is not null && targetColumn is null)
            throw Problems.Invalid("target", $"The target '{target}' is not a data column of this request.");
        var batchSize = request.BatchSize is { } b && b < rows ? b : (int?)null;
        return new FitSpec(rows, batchSize, request.Shuffle, request.Seed, request.Model is null ? null : request.Loss ?? "mse", targetColumn);
    }

    IMinimizeWork Compile<T>(MinimizeRequest request, FormulaSource source, BoundInputs inputs, OptimizerSettings settings,
        StoppingRules rules, FitSpec? fit, BoundsSpec? bounds = null, LeastSquaresSpec? leastSquares = null) where T : IFloatingPointIeee754<T>
    {
        var specs = fit?.BatchSize is { } batch
            ? inputs.Specs.Select(s => s.Kind == InputKind.Data ? s with { Length = batch } : s).ToList()
            : inputs.Specs;
        var compiled = GradientService.Rent<T>(_cache, source, inputs, _limits, specs);
        if (settings.NeedsHessian && compiled.ParameterCount > _limits.MaxHessianParameters)
        {
            _cache.Return(compiled);
            throw Problems.TooLarge("hessian-too-large", "optimizer.type",
                $"newton needs the Hessian over {compiled.ParameterCount:N0} parameter elements; the limit is {_limits.MaxHessianParameters:N0}. Use lbfgs instead.");
        }
        IObjective<T> objective = fit?.BatchSize is { } size
            ? new MiniBatchObjective<T>(compiled,
                Enumerable.Range(0, specs.Count).Where(i => specs[i].Kind == InputKind.Data)
                    .Select(i => (i, GradientService.Convert<T>(inputs.Values[i]))).ToList(),
                size, fit.Shuffle, fit.Seed)
            : new FormulaObjective<T>(compiled);
        return new FormulaMinimizeWork<T>(compiled, objective, inputs, settings, rules, request.IncludeGradient, _cache, source, _limits, fit)
        {
            Bounds = bounds,
            LeastSquares = leastSquares,
        };
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
