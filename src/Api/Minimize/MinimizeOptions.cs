namespace Autograd.Api.Minimize;

/// <summary>Capacity and lifetime of minimisation jobs; configured under <c>Minimize</c>, documented in the README.</summary>
public sealed class MinimizeOptions
{
    public const string Section = "Minimize";

    /// <summary>Jobs running at once; 0 means one per processor core.</summary>
    public int Workers { get; set; }

    /// <summary>Jobs waiting for a worker; past it, POST /minimize answers 429.</summary>
    public int MaxQueuedJobs { get; set; } = 32;

    /// <summary>The largest maxIterations a request may ask for.</summary>
    public int MaxIterations { get; set; } = 1_000_000;

    /// <summary>Wall-clock cap on a job's running time, whatever it asks for.</summary>
    public double MaxWallSeconds { get; set; } = 300;

    /// <summary>Recorded iterations kept per job; past it, every other one is dropped and recordEvery doubles.</summary>
    public int MaxEventsPerJob { get; set; } = 100_000;

    /// <summary>Numbers (parameters, gradients, values) the recorded iterations of one job may hold together; lowers the event cap for jobs over many parameters.</summary>
    public long MaxEventValuesPerJob { get; set; } = 5_000_000;

    /// <summary>Bytes the recorded iterations of one job may take; past it, the log is thinned as for the event cap.</summary>
    public long MaxEventBytesPerJob { get; set; } = 32L * 1024 * 1024;

    /// <summary>Seconds a subscriber may take to accept a write; a stuck reader is disconnected after it.</summary>
    public double StreamWriteTimeoutSeconds { get; set; } = 30;

    /// <summary>Finished jobs kept; the oldest go first.</summary>
    public int MaxFinishedJobs { get; set; } = 1_000;

    /// <summary>How long a finished job is kept.</summary>
    public double FinishedJobTtlMinutes { get; set; } = 60;

    /// <summary>Seconds between keep-alive comments on an idle event stream.</summary>
    public double KeepAliveSeconds { get; set; } = 15;

    /// <summary>The longest <c>Prefer: wait=N</c> honoured, in seconds.</summary>
    public int MaxPreferWaitSeconds { get; set; } = 60;

    public int EffectiveWorkers => Workers > 0 ? Workers : Math.Max(1, Environment.ProcessorCount);
}
