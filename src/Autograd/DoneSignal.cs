namespace Autograd;

/// <summary>
/// A worker's "rows done" signal for the replays that split rows over two threads: spins briefly, then blocks on a
/// monitor made with the signal. <see cref="ManualResetEventSlim"/> creates its lock object the first time a wait has
/// to block, which put 24 bytes on a replay that should allocate nothing, whenever the machine was busy enough.
/// </summary>
internal sealed class DoneSignal
{
    readonly object _gate = new();
    volatile bool _set;

    public void Reset() => _set = false;

    public void Set()
    {
        lock (_gate)
        {
            _set = true;
            Monitor.PulseAll(_gate);
        }
    }

    public void Wait()
    {
        var spinner = new SpinWait();
        while (!_set && !spinner.NextSpinWillYield) spinner.SpinOnce();
        if (_set) return;
        lock (_gate)
            while (!_set) Monitor.Wait(_gate);
    }
}
