using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>
/// The job queue as the service needs it: admit a job against a cap, hand it to one worker under a lease the worker
/// renews, let another worker take it over once the lease expires (resuming from its last checkpoint), cancel it
/// wherever it is, and finish it once. Every write a worker makes about a job carries the epoch of its claim and is
/// refused once another claim superseded it (fencing). Admission and the worker loop (<see cref="MinimizeJobs"/>,
/// <see cref="JobWorkers"/>) are the same for every queue: <see cref="InMemoryJobQueue"/> holds jobs in this process
/// with their compiled work (the default), <see cref="Autograd.Api.Redis.RedisJobQueue"/> keeps them in Redis for replicas to share.
/// </summary>
public interface IJobQueue
{
    /// <summary>
    /// True when other processes share the queue: a job a stopping worker lets go of is resumed by another, and a
    /// replica whose role is <c>api</c> runs none. False for a queue in this process's memory, whose jobs end with it.
    /// </summary>
    bool Shared { get; }

    /// <summary>Jobs waiting for a worker (for the metrics); over every replica for a shared queue.</summary>
    int Waiting { get; }

    /// <summary>Takes a place in the queue if fewer than <paramref name="cap"/> jobs wait, counted over every replica.</summary>
    ValueTask<bool> TryReserveAsync(int cap);

    /// <summary>Gives a reserved place back, for a job that could not be recorded.</summary>
    ValueTask ReleaseAsync();

    /// <summary>
    /// Queues a job whose record exists, into a place reserved for it. True if the queue keeps the translation's compiled
    /// work (and its charge to this process's memory budget) for the worker that claims it; false if the caller lets go of
    /// it, and a worker rebuilds the work from the spec.
    /// </summary>
    ValueTask<bool> EnqueueAsync(MinimizeSpec spec, MinimizeTranslation translation);

    /// <summary>The next job for <paramref name="worker"/>: a new one, else one whose lease expired; null if there is none.</summary>
    JobClaim? Claim(string worker);

    /// <summary>Returns once a job may be there to claim or once stopping; a queue that is not told of new jobs returns after <paramref name="poll"/>.</summary>
    void WaitForWork(TimeSpan poll, CancellationToken stopping);

    /// <summary>Hands a claimed job back unstarted, for any worker to claim at once (its claimant cannot hold its work now).</summary>
    void Return(JobClaim claim);

    /// <summary>Applies <paramref name="change"/> to the job's record while the claim holds; false, and nothing written, once it was superseded.</summary>
    bool UpdateRecord(JobClaim claim, Func<MinimizeJob, MinimizeJob> change);

    /// <summary>Extends the claim's lease; says whether it is still held, lost to another claim, or the job was cancelled.</summary>
    LeaseState Renew(JobClaim claim, string worker);

    /// <summary>Saves a checkpoint under the claim; false if the claim was superseded.</summary>
    bool SaveCheckpoint(JobClaim claim, MinimizerCheckpoint checkpoint);

    /// <summary>The job's event log for the holder of <paramref name="claim"/>: its appends are refused once the claim is superseded.</summary>
    IEventLog FencedEvents(JobClaim claim);

    /// <summary>
    /// Ends the job under the claim atomically: changes its record, appends the completed event and removes it from
    /// the queue; false if the claim was superseded, and then nothing is written.
    /// </summary>
    bool Complete(JobClaim claim, Func<MinimizeJob, MinimizeJob> change, ReadOnlySpan<byte> completedFrame, int dataOffset);

    /// <summary>Marks the job cancelled wherever it is (idempotent); true if it was still waiting, so that the caller finishes it.</summary>
    ValueTask<bool> CancelAsync(string id);

    /// <summary>
    /// Takes out the jobs still waiting that no other process will run once this one stops, for the caller to finish
    /// as cancelled: their ids and optimizers. Empty for a shared queue.
    /// </summary>
    IReadOnlyList<(string Id, string Optimizer)> Drain();

    /// <summary>The job's spec as accepted, while the queue keeps it with the job's record; null if it does not.</summary>
    ValueTask<MinimizeSpec?> FindSpecAsync(string id);
}

/// <summary>A worker's hold on a job: the job, the epoch of this claim, its checkpoint if a previous holder saved one.</summary>
/// <param name="Unreadable">Why the stored spec could not be read back (then <paramref name="Spec"/> holds only the id): the claimant fails the job.</param>
/// <param name="Prepared">The work compiled when this process accepted the job, already charged to its memory budget; null when the worker compiles it from the spec.</param>
public sealed record JobClaim(string EntryId, MinimizeSpec Spec, long Epoch, MinimizerCheckpoint? Checkpoint, string? Unreadable = null,
    MinimizeTranslation? Prepared = null);

public enum LeaseState { Held, Lost, Cancelled }

/// <summary>Roles and the shared queue's timing: <c>Service:Role</c>, <c>Service:LeaseSeconds</c> and the checkpoint cadence.</summary>
public sealed class ServiceOptions
{
    public const string Section = "Service";

    /// <summary><c>api</c> (answers requests, runs no jobs), <c>worker</c> (runs jobs from the shared queue) or <c>all</c>.</summary>
    public string Role { get; set; } = "all";

    /// <summary>How long a worker's claim lasts unless renewed; a job whose worker died is taken over after it.</summary>
    public double LeaseSeconds { get; set; } = 10;

    /// <summary>A running job's checkpoint is saved at least this often...</summary>
    public double CheckpointSeconds { get; set; } = 5;

    /// <summary>...and at least every this many iterations.</summary>
    public int CheckpointIterations { get; set; } = 1000;

    /// <summary>How often an idle worker looks for work (it is also woken when a job is queued).</summary>
    public double PollSeconds { get; set; } = 0.25;

    public bool RunsApi => Role is "api" or "all";
    public bool RunsWorkers => Role is "worker" or "all";
}
