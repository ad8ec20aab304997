using System.Text.Json;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// Job records in Redis, shared by every replica: one JSON string per job (its owner and its status), a sorted set of
/// ids by creation time per owner for listing, and the job's events in a <see cref="RedisEventLog"/>. Updates are
/// optimistic: the change is applied to the record read and written only if the record is still that one (a
/// transaction with a condition), else read and applied again. A finished job's record, events and spec expire after
/// <see cref="MinimizeOptions.FinishedJobTtlMinutes"/>; Redis, not the memory budget, holds them. Finished jobs are also
/// listed by when they finished (<see cref="Finished"/>), so that past <see cref="MinimizeOptions.MaxFinishedJobs"/> the
/// oldest go first, as in memory.
/// </summary>
public sealed class RedisJobStore : IJobStore
{
    static readonly RedisChannel CancelChannel = RedisChannel.Literal(RedisConnection.Prefix + "cancel");

    sealed record Stored(string? Owner, MinimizeJob Job);

    readonly RedisConnection _redis;
    readonly RedisWakeups _wakeups;
    readonly JsonSerializerOptions _json;
    readonly TimeSpan _ttl;
    readonly ILogger<RedisJobStore> _log;
    readonly IOptions<MinimizeOptions> _options;
    readonly TimeProvider _clock;

    /// <summary>Ids of finished jobs scored by when they finished (Unix milliseconds).</summary>
    public static readonly RedisKey Finished = RedisConnection.Prefix + "jobs:finished";

    // KEYS: finished. ARGV: jobs kept, cutoff (ms; those finished before it have expired), key prefix. The keys of a job
    // are built here from its id: one Redis server, not a cluster.
    const string PruneScript = """
        redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[2])
        local excess = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[1])
        if excess <= 0 then return 0 end
        local ids = redis.call('ZRANGE', KEYS[1], 0, excess - 1)
        for _, id in ipairs(ids) do
          redis.call('DEL', ARGV[3] .. 'job:' .. id, ARGV[3] .. 'events:' .. id, ARGV[3] .. 'spec:' .. id)
        end
        redis.call('ZREMRANGEBYRANK', KEYS[1], 0, excess - 1)
        return excess
        """;

    public RedisJobStore(RedisConnection redis, RedisWakeups wakeups, IOptions<JsonOptions> json, IOptions<MinimizeOptions> options,
        TimeProvider clock, ILogger<RedisJobStore> log)
    {
        (_redis, _wakeups, _json, _log, _options, _clock) = (redis, wakeups, json.Value.SerializerOptions, log, options, clock);
        var minutes = options.Value.FinishedJobTtlMinutes;
        _ttl = double.IsFinite(minutes) && minutes > 0 ? TimeSpan.FromMinutes(Math.Min(minutes, 60 * 24 * 365)) : TimeSpan.FromHours(1);
    }

    public static RedisKey JobKey(string id) => RedisConnection.Prefix + "job:" + id;

    static RedisKey IndexKey(string? owner) => RedisConnection.Prefix + "jobs:" + (owner is null ? "-" : "owner:" + owner);

    public void Add(MinimizeJob job, string? owner)
    {
        var transaction = _redis.Database.CreateTransaction();
        _ = transaction.StringSetAsync(JobKey(job.Id), Serialize(new Stored(owner, job)));
        _ = transaction.SortedSetAddAsync(IndexKey(owner), job.Id, job.CreatedAt.ToUnixTimeMilliseconds());
        transaction.Execute();
    }

    public async ValueTask AddAsync(MinimizeJob job, string? owner)
    {
        var transaction = _redis.Database.CreateTransaction();
        _ = transaction.StringSetAsync(JobKey(job.Id), Serialize(new Stored(owner, job)));
        _ = transaction.SortedSetAddAsync(IndexKey(owner), job.Id, job.CreatedAt.ToUnixTimeMilliseconds());
        await transaction.ExecuteAsync();
    }

    public MinimizeJob? Find(string id) => Read(id)?.Job;

    public async ValueTask<MinimizeJob?> FindAsync(string id, string? owner)
    {
        var value = await _redis.Database.StringGetAsync(JobKey(id));
        return !value.IsNull && Deserialize(value) is { } stored && stored.Owner == owner ? stored.Job : null;
    }

    public async ValueTask<IEventLog?> EventsAsync(string id, string? owner) => await FindAsync(id, owner) is null ? null : Log(id);

    public MinimizeJob? Find(string id, string? owner) => Read(id) is { } stored && stored.Owner == owner ? stored.Job : null;

    Stored? Read(string id)
    {
        var value = _redis.Database.StringGet(JobKey(id));
        return value.IsNull ? null : Deserialize(value);
    }

    public void Update(string id, Func<MinimizeJob, MinimizeJob> change)
    {
        var database = _redis.Database;
        var key = JobKey(id);
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var current = database.StringGet(key);
            if (current.IsNull) return;
            var stored = Deserialize(current);
            var next = stored with { Job = change(stored.Job) };
            var transaction = database.CreateTransaction();
            transaction.AddCondition(Condition.StringEqual(key, current));
            var finished = next.Job.FinishedAt is not null;
            _ = transaction.StringSetAsync(key, Serialize(next));
            if (finished)
            {
                _ = transaction.KeyExpireAsync(key, _ttl);
                _ = transaction.KeyExpireAsync(RedisEventLog.Key(id), _ttl);
                _ = transaction.KeyExpireAsync(RedisJobQueue.SpecKey(id), _ttl);
                _ = transaction.SortedSetAddAsync(Finished, id, next.Job.FinishedAt!.Value.ToUnixTimeMilliseconds());
            }
            if (transaction.Execute()) return;
        }
        throw new InvalidOperationException($"Job {id} changed 100 times while being updated; giving up.");
    }

    /// <summary>
    /// The stored record of the job and the one <paramref name="change"/> makes of it, as stored bytes, and when the
    /// changed job finished (Unix milliseconds; 0 while it has not).
    /// </summary>
    public (byte[] Current, byte[] Next, long FinishedAt) Change(string id, Func<MinimizeJob, MinimizeJob> change)
    {
        var current = _redis.Database.StringGet(JobKey(id));
        if (current.IsNull) throw new InvalidOperationException($"Job {id} has no record.");
        var stored = Deserialize(current);
        var next = change(stored.Job);
        return ((byte[])current!, Serialize(stored with { Job = next }), next.FinishedAt?.ToUnixTimeMilliseconds() ?? 0);
    }

    /// <summary>The job's log whose appends are refused once <paramref name="epochKey"/> no longer holds <paramref name="epoch"/>.</summary>
    public RedisEventLog FencedLog(string id, RedisKey epochKey, long epoch) => new(id, _redis, _wakeups, _ttl) { Fence = (epochKey, epoch) };

    public IEventLog? Events(string id) => Find(id) is null ? null : Log(id);

    public IEventLog? Events(string id, string? owner) => Find(id, owner) is null ? null : Log(id);

    RedisEventLog Log(string id) => new(id, _redis, _wakeups, _ttl);

    public IReadOnlyList<MinimizeJob> Recent(int limit, string? owner) => RecentAsync(limit, owner).AsTask().GetAwaiter().GetResult();

    public async ValueTask<IReadOnlyList<MinimizeJob>> RecentAsync(int limit, string? owner)
    {
        var database = _redis.Database;
        var index = IndexKey(owner);
        var jobs = new List<MinimizeJob>(limit);
        var expired = new List<RedisValue>();
        for (long start = 0; jobs.Count < limit; start += limit)
        {
            var ids = await database.SortedSetRangeByRankAsync(index, start, start + limit - 1, Order.Descending);
            if (ids.Length == 0) break;
            var values = await database.StringGetAsync(ids.Select(id => JobKey(id.ToString())).ToArray());
            for (var i = 0; i < ids.Length && jobs.Count < limit; i++)
            {
                if (values[i].IsNull)
                {
                    expired.Add(ids[i]);
                    continue;
                }
                jobs.Add(Deserialize(values[i]).Job);
            }
            if (ids.Length < limit) break;
        }
        // Expired records leave the index too; after the loop, so that ranks do not shift under it.
        if (expired.Count > 0) database.SortedSetRemove(index, [.. expired], CommandFlags.FireAndForget);
        return jobs;
    }

    /// <summary>
    /// Forgets the oldest finished jobs past <see cref="MinimizeOptions.MaxFinishedJobs"/> (record, events and spec); their
    /// age is enforced by Redis itself (the keys' time to live). Fire-and-forget: callers are requests and workers, and the
    /// commands after it on this connection see its effect.
    /// </summary>
    public void Prune()
    {
        var cutoff = _clock.GetUtcNow().Subtract(_ttl).ToUnixTimeMilliseconds();
        try
        {
            _redis.Database.ScriptEvaluate(PruneScript, [Finished], [Math.Max(0, _options.Value.MaxFinishedJobs), cutoff, RedisConnection.Prefix],
                CommandFlags.FireAndForget);
        }
        catch (Exception e) when (e is RedisException or TimeoutException)
        {
            // Redis unreachable: the next prune catches up.
            _log.LogDebug(e, "Pruning finished jobs skipped: Redis is unreachable");
        }
    }

    public void RequestCancellation(string id) => _redis.Subscriber.Publish(CancelChannel, id);

    public void OnCancellationRequested(Action<string> cancel) =>
        _redis.Subscriber.SubscribeAsync(CancelChannel, (_, id) =>
            // Off the multiplexer's thread: cancelling finishes a queued job, which writes to Redis synchronously.
            ThreadPool.QueueUserWorkItem(_ =>
            {
                try
                {
                    cancel(id.ToString());
                }
                catch (Exception e)
                {
                    _log.LogError(e, "Cancelling job {JobId} on request from another replica failed", id.ToString());
                }
            })).ContinueWith(t => _ = t.Exception, TaskScheduler.Default);

    byte[] Serialize(Stored stored) => JsonSerializer.SerializeToUtf8Bytes(stored, _json);

    Stored Deserialize(RedisValue value) => JsonSerializer.Deserialize<Stored>((byte[])value!, _json)
        ?? throw new InvalidOperationException("A job record in Redis is null.");
}
