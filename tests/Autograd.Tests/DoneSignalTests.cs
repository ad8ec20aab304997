namespace Autograd.Tests;

public class DoneSignalTests
{
    [Fact]
    public void AWaitThatBlocksAllocatesNothingAndEndsWhenSet()
    {
        var signal = new DoneSignal();
        for (var round = 0; round < 3; round++)
        {
            signal.Reset();
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
            Assert.Equal(0, allocated);
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
