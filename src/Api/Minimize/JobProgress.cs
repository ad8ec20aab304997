using Autograd.Contracts;

namespace Autograd.Api.Minimize;

/// <summary>
/// What a running job reports through: recorded iterations go to its event log (thinned past the cap),
/// and the status snapshot in the store follows along without being rewritten on every iteration.
/// </summary>
public sealed class JobProgress(string jobId, IJobStore store, EventLog log, int recordEvery, int maxEvents, TimeProvider clock)
{
    static readonly TimeSpan SnapshotInterval = TimeSpan.FromMilliseconds(200);
    long _lastSnapshot;
    int _recorded;

    public int RecordEvery { get; private set; } = recordEvery;
    public int LastRecorded { get; private set; }

    public bool ShouldRecord(int iteration) => iteration % RecordEvery == 0;

    /// <param name="final">The job's last iteration: recorded even if thinning just moved the grid past it.</param>
    public void Record(MinimizeProgress progress, bool final = false)
    {
        if (_recorded >= maxEvents)
        {
            Thin();
            if (!final && !ShouldRecord(progress.Iteration)) return;
        }
        log.Append(JobEvent.IterationType, progress.Iteration, progress);
        _recorded++;
        LastRecorded = progress.Iteration;
        Snapshot(progress.Iteration, progress.Value, progress.GradientNorm, progress.Parameters);
    }

    /// <summary>Updates the status snapshot at most every 200 ms unless forced; parameters are built only when it does.</summary>
    public void Snapshot(int iteration, double value, double gradientNorm, Dictionary<string, NumberOrVector>? parameters, bool force = false)
    {
        var now = clock.GetTimestamp();
        if (!force && clock.GetElapsedTime(_lastSnapshot, now) < SnapshotInterval) return;
        _lastSnapshot = now;
        store.Update(jobId, job => job with
        {
            Iteration = iteration,
            Value = value,
            GradientNorm = gradientNorm,
            Parameters = parameters ?? job.Parameters,
            RecordEvery = RecordEvery,
            RecordedIterations = _recorded,
        });
    }

    /// <summary>Brings the counts of recorded iterations in the status up to date; called when the job ends.</summary>
    public void Flush() =>
        store.Update(jobId, job => job with { RecordEvery = RecordEvery, RecordedIterations = _recorded });

    public bool SnapshotDue => clock.GetElapsedTime(_lastSnapshot) >= SnapshotInterval;

    void Thin()
    {
        RecordEvery *= 2;
        log.Thin(RecordEvery);
        _recorded = log.IterationCount;
        var message = $"The job reached its cap of {maxEvents:N0} recorded iterations: only every {RecordEvery}th iteration is kept from now on, and older ones were thinned to match.";
        log.Append(JobEvent.DecimatedType, null, new MinimizeDecimated { RecordEvery = RecordEvery, Message = message });
        store.Update(jobId, job => job with { Decimated = true, RecordEvery = RecordEvery, RecordedIterations = _recorded });
    }
}
