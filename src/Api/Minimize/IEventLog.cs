namespace Autograd.Api.Minimize;

/// <summary>
/// A job's append-only event log, as the service needs it whatever holds it: the job's worker appends SSE frames
/// (each with its event's id), any number of readers read after a position and wait for more, the completed event
/// closes it, and a store may evict it. <see cref="EventLog"/> holds it in memory; <see cref="Autograd.Api.Redis.RedisEventLog"/>
/// in a Redis stream that replicas share.
/// </summary>
public interface IEventLog
{
    /// <summary>Appends one event; ignored once the log is closed or evicted. Never blocks on I/O.</summary>
    /// <param name="iteration">The iteration an <see cref="EventKind.Iteration"/> event reports (its SSE id); 0 for other kinds.</param>
    /// <param name="frame">The whole SSE frame, ending with a blank line.</param>
    /// <param name="dataOffset">Where the JSON data starts in <paramref name="frame"/>.</param>
    void Append(EventKind kind, int iteration, ReadOnlySpan<byte> frame, int dataOffset);

    /// <summary>Bytes of events this log holds, as far as its writer knows: the cap on a job's events is checked against it.</summary>
    long Bytes { get; }

    /// <summary>Iteration events held, as far as the writer knows.</summary>
    int IterationCount { get; }

    /// <summary>Keeps only the first iteration and those whose number is a multiple of <paramref name="keepMultiplesOf"/>.</summary>
    void Thin(int keepMultiplesOf);

    /// <summary>True once the log's events were given up to stay within the memory budget.</summary>
    bool IsEvicted { get; }

    /// <summary>Gives the log's events up; returns the bytes freed where the store counts them.</summary>
    long Evict();

    /// <summary>
    /// Adds to <paramref name="frames"/> the events after the opaque position <paramref name="afterSequence"/> (0: from
    /// the start), skipping iteration events numbered <paramref name="afterIteration"/> or lower.
    /// <see cref="EventRead.Changed"/> completes when more may have arrived: wait on it (with your own timeout or
    /// cancellation) and read again.
    /// </summary>
    ValueTask<EventRead> ReadAfterAsync(long afterSequence, int afterIteration, List<EventFrame> frames, CancellationToken cancellation = default);

    /// <summary>Every event held, in order; empty once evicted.</summary>
    ValueTask<List<EventFrame>> SnapshotAsync(CancellationToken cancellation = default);
}

/// <summary>Waits on an event log without reading its events.</summary>
public static class EventLogWaiting
{
    /// <summary>A position after every event but the completed one: reading from it returns at most the completion.</summary>
    public const long End = long.MaxValue - 1;

    /// <summary>Waits until the log is closed (its completed event written), the timeout passes or cancellation; true if closed.</summary>
    public static async Task<bool> WaitClosedAsync(this IEventLog log, TimeSpan timeout, CancellationToken cancellation)
    {
        using var timer = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
        timer.CancelAfter(timeout);
        var frames = new List<EventFrame>();
        try
        {
            while (true)
            {
                frames.Clear();
                var read = await log.ReadAfterAsync(End, int.MaxValue, frames, timer.Token);
                if (read.Ended || frames.Any(f => f.Kind == EventKind.Completed)) return true;
                await read.Changed.WaitAsync(timer.Token);
            }
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }
}
