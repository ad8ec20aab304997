namespace Autograd.Tests;

public class DoneSignalTests
{
    [Fact]
    public void AWaitThatBlocksAllocatesNothingAndEndsWhenSet()
    {
        // Round 0 warms the process up (the first blocking wait of a process allocates for its own reasons); each
        // round then blocks on a signal never waited on before, where ManualResetEventSlim would make its lock.
        for (var round = 0; round < 4; round++)
        {
            var signal = new DoneSignal();
            using var started = new ManualResetEventSlim();
            var setter = new Thread(() =>
            {
                started.Set();
                Thread.Sleep(50);
                signal.Set();
            });
            setter.Start();
            started.Wait();
            // The setter sleeps 50 ms: the wait outlasts its spinning and blocks.
            var before = GC.GetAllocatedBytesForCurrentThread();
            signal.Wait();
            var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
            setter.Join();
            if (round > 0) Assert.Equal(0, allocated);
        }
    }

    [Fact]
    public void AWaitOnASetSignalReturnsAtOnceUntilReset()
    {
        var signal = new DoneSignal();
        signal.Set();
        signal.Wait();
        signal.Reset();
        var waiter = new Thread(signal.Wait);
        waiter.Start();
        Assert.False(waiter.Join(100));
        signal.Set();
        Assert.True(waiter.Join(TimeSpan.FromSeconds(30)));
    }
}
