using System.Collections.Concurrent;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Minimize;

/// <summary>Where jobs' state and event logs live. In-process memory is the default; a shared store lets replicas cooperate.</summary>
public interface IJobStore
{
    void Add(MinimizeJob job);
    MinimizeJob? Find(string id);
    void Update(string id, Func<MinimizeJob, MinimizeJob> change);
    EventLog? Events(string id);
    IReadOnlyList<MinimizeJob> Recent(int limit);
    /// <summary>Forgets finished jobs past the retention count and age.</summary>
    void Prune();
}

/// <summary>Jobs and their event logs in this process's memory.</summary>
public sealed class InMemoryJobStore(IOptions<MinimizeOptions> options, TimeProvider clock) : IJobStore
{
    readonly ConcurrentDictionary<string, (MinimizeJob Job, EventLog Log)> _jobs = new();

    public void Add(MinimizeJob job) => _jobs[job.Id] = (job, new EventLog());

    public MinimizeJob? Find(string id) => _jobs.TryGetValue(id, out var entry) ? entry.Job : null;

    public void Update(string id, Func<MinimizeJob, MinimizeJob> change)
    {
        while (_jobs.TryGetValue(id, out var entry))
            if (_jobs.TryUpdate(id, (change(entry.Job), entry.Log), entry)) return;
    }

    public EventLog? Events(string id) => _jobs.TryGetValue(id, out var entry) ? entry.Log : null;

    public IReadOnlyList<MinimizeJob> Recent(int limit) =>
        _jobs.Values.Select(e => e.Job).OrderByDescending(j => j.CreatedAt).Take(limit).ToList();

    public void Prune()
    {
        var settings = options.Value;
        var cutoff = clock.GetUtcNow().AddMinutes(-settings.FinishedJobTtlMinutes);
        var finished = _jobs.Values.Select(e => e.Job).Where(j => j.FinishedAt is not null)
            .OrderByDescending(j => j.FinishedAt).ToList();
        foreach (var (job, index) in finished.Select((j, i) => (j, i)))
            if (index >= settings.MaxFinishedJobs || job.FinishedAt < cutoff)
                _jobs.TryRemove(job.Id, out _);
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
