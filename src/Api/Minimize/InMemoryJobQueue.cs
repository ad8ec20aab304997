using System.Collections.Concurrent;
using System.Threading.Channels;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Optimization;

namespace Autograd.Api.Minimize;

/// <summary>
/// The queue in this process's memory, the default: jobs wait in a channel with the work compiled when they were
/// accepted (charged to the memory budget until their worker lets go of it), and end with the process. One process
/// holds every claim, so there is nothing to fence (an epoch of 1) or to checkpoint, and leases always hold.
/// </summary>
public sealed class InMemoryJobQueue(IJobStore store, MemoryBudget budget) : IJobQueue
{
    sealed class Entry(MinimizeSpec spec, MinimizeTranslation translation)
    {
        const int Waiting = 0, Claimed = 1, Ended = 2;
        int _state;
        MinimizeTranslation? _translation = translation;
        volatile bool _cancelled;

        public MinimizeSpec Spec { get; } = spec;
        public string Optimizer { get; } = translation.Record.Optimizer;
        public bool Cancelled => _cancelled;

        public void Cancel() => _cancelled = true;

        /// <summary>True for exactly one caller: the worker that claims the job, or the cancel or shutdown that ends it unstarted.</summary>
        public bool TryClaim() => Interlocked.CompareExchange(ref _state, Claimed, Waiting) == Waiting;
        public bool TryEnd() => Interlocked.CompareExchange(ref _state, Ended, Waiting) == Waiting;

        /// <summary>The compiled work, handed over once: the queue keeps no reference to it afterwards.</summary>
        public MinimizeTranslation? Take() => Interlocked.Exchange(ref _translation, null);
    }

    readonly Channel<Entry> _queue = Channel.CreateUnbounded<Entry>();
    readonly ConcurrentDictionary<string, Entry> _jobs = new();
    int _waiting;

    public bool Shared => false;

    /// <summary>Places taken: jobs waiting for a worker, and jobs being admitted.</summary>
    public int Waiting => Volatile.Read(ref _waiting);

    public ValueTask<bool> TryReserveAsync(int cap)
    {
        if (Interlocked.Increment(ref _waiting) <= cap) return ValueTask.FromResult(true);
        Interlocked.Decrement(ref _waiting);
        return ValueTask.FromResult(false);
    }

    public ValueTask ReleaseAsync()
    {
        Interlocked.Decrement(ref _waiting);
        return ValueTask.CompletedTask;
    }

    public ValueTask<bool> EnqueueAsync(MinimizeSpec spec, MinimizeTranslation translation)
    {
        var entry = new Entry(spec, translation);
        _jobs[spec.Id] = entry;
        _queue.Writer.TryWrite(entry);
        return ValueTask.FromResult(true);
    }

    public JobClaim? Claim(string worker)
    {
        while (_queue.Reader.TryRead(out var entry))
        {
            // Skipped: cancelled while it waited, and already finished.
            if (!entry.TryClaim()) continue;
            Interlocked.Decrement(ref _waiting);
            return new JobClaim(worker, entry.Spec, 1, null, Prepared: entry.Take());
        }
        return null;
    }

    /// <summary>Blocks until a job is queued (or stopping): a channel says when, no polling needed.</summary>
    public void WaitForWork(TimeSpan poll, CancellationToken stopping)
    {
        try
        {
            _queue.Reader.WaitToReadAsync(stopping).AsTask().GetAwaiter().GetResult();
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
    }

    public void Return(JobClaim claim)
    {
        Interlocked.Increment(ref _waiting);
        var entry = new Entry(claim.Spec, claim.Prepared ?? throw new InvalidOperationException("A job of this process is returned with its work."));
        _jobs[claim.Spec.Id] = entry;
        _queue.Writer.TryWrite(entry);
    }

    public bool UpdateRecord(JobClaim claim, Func<MinimizeJob, MinimizeJob> change)
    {
        store.Update(claim.Spec.Id, change);
        return true;
    }

    public LeaseState Renew(JobClaim claim, string worker) =>
        _jobs.TryGetValue(claim.Spec.Id, out var entry) && entry.Cancelled ? LeaseState.Cancelled : LeaseState.Held;

    /// <summary>Nothing to save: the process that runs the job is the only one that could resume it.</summary>
    public bool SaveCheckpoint(JobClaim claim, MinimizerCheckpoint checkpoint) => true;

    public IEventLog FencedEvents(JobClaim claim) =>
        store.Events(claim.Spec.Id) ?? throw new InvalidOperationException($"Job {claim.Spec.Id} has no event log.");

    public bool Complete(JobClaim claim, Func<MinimizeJob, MinimizeJob> change, ReadOnlySpan<byte> completedFrame, int dataOffset)
    {
        var id = claim.Spec.Id;
        store.Update(id, change);
        store.Events(id)?.Append(EventKind.Completed, 0, completedFrame, dataOffset);
        _jobs.TryRemove(id, out _);
        return true;
    }

    public ValueTask<bool> CancelAsync(string id)
    {
        if (!_jobs.TryGetValue(id, out var entry)) return ValueTask.FromResult(false);
        entry.Cancel();
        if (!entry.TryEnd()) return ValueTask.FromResult(false);
        // Still waiting: its place in the queue and its memory are given back at once.
        End(entry);
        return ValueTask.FromResult(true);
    }

    public IReadOnlyList<(string Id, string Optimizer)> Drain()
    {
        var ended = new List<(string, string)>();
        while (_queue.Reader.TryRead(out var entry))
        {
            if (!entry.TryEnd()) continue;
            End(entry);
            ended.Add((entry.Spec.Id, entry.Optimizer));
        }
        return ended;
    }

    /// <summary>Kept with the exports (<see cref="Export.ExportRecipes"/>), not here.</summary>
    public ValueTask<MinimizeSpec?> FindSpecAsync(string id) => ValueTask.FromResult<MinimizeSpec?>(null);

    void End(Entry entry)
    {
        Interlocked.Decrement(ref _waiting);
        _jobs.TryRemove(entry.Spec.Id, out _);
        if (entry.Take() is { } translation)
        {
            var bytes = translation.Work.RetainedBytes;
            translation.Work.Release();
            budget.Release(bytes);
        }
    }
}
