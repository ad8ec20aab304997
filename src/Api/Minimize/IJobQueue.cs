using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>
/// The queue that replicas share, as the service needs it: admit a job against a global cap, hand it to one worker
/// under a lease the worker renews, let another worker take it over once the lease expires (resuming from its last
/// checkpoint), cancel it wherever it is, and finish it once. Every write a worker makes about a job carries the
/// epoch of its claim and is refused once another claim superseded it (fencing). <see cref="Autograd.Api.Redis.RedisJobQueue"/>
/// keeps it in Redis. Without Redis, <see cref="MinimizeJobs"/>' own in-process queue holds jobs with their compiled work.
/// </summary>
public interface IJobQueue
{
    /// <summary>Takes a place in the queue if fewer than <paramref name="cap"/> jobs wait, counted over every replica.</summary>
    ValueTask<bool> TryReserveAsync(int cap);

    /// <summary>Gives a reserved place back, for a job that could not be recorded.</summary>
    ValueTask ReleaseAsync();

    /// <summary>Queues a job whose record exists, into a place reserved for it.</summary>
    ValueTask EnqueueAsync(MinimizeSpec spec);

    /// <summary>The next job for <paramref name="worker"/>: a new one, else one whose lease expired; null if there is none.</summary>
    JobClaim? Claim(string worker);

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
}

/// <summary>A worker's hold on a job: the job, the epoch of this claim, its checkpoint if a previous holder saved one.</summary>
/// <param name="Unreadable">Why the stored spec could not be read back (then <paramref name="Spec"/> holds only the id): the claimant fails the job.</param>
public sealed record JobClaim(string EntryId, MinimizeSpec Spec, long Epoch, MinimizerCheckpoint? Checkpoint, string? Unreadable = null);

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
