namespace Autograd.Api.Minimize;

/// <summary>One entry of a job's event log. <see cref="Iteration"/> is the SSE id of iteration events.</summary>
/// <param name="Sequence">Position in the log, increasing; never reused, even when entries are dropped.</param>
public sealed record JobEvent(long Sequence, string Type, int? Iteration, object Data)
{
    public const string IterationType = "iteration";
    public const string CompletedType = "completed";
    public const string DecimatedType = "decimated";
}

/// <summary>
/// A job's append-only event log that any number of readers follow from any position. Readers never block
/// the writer: they wait on a signal that each append replaces.
/// </summary>
public sealed class EventLog
{
    readonly object _gate = new();
    readonly List<JobEvent> _events = [];
    // Created by a reader that finds nothing new and completed by the next append, so that appends with no one
    // waiting (the usual case for a fast job) allocate nothing for signalling.
    TaskCompletionSource? _changed;
    long _nextSequence = 1;

    public bool IsClosed { get; private set; }

    public int IterationCount
    {
        get { lock (_gate) return _events.Count(e => e.Type == JobEvent.IterationType); }
    }

    public void Append(string type, int? iteration, object data)
    {
        TaskCompletionSource? changed;
        lock (_gate)
        {
            if (IsClosed) return;
            _events.Add(new JobEvent(_nextSequence++, type, iteration, data));
            if (type == JobEvent.CompletedType) IsClosed = true;
            changed = _changed;
            _changed = null;
        }
        changed?.SetResult();
    }

    /// <summary>Drops every iteration event whose number is not a multiple of <paramref name="keepMultiplesOf"/>.</summary>
    public void Thin(int keepMultiplesOf)
    {
        lock (_gate)
            _events.RemoveAll(e => e.Type == JobEvent.IterationType && e.Iteration % keepMultiplesOf != 0);
    }

    /// <summary>Events after <paramref name="afterSequence"/>, whether the log is closed, and a task that completes on the next append.</summary>
    public (IReadOnlyList<JobEvent> Events, bool Closed, Task Changed) ReadAfter(long afterSequence)
    {
        lock (_gate)
        {
            var start = FirstAfter(afterSequence);
            if (start < _events.Count || IsClosed) return (_events.GetRange(start, _events.Count - start), IsClosed, Task.CompletedTask);
            _changed ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return ([], false, _changed.Task);
        }
    }

    /// <summary>
    /// The sequence to read after so that a client whose last event id was <paramref name="lastIteration"/>
    /// gets exactly the iterations after it, then the completion.
    /// </summary>
    public long SequenceAfterIteration(int lastIteration)
    {
        lock (_gate)
        {
            var next = _events.FindIndex(e => e.Type != JobEvent.DecimatedType && (e.Iteration ?? int.MaxValue) > lastIteration);
            if (next >= 0) return _events[next].Sequence - 1;
            return _events.Count == 0 ? 0 : _events[^1].Sequence;
        }
    }

    public IReadOnlyList<JobEvent> Snapshot()
    {
        lock (_gate) return _events.ToList();
    }

    int FirstAfter(long sequence)
    {
        int low = 0, high = _events.Count;
        while (low < high)
        {
            var middle = (low + high) / 2;
            if (_events[middle].Sequence <= sequence) low = middle + 1;
            else high = middle;
        }
        return low;
    }
}
