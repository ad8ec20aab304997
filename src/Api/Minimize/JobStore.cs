using System.Collections.Concurrent;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>
/// Where jobs' records and event logs live, described by what the service needs rather than how memory holds
/// them, so that a remote store can honour it: create a record, read it, update it by a function (a store retries
/// the function on a concurrent change), list the recent ones, expire the finished ones, hand out a job's event
/// log, and tell every process sharing the store that a job is to be cancelled. In-process memory is the default;
/// Redis (<see cref="Autograd.Api.Redis.RedisJobStore"/>) lets replicas share jobs. Lookups that take an owner see only that
/// owner's jobs (null: the service runs without API keys, one user).
/// </summary>
public interface IJobStore
{
    void Add(MinimizeJob job, string? owner);
    MinimizeJob? Find(string id);
    MinimizeJob? Find(string id, string? owner);
    /// <summary>Replaces the record with <c>change(current)</c>; nothing if the job is unknown. <paramref name="change"/> may run more than once.</summary>
    void Update(string id, Func<MinimizeJob, MinimizeJob> change);
    IEventLog? Events(string id);
    IEventLog? Events(string id, string? owner);
    IReadOnlyList<MinimizeJob> Recent(int limit, string? owner);

    // Requests read through these: a remote store answers them without holding a thread (blocking thread-pool threads
    // on a multiplexer starves the very threads that complete its answers).
    ValueTask<MinimizeJob?> FindAsync(string id, string? owner);
    ValueTask<IEventLog?> EventsAsync(string id, string? owner);
    ValueTask<IReadOnlyList<MinimizeJob>> RecentAsync(int limit, string? owner);
    ValueTask AddAsync(MinimizeJob job, string? owner);

    /// <summary>Forgets finished jobs past the retention count and age.</summary>
    void Prune();

    /// <summary>Asks every process sharing this store to cancel the job if it holds it (idempotent, may be lost: a request).</summary>
    void RequestCancellation(string id);

    /// <summary>Registers what this process does when any process asks for a job to be cancelled.</summary>
    void OnCancellationRequested(Action<string> cancel);
}

/// <summary>Job ids: 128-bit random GUIDs (122 random bits), so that an id cannot be guessed.</summary>
public static class JobIds
{
    public static string New() => Guid.NewGuid().ToString("n");
}

/// <summary>
/// Jobs and their event logs in this process's memory. Event logs count against the memory budget; when it is
/// short, the logs of the jobs that finished first are evicted (their summaries stay).
/// </summary>
public sealed class InMemoryJobStore : IJobStore
{
    sealed record Entry(MinimizeJob Job, EventLog Log, string? Owner);

    readonly ConcurrentDictionary<string, Entry> _jobs = new();
    readonly IOptions<MinimizeOptions> _options;
    readonly TimeProvider _clock;
    readonly MemoryBudget _budget;
    readonly ILogger<InMemoryJobStore> _log;
    readonly ConcurrentBag<Action<string>> _cancellationHandlers = [];

    public InMemoryJobStore(IOptions<MinimizeOptions> options, TimeProvider clock, MemoryBudget budget, ILogger<InMemoryJobStore> log)
    {
        (_options, _clock, _budget, _log) = (options, clock, budget, log);
        budget.AddReclaimer(EvictOldestLogs);
    }

    public void Add(MinimizeJob job, string? owner) => _jobs[job.Id] = new Entry(job, new EventLog(_budget), owner);

    public MinimizeJob? Find(string id) => _jobs.TryGetValue(id, out var entry) ? entry.Job : null;

    public MinimizeJob? Find(string id, string? owner) => _jobs.TryGetValue(id, out var entry) && entry.Owner == owner ? entry.Job : null;

    public void Update(string id, Func<MinimizeJob, MinimizeJob> change)
    {
        while (_jobs.TryGetValue(id, out var entry))
            if (_jobs.TryUpdate(id, entry with { Job = change(entry.Job) }, entry)) return;
    }

    public IEventLog? Events(string id) => _jobs.TryGetValue(id, out var entry) ? entry.Log : null;

    public IEventLog? Events(string id, string? owner) => _jobs.TryGetValue(id, out var entry) && entry.Owner == owner ? entry.Log : null;

    public ValueTask<MinimizeJob?> FindAsync(string id, string? owner) => ValueTask.FromResult(Find(id, owner));

    public ValueTask<IEventLog?> EventsAsync(string id, string? owner) => ValueTask.FromResult(Events(id, owner));

    public ValueTask<IReadOnlyList<MinimizeJob>> RecentAsync(int limit, string? owner) => ValueTask.FromResult(Recent(limit, owner));

    public ValueTask AddAsync(MinimizeJob job, string? owner)
    {
        Add(job, owner);
        return ValueTask.CompletedTask;
    }

    /// <summary>One process holds every job: the request reaches this process's handlers at once.</summary>
    public void RequestCancellation(string id)
    {
        foreach (var cancel in _cancellationHandlers) cancel(id);
    }

    public void OnCancellationRequested(Action<string> cancel) => _cancellationHandlers.Add(cancel);

    public IReadOnlyList<MinimizeJob> Recent(int limit, string? owner) =>
        _jobs.Values.Where(e => e.Owner == owner).Select(e => e.Job).OrderByDescending(j => j.CreatedAt).Take(limit).ToList();

    public void Prune()
    {
        var settings = _options.Value;
        var cutoff = _clock.GetUtcNow().AddMinutes(-settings.FinishedJobTtlMinutes);
        var finished = _jobs.Values.Where(e => e.Job.FinishedAt is not null).OrderByDescending(e => e.Job.FinishedAt).ToList();
        foreach (var (entry, index) in finished.Select((e, i) => (e, i)))
            if (index >= settings.MaxFinishedJobs || entry.Job.FinishedAt < cutoff)
                if (_jobs.TryRemove(entry.Job.Id, out var removed)) removed.Log.Evict();
    }

    /// <summary>Evicts the event logs of finished jobs, oldest first, until <paramref name="wanted"/> bytes are freed.</summary>
    long EvictOldestLogs(long wanted)
    {
        var freed = 0L;
        var evicted = 0;
        foreach (var entry in _jobs.Values.Where(e => e.Log.IsClosed && !e.Log.IsEvicted).OrderBy(e => e.Job.FinishedAt ?? DateTimeOffset.MaxValue))
        {
            if (freed >= wanted) break;
            var bytes = entry.Log.Evict();
            if (bytes == 0) continue;
            freed += bytes;
            evicted++;
            Update(entry.Job.Id, job => job with { EventsEvicted = true });
        }
        if (evicted > 0)
            _log.LogInformation("Evicted the event logs of {Count} finished jobs ({Bytes:N0} bytes) to stay within the memory budget", evicted, freed);
        return freed;
    }
}

/// <summary>
/// Forgets finished jobs once they pass their time to live, also while no job is submitted or finishes
/// (which prune as well): an idle service does not keep event logs past <see cref="MinimizeOptions.FinishedJobTtlMinutes"/>.
/// </summary>
public sealed class JobRetention(IJobStore store, IOptions<MinimizeOptions> options, TimeProvider clock, ILogger<JobRetention> logger)
    : BackgroundService
{
    /// <summary>A quarter of the time to live, between one second and one minute.</summary>
    public static TimeSpan Period(MinimizeOptions options) =>
        TimeSpan.FromMinutes(double.IsNaN(options.FinishedJobTtlMinutes) ? 1 : Math.Clamp(options.FinishedJobTtlMinutes / 4, 1.0 / 60, 1));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(Period(options.Value), clock);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    store.Prune();
                }
                catch (Exception e)
                {
                    logger.LogError(e, "Pruning finished jobs failed; trying again in {Period}", Period(options.Value));
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
    }
}
