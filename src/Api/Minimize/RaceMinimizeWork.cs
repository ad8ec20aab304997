using System.Diagnostics;
using System.Numerics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>One configuration of a race: where it stands in <c>optimizers</c>, its label and its engine settings.</summary>
public sealed record RaceEntrant(int Run, string Label, OptimizerSettings Settings);

/// <summary>Reads the <c>optimizers</c> of a request into race entrants, with 400 problems naming the bad field.</summary>
public static class RaceRequests
{
    public const int MinRuns = 2, MaxRuns = 8, MaxLabelLength = 64;

    /// <summary>The entrants, or null when the request is not a race.</summary>
    public static IReadOnlyList<RaceEntrant>? Parse(MinimizeRequest request)
    {
        if (request.Optimizers is not { } optimizers)
        {
            if (request.RaceTarget is not null)
                throw Problems.Invalid("raceTarget", "raceTarget goes with 'optimizers' (a race), not with a single 'optimizer'.");
            return null;
        }
        if (request.Optimizer is not null)
            throw Problems.Invalid("optimizers", "Give either 'optimizer' (one run) or 'optimizers' (a race of 2 to 8 runs), not both.");
        if (optimizers.Length is < MinRuns or > MaxRuns)
            throw Problems.Invalid("optimizers", $"A race takes {MinRuns} to {MaxRuns} optimizers, not {optimizers.Length}.");
        if (request.RaceTarget is { } target && !double.IsFinite(target))
            throw Problems.Invalid("raceTarget", $"raceTarget must be a finite number, not {target}.");
        var settings = new OptimizerSettings[optimizers.Length];
        for (var i = 0; i < optimizers.Length; i++) settings[i] = SettingsOf(optimizers[i], i);
        var entrants = new List<RaceEntrant>();
        for (var i = 0; i < optimizers.Length; i++)
        {
            var label = optimizers[i].Label;
            if (label is not null && (string.IsNullOrWhiteSpace(label) || label.Length > MaxLabelLength))
                throw Problems.Invalid($"optimizers[{i}].label", $"A label must be 1 to {MaxLabelLength} characters, not blank.");
            var kind = settings[i].Kind;
            var type = OptimizerRequests.NameOf(kind);
            var repeated = optimizers.Where((o, j) => o.Label is null && settings[j].Kind == kind).Count() > 1;
            entrants.Add(new RaceEntrant(i, label ?? (repeated ? $"{type} #{i + 1}" : type), settings[i]));
        }
        if (entrants.GroupBy(e => e.Label).FirstOrDefault(g => g.Count() > 1) is { } twice)
            throw Problems.Invalid("optimizers", $"Two runs are labelled '{twice.Key}'; labels must differ.");
        return entrants;
    }

    static OptimizerSettings SettingsOf(OptimizerRequest? optimizer, int i)
    {
        if (optimizer is null) throw Problems.Invalid($"optimizers[{i}]", $"optimizers[{i}] is null; give an object with a 'type'.");
        try
        {
            return OptimizerRequests.ToSettings(optimizer);
        }
        catch (ProblemException problem)
        {
            // The same problem, pointing into the array.
            var extensions = problem.Extensions.ToDictionary();
            if (extensions.TryGetValue("field", out var field) && field is string name)
                extensions["field"] = $"optimizers[{i}]" + name["optimizer".Length..];
            throw new ProblemException(problem.Status, problem.Code, problem.Title, $"optimizers[{i}]: {problem.Message}", extensions);
        }
    }
}

/// <summary>
/// Whose turn it is in a race: the runs take one iteration each in index order, round after round, so that the
/// stream shows them side by side and their events' ids rise. One run computes at a time; each counts its own time.
/// </summary>
public sealed class RaceTurns(int runs, double? target)
{
    readonly object _gate = new();
    readonly bool[] _done = new bool[runs];
    readonly long[] _ticks = new long[runs];
    readonly long[] _heldSince = new long[runs];
    readonly int[] _evaluations = new int[runs];
    readonly int?[] _reachedAt = new int?[runs];
    readonly double?[] _secondsToTarget = new double?[runs];
    readonly bool[] _begun = new bool[runs];
    int _turn;

    public int Runs => runs;

    /// <summary>Called as run <paramref name="run"/> starts iteration <paramref name="iteration"/>: hands the turn on after its first here, then waits for it.</summary>
    public void BeginIteration(int run, int iteration)
    {
        lock (_gate)
        {
            if (_begun[run] && _turn == run) PassLocked(run);
            _begun[run] = true;
            while (_turn != run) Monitor.Wait(_gate);
            _heldSince[run] = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The run has ended (or failed): it takes no more turns.</summary>
    public void Finish(int run)
    {
        lock (_gate)
        {
            _done[run] = true;
            if (_turn == run) PassLocked(run);
        }
    }

    /// <summary>Counts an evaluation; the first of an iteration is the iteration's loss, checked against the target.</summary>
    public void Evaluated(int run, int? iteration, double value)
    {
        _evaluations[run]++;
        if (iteration is { } k && target is { } t && _reachedAt[run] is null && value <= t)
        {
            _reachedAt[run] = k;
            _secondsToTarget[run] = Seconds(run, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>True when no run after <paramref name="run"/> is still going: its iteration ends a round.</summary>
    public bool EndsRound(int run)
    {
        lock (_gate)
        {
            for (var i = run + 1; i < runs; i++) if (!_done[i]) return false;
            return true;
        }
    }

    public bool IsDone(int run)
    {
        lock (_gate) return _done[run];
    }

    /// <summary>What the race counts for run <paramref name="run"/> (evaluations, time, when it reached the target), for a checkpoint.</summary>
    public Dictionary<string, double> Export(int run)
    {
        lock (_gate)
        {
            var counters = new Dictionary<string, double> { ["evaluations"] = _evaluations[run], ["seconds"] = Seconds(run, Stopwatch.GetTimestamp()) };
            if (_reachedAt[run] is { } reached) counters["iterationsToTarget"] = reached;
            if (_secondsToTarget[run] is { } seconds) counters["secondsToTarget"] = seconds;
            return counters;
        }
    }

    /// <summary>Takes over what <see cref="Export"/> gave, before the run resumes; <paramref name="ended"/> marks a run that does not.</summary>
    public void Import(int run, Dictionary<string, double> counters, bool ended)
    {
        lock (_gate)
        {
            _evaluations[run] = (int)counters["evaluations"];
            _ticks[run] = (long)(counters["seconds"] * Stopwatch.Frequency);
            _reachedAt[run] = counters.TryGetValue("iterationsToTarget", out var reached) ? (int)reached : null;
            _secondsToTarget[run] = counters.TryGetValue("secondsToTarget", out var seconds) ? seconds : null;
        }
        if (ended) Finish(run);
    }

    public int Evaluations(int run) => _evaluations[run];
    public int? IterationsToTarget(int run) => _reachedAt[run];
    public double? SecondsToTarget(int run) => _secondsToTarget[run];

    public double Seconds(int run)
    {
        lock (_gate) return Seconds(run, Stopwatch.GetTimestamp());
    }

    double Seconds(int run, long now) =>
        Stopwatch.GetElapsedTime(0, _ticks[run] + (_turn == run && !_done[run] && _heldSince[run] != 0 ? now - _heldSince[run] : 0)).TotalSeconds;

    void PassLocked(int run)
    {
        if (_heldSince[run] != 0) _ticks[run] += Stopwatch.GetTimestamp() - _heldSince[run];
        _heldSince[run] = 0;
        for (var i = 1; i <= runs; i++)
        {
            var next = (run + i) % runs;
            if (_done[next]) continue;
            _turn = next;
            break;
        }
        Monitor.PulseAll(_gate);
    }
}

/// <summary>A run's loss as the race sees it: each iteration waits for the run's turn; evaluations are counted.</summary>
public sealed class TurnTakingObjective<T>(IObjective<T> inner, RaceTurns turns, int run) : IObjective<T>, IIterationAware,
    ICheckpointedObjective, IReplayHistory where T : IFloatingPointIeee754<T>
{
    int? _iteration;

    public int Dimension => inner.Dimension;

    /// <summary>The run's own objective (over all rows, or mini-batches).</summary>
    public IObjective<T> Inner => inner;

    public MiniBatchState? ExportState() => (inner as ICheckpointedObjective)?.ExportState();

    public void ImportState(MiniBatchState state) =>
        (inner as ICheckpointedObjective ?? throw new ArgumentException("The checkpoint has mini-batches; the objective has none.", nameof(state)))
            .ImportState(state);

    public long ReplayHistory
    {
        get => (inner as IReplayHistory)?.ReplayHistory ?? 0;
        set
        {
            if (inner is IReplayHistory history) history.ReplayHistory = value;
        }
    }

    public void BeginIteration(int iteration)
    {
        turns.BeginIteration(run, iteration);
        (inner as IIterationAware)?.BeginIteration(iteration);
        _iteration = iteration;
    }

    public T ValueAndGradient(ReadOnlySpan<T> x, Span<T> gradient)
    {
        var value = inner.ValueAndGradient(x, gradient);
        turns.Evaluated(run, _iteration, double.CreateChecked(value));
        _iteration = null;
        return value;
    }

    public void Hessian(ReadOnlySpan<T> x, Span<T> matrix) => inner.Hessian(x, matrix);
}

/// <summary>
/// An optimizer race: every entrant's own compiled run from the same start, each on a thread of its own but taking
/// turns (<see cref="RaceTurns"/>), so the result is the same as running them one after the other, iteration by
/// iteration. The completion is the best run's, with every run ranked in <see cref="MinimizeCompleted.Race"/>.
/// </summary>
public sealed class RaceMinimizeWork(IReadOnlyList<RaceEntrant> entrants, IReadOnlyList<IMinimizeWork> runs, RaceTurns turns, double? target)
    : IMinimizeWork
{
    /// <summary>Compiles one run per entrant, each with its own tape; gives back what was compiled if one fails.</summary>
    public static RaceMinimizeWork Compile(IReadOnlyList<RaceEntrant> entrants, double? target,
        Func<OptimizerSettings, RaceTurns, int, IMinimizeWork> compile)
    {
        var turns = new RaceTurns(entrants.Count, target);
        var runs = new List<IMinimizeWork>();
        try
        {
            foreach (var entrant in entrants) runs.Add(compile(entrant.Settings, turns, entrant.Run));
        }
        catch
        {
            foreach (var run in runs) run.Release();
            throw;
        }
        return new RaceMinimizeWork(entrants, runs, turns, target);
    }

    public int ValuesPerRecord => runs.Max(r => r.ValuesPerRecord);

    public long RetainedBytes => runs.Sum(r => r.RetainedBytes);

    public void Release()
    {
        foreach (var run in runs) run.Release();
    }

    static readonly System.Text.Json.JsonSerializerOptions ResultJson = new()
    {
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation) => Run(progress, cancellation, null, null);

    /// <summary>
    /// Runs the race, from <paramref name="resume"/> if given. A checkpoint is offered to <paramref name="onCheckpoint"/> when
    /// a round ends (the last run still going has done its iteration; the others wait for their turn, so their state is
    /// that of the same round): each run's own checkpoint, or the result of a run that has ended, and the race's counters.
    /// </summary>
    public MinimizeCompleted Run(JobProgress progress, CancellationToken cancellation, MinimizerCheckpoint? resume, CheckpointCallback? onCheckpoint)
    {
        var results = new MinimizeCompleted[runs.Count];
        if (resume is not null && resume.Lanes?.Length != runs.Count)
        {
            Release();
            throw new ArgumentException($"The checkpoint is not one of a race of {runs.Count} runs.", nameof(resume));
        }
        var offers = new (int Iteration, Func<MinimizerCheckpoint> Capture)?[runs.Count];
        var earlier = resume?.ElapsedSeconds ?? 0;
        var clock = Stopwatch.StartNew();
        var going = new List<int>();
        for (var i = 0; i < runs.Count; i++)
        {
            if (resume?.Lanes![i] is { } lane)
            {
                if (lane.Ended is { } ended)
                {
                    results[i] = System.Text.Json.JsonSerializer.Deserialize<MinimizeCompleted>(ended, ResultJson)!;
                    runs[i].Release();
                }
                turns.Import(i, lane.Counters, ended: lane.Ended is not null);
                if (lane.Ended is not null) continue;
            }
            going.Add(i);
        }
        var threads = new List<Thread>();
        foreach (var run in going.Skip(1))
        {
            var thread = new Thread(() => RunOne(run)) { IsBackground = true, Name = $"race run {run}" };
            thread.Start();
            threads.Add(thread);
        }
        if (going.Count > 0) RunOne(going[0]);
        foreach (var thread in threads) thread.Join();
        return Ranked(results, cancellation);

        void RunOne(int run)
        {
            try
            {
                results[run] = runs[run].Run(progress.Lane(run, runs.Count, entrants[run].Label), cancellation, resume?.Lanes![run].Running,
                    onCheckpoint is null ? null : (iteration, capture) => Offered(run, iteration, capture));
            }
            catch (Exception e)
            {
                results[run] = new MinimizeCompleted
                {
                    Status = JobStatus.Failed, StopReason = StopReasonCode.Error, Converged = false, Iterations = 0,
                    Message = $"The run failed unexpectedly: {e.Message}",
                };
            }
            finally
            {
                turns.Finish(run);
            }
        }

        // Called by a run holding the turn after its update; a run that ends the round offers the race's checkpoint.
        void Offered(int run, int iteration, Func<MinimizerCheckpoint> capture)
        {
            offers[run] = (iteration, capture);
            if (!turns.EndsRound(run)) return;
            for (var i = 0; i < runs.Count; i++)
                if (!turns.IsDone(i) && offers[i]?.Iteration != iteration) return;
            onCheckpoint!(iteration, () => MinimizerCheckpoint.OfLanes(iteration, earlier + clock.Elapsed.TotalSeconds,
                [.. Enumerable.Range(0, runs.Count).Select(i => turns.IsDone(i)
                    ? new LaneCheckpoint(null, System.Text.Json.JsonSerializer.SerializeToElement(results[i], ResultJson), turns.Export(i))
                    : new LaneCheckpoint(offers[i]!.Value.Capture(), null, turns.Export(i)))]));
        }
    }

    MinimizeCompleted Ranked(MinimizeCompleted[] results, CancellationToken cancellation)
    {
        var race = results.Select((r, i) => new RaceRun
        {
            Rank = 0, Run = i, Label = entrants[i].Label, Optimizer = OptimizerRequests.NameOf(entrants[i].Settings.Kind),
            Status = r.Status, StopReason = r.StopReason, Converged = r.Converged, Message = r.Message, Iterations = r.Iterations,
            Evaluations = turns.Evaluations(i), Value = r.Value, GradientNorm = r.GradientNorm, Parameters = r.Parameters,
            Seconds = turns.Seconds(i), IterationsToTarget = turns.IterationsToTarget(i), SecondsToTarget = turns.SecondsToTarget(i),
        })
            .OrderBy(r => r.IterationsToTarget is null)
            .ThenBy(r => r.IterationsToTarget ?? 0)
            .ThenBy(r => r.Status == JobStatus.Failed || r.Value is null)
            .ThenBy(r => r.Value ?? double.PositiveInfinity)
            .ThenBy(r => r.Iterations)
            .ThenBy(r => r.Run)
            .Select((r, i) => r with { Rank = i + 1 })
            .ToArray();
        var best = race[0];
        var winner = results[best.Run];
        var cancelled = cancellation.IsCancellationRequested && results.All(r => r.Status == JobStatus.Cancelled);
        var reached = target is { } t ? $" {race.Count(r => r.IterationsToTarget is not null)} of {race.Length} reached the target loss {t}." : "";
        return winner with
        {
            Message = cancelled
                ? $"Race of {race.Length} runs cancelled."
                : $"Race of {race.Length} runs: best '{best.Label}' with loss {best.Value} after {best.Iterations} iterations.{reached} {winner.Message}",
            Race = race,
        };
    }
}
