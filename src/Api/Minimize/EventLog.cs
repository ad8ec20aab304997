using Autograd.Api.Infrastructure;

namespace Autograd.Api.Minimize;

/// <summary>The kinds of event a job's stream carries, as named on the wire.</summary>
public enum EventKind : byte
{
    Iteration,
    Decimated,
    Completed,
}

/// <summary>One event of a log handed to a reader: its SSE frame, and where its JSON data sits in the frame.</summary>
public readonly record struct EventFrame(long Sequence, EventKind Kind, int Iteration, ReadOnlyMemory<byte> Frame, int DataOffset)
{
    /// <summary>The event's JSON data, without the SSE field names and the blank line that ends the frame.</summary>
    public ReadOnlyMemory<byte> Data => Frame[DataOffset..^2];
}

/// <summary>What a reader got: the frames, where to read on from, and what to wait for.</summary>
public readonly record struct EventRead(long Cursor, bool Ended, bool Evicted, Task Changed);

/// <summary>
/// A job's append-only event log that any number of readers follow from any position. Each event is held
/// once, as the bytes of its server-sent-event frame, in shared chunks; every reader writes those same bytes,
/// so an event is serialised once whatever the number of subscribers. Readers never block the writer: they
/// wait on a signal that the next append completes.
/// </summary>
public sealed class EventLog(MemoryBudget budget) : IEventLog
{
    /// <summary>Below the large-object heap's threshold, so that chunks are compacted like any small object.</summary>
    public const int ChunkBytes = 64 * 1024;

    readonly record struct Entry(long Sequence, int Iteration, EventKind Kind, byte[] Chunk, int Offset, int Length, int DataOffset);

    readonly object _gate = new();
    Entry[] _entries = new Entry[16];
    int _count;
    byte[] _chunk = [];
    int _chunkUsed;
    long _bytes;
    long _nextSequence = 1;
    int _iterations;
    // Created by a reader that finds nothing new and completed by the next append, so that appends with no one
    // waiting (the usual case for a fast job) allocate nothing for signalling.
    TaskCompletionSource? _changed;

    public bool IsClosed { get; private set; }

    /// <summary>True once the log gave its memory back to the budget; the job's summary stays, its events are gone.</summary>
    public bool IsEvicted { get; private set; }

    /// <summary>Memory the log holds: its chunks and its index.</summary>
    public long Bytes
    {
        get { lock (_gate) return _bytes; }
    }

    public int IterationCount
    {
        get { lock (_gate) return _iterations; }
    }

    /// <param name="frame">The whole SSE frame, ending with a blank line.</param>
    /// <param name="dataOffset">Where the JSON data starts in <paramref name="frame"/>.</param>
    public void Append(EventKind kind, int iteration, ReadOnlySpan<byte> frame, int dataOffset)
    {
        TaskCompletionSource? changed;
        lock (_gate)
        {
            if (IsClosed || IsEvicted) return;
            AppendLocked(new Entry(_nextSequence++, iteration, kind, [], 0, 0, dataOffset), frame);
            if (kind == EventKind.Iteration) _iterations++;
            if (kind == EventKind.Completed) IsClosed = true;
            changed = _changed;
            _changed = null;
        }
        changed?.SetResult();
    }

    void AppendLocked(Entry entry, ReadOnlySpan<byte> frame)
    {
        byte[] target;
        int offset;
        if (frame.Length > ChunkBytes / 4)
        {
            target = frame.ToArray();
            offset = 0;
            Charge(target.Length);
        }
        else
        {
            if (_chunk.Length - _chunkUsed < frame.Length)
            {
                _chunk = new byte[ChunkBytes];
                _chunkUsed = 0;
                Charge(ChunkBytes);
            }
            (target, offset) = (_chunk, _chunkUsed);
            frame.CopyTo(_chunk.AsSpan(_chunkUsed));
            _chunkUsed += frame.Length;
        }
        if (_count == _entries.Length)
        {
            Charge(_entries.Length * EntryBytes);
            Array.Resize(ref _entries, _entries.Length * 2);
        }
        _entries[_count++] = entry with { Chunk = target, Offset = offset, Length = frame.Length };
    }

    const int EntryBytes = 40;

    void Charge(long bytes)
    {
        _bytes += bytes;
        budget.Charge(bytes);
    }

    /// <summary>Keeps only the first iteration and those whose number is a multiple of <paramref name="keepMultiplesOf"/>, in fresh chunks.</summary>
    public void Thin(int keepMultiplesOf)
    {
        lock (_gate)
        {
            if (IsEvicted) return;
            var kept = _entries.AsSpan(0, _count).ToArray();
            ReleaseLocked();
            _entries = new Entry[Math.Max(16, kept.Length / 2)];
            Charge(_entries.Length * EntryBytes);
            _iterations = 0;
            foreach (var entry in kept)
            {
                if (entry.Kind == EventKind.Iteration && entry.Iteration % keepMultiplesOf != 0 && entry.Iteration != 1) continue;
                AppendLocked(entry, entry.Chunk.AsSpan(entry.Offset, entry.Length));
                if (entry.Kind == EventKind.Iteration) _iterations++;
            }
        }
    }

    /// <summary>Gives the log's memory back; readers see it as evicted. Returns the bytes freed.</summary>
    public long Evict()
    {
        TaskCompletionSource? changed;
        long freed;
        lock (_gate)
        {
            if (IsEvicted) return 0;
            freed = _bytes;
            ReleaseLocked();
            _entries = [];
            IsEvicted = true;
            changed = _changed;
            _changed = null;
        }
        changed?.SetResult();
        return freed;
    }

    void ReleaseLocked()
    {
        budget.Release(_bytes);
        _bytes = 0;
        _count = 0;
        _chunk = [];
        _chunkUsed = 0;
    }

    /// <summary>
    /// Adds to <paramref name="frames"/> the events after <paramref name="afterSequence"/>, up to about
    /// <paramref name="maxBytes"/>; iteration events numbered <paramref name="afterIteration"/> or lower are
    /// skipped (a client that resumed past them has them). <see cref="EventRead.Ended"/> is true once the
    /// completion has been handed out.
    /// </summary>
    public EventRead ReadAfter(long afterSequence, int afterIteration, List<EventFrame> frames, int maxBytes = ChunkBytes)
    {
        lock (_gate)
        {
            if (IsEvicted) return new EventRead(afterSequence, true, true, Task.CompletedTask);
            var cursor = afterSequence;
            var bytes = 0;
            for (var i = FirstAfter(afterSequence); i < _count && bytes < maxBytes; i++)
            {
                var e = _entries[i];
                cursor = e.Sequence;
                if (e.Kind == EventKind.Iteration && e.Iteration <= afterIteration) continue;
                frames.Add(new EventFrame(e.Sequence, e.Kind, e.Iteration, e.Chunk.AsMemory(e.Offset, e.Length), e.DataOffset));
                bytes += e.Length;
            }
            var drained = _count == 0 || cursor >= _entries[_count - 1].Sequence;
            if (!drained || IsClosed) return new EventRead(cursor, IsClosed && drained, false, Task.CompletedTask);
            _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return new EventRead(cursor, false, false, _changed.Task);
        }
    }

    public ValueTask<EventRead> ReadAfterAsync(long afterSequence, int afterIteration, List<EventFrame> frames, CancellationToken cancellation = default) =>
        ValueTask.FromResult(ReadAfter(afterSequence, afterIteration, frames));

    public ValueTask<List<EventFrame>> SnapshotAsync(CancellationToken cancellation = default) => ValueTask.FromResult(Snapshot());

    /// <summary>Every event held, in order.</summary>
    public List<EventFrame> Snapshot()
    {
        var frames = new List<EventFrame>();
        lock (_gate)
            for (var i = 0; i < _count; i++)
            {
                var e = _entries[i];
                frames.Add(new EventFrame(e.Sequence, e.Kind, e.Iteration, e.Chunk.AsMemory(e.Offset, e.Length), e.DataOffset));
            }
        return frames;
    }

    int FirstAfter(long sequence)
    {
        int low = 0, high = _count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_entries[middle].Sequence <= sequence) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
