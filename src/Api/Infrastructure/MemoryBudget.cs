using Microsoft.Extensions.Options;

namespace Autograd.Api.Infrastructure;

/// <summary>The memory budget; configured under <c>Memory</c>, documented in the README.</summary>
public sealed class MemoryOptions
{
    public const string Section = "Memory";

    /// <summary>
    /// Bytes that everything the service retains may take together: event logs, stored datasets, the data and
    /// tapes of accepted jobs, pooled tapes. The default leaves room for the runtime and the garbage collector's headroom in a 2 GB container.
    /// </summary>
    public long BudgetBytes { get; set; } = 512L * 1024 * 1024;
}

/// <summary>
/// One ledger of the memory the service retains. Holders charge what they keep and release it when they let go.
/// A reservation that does not fit first asks the reclaimers (the job store, which evicts the event logs of the
/// oldest finished jobs) to make room; if they cannot, the caller refuses the work.
/// </summary>
public sealed class MemoryBudget(IOptions<MemoryOptions> options) : Autograd.Expressions.IRetainedMemory
{
    long _used;
    readonly List<Func<long, long>> _reclaimers = [];

    public long Limit { get; } = options.Value.BudgetBytes;

    public long Used => Interlocked.Read(ref _used);

    /// <summary>Registers a way to free memory: called with the bytes wanted, returns the bytes freed.</summary>
    public void AddReclaimer(Func<long, long> reclaim)
    {
        lock (_reclaimers) _reclaimers.Add(reclaim);
    }

    /// <summary>Reserves <paramref name="bytes"/> if they fit, after reclaiming if need be; false if they cannot.</summary>
    public bool TryReserve(long bytes)
    {
        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (Interlocked.Add(ref _used, bytes) <= Limit) return true;
            Interlocked.Add(ref _used, -bytes);
            if (Reclaim(Used + bytes - Limit) == 0) return false;
        }
        return false;
    }

    /// <summary>
    /// Charges memory that is already in use and cannot be refused (a running job's log growing within its own cap),
    /// reclaiming from finished jobs to stay within the limit where possible.
    /// </summary>
    public void Charge(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) > Limit && bytes > 0) Reclaim(Used - Limit);
    }

    public void Release(long bytes) => Interlocked.Add(ref _used, -bytes);

    /// <summary>For what may be dropped instead (a pooled tape): reserves only if it fits now, never evicting anything for it.</summary>
    bool Autograd.Expressions.IRetainedMemory.TryReserve(long bytes)
    {
        if (Interlocked.Add(ref _used, bytes) <= Limit) return true;
        Interlocked.Add(ref _used, -bytes);
        return false;
    }

    /// <summary>Whether new work may start: false once the retained memory has reached the limit.</summary>
    public bool HasRoom(long bytes = 0) => Used + bytes <= Limit || Reclaim(Used + bytes - Limit) > 0 && Used + bytes <= Limit;

    long Reclaim(long wanted)
    {
        Func<long, long>[] reclaimers;
        lock (_reclaimers) reclaimers = [.. _reclaimers];
        var freed = 0L;
        foreach (var reclaim in reclaimers)
        {
            if (freed >= wanted) break;
            freed += reclaim(wanted - freed);
        }
        return freed;
    }

    /// <summary>The 503 for work that does not fit.</summary>
    public ProblemException Exhausted(string what, long bytes) =>
        new(StatusCodes.Status503ServiceUnavailable, "memory-budget-exhausted", "The service's memory budget is used up",
            $"{what} needs {bytes:N0} bytes, but {Used:N0} of the {Limit:N0}-byte memory budget (Memory:BudgetBytes) are in use by running jobs and stored datasets. Retry later, or delete datasets you no longer need.",
            new Dictionary<string, object?> { ["retryAfterSeconds"] = 10, ["budgetBytes"] = Limit, ["usedBytes"] = Used });
}
