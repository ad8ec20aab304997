using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Autograd.Optimization;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// The shared queue in Redis. Jobs are entries of one stream read by one consumer group; a job's spec, epoch, lease,
/// cancel mark and checkpoint are keys of their own. Claiming a job increments its epoch and sets a lease (a key with a
/// time to live) that the worker renews; renewing also resets the idle time of its stream entry, so that only the
/// entries of dead workers grow idle past a lease period and are taken over with XAUTOCLAIM. Every write a worker makes
/// (events, progress in the record, checkpoints, the completion) runs in a Lua script that first checks the epoch: a worker whose claim was
/// superseded writes nothing. The count of waiting jobs, and so the 429, is one counter for every replica.
/// </summary>
public sealed class RedisJobQueue : IJobQueue
{
    const string Group = "workers";
    static readonly RedisKey Stream = RedisConnection.Prefix + "queue";
    static readonly RedisKey WaitingKey = RedisConnection.Prefix + "queue:waiting";

    /// <summary>The job's spec as accepted; kept as long as its record, so that any replica can export the job.</summary>
    public static RedisKey SpecKey(string id) => RedisConnection.Prefix + "spec:" + id;
    static RedisKey EpochKey(string id) => RedisConnection.Prefix + "epoch:" + id;
    static RedisKey LeaseKey(string id) => RedisConnection.Prefix + "lease:" + id;
    static RedisKey CancelKey(string id) => RedisConnection.Prefix + "cancel:" + id;
    static RedisKey CheckpointKey(string id) => RedisConnection.Prefix + "checkpoint:" + id;

    /// <summary>
    /// The job's own copy of its stored dataset (the dataset id under which a worker reads it): a job keeps the columns it
    /// was accepted with, so deleting the dataset while the job waits or runs does not disturb it. Not listed nor counted.
    /// </summary>
    static string DatasetCopy(string id) => "job-" + id;

    const string ReserveScript = """
        local n = tonumber(redis.call('GET', KEYS[1]) or '0')
        if n >= tonumber(ARGV[1]) then return 0 end
        redis.call('INCR', KEYS[1])
        return 1
        """;

    // KEYS: epoch, lease, waiting, cancel. ARGV: worker, lease ms, 1 for an entry read for the first time.
    const string AcquireScript = """
        local e = redis.call('GET', KEYS[1])
        if e == 'done' then return -1 end
        if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
        if ARGV[3] == '1' and e == false then redis.call('DECR', KEYS[3]) end
        local n = redis.call('INCR', KEYS[1])
        redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
        return n
        """;

    // KEYS: epoch, lease, cancel, stream. ARGV: epoch, worker, lease ms, group, entry id.
    const string RenewScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        redis.pcall('XCLAIM', KEYS[4], ARGV[4], ARGV[2], 0, ARGV[5], 'JUSTID')
        if redis.call('EXISTS', KEYS[3]) == 1 then return 2 end
        return 1
        """;

    // KEYS: epoch, checkpoint. ARGV: epoch, checkpoint, time to live ms.
    const string CheckpointScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
        return 1
        """;

    // KEYS: epoch, events. ARGV: epoch, entry id, kind, iteration, data offset, frame.
    public const string AppendScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
        local added = redis.pcall('XADD', KEYS[2], ARGV[2], 'k', ARGV[3], 'i', ARGV[4], 'd', ARGV[5], 'f', ARGV[6])
        if type(added) == 'table' and added.err then return 0 end
        return 1
        """;

    // KEYS: epoch, record. ARGV: epoch, expected record, record.
    const string UpdateScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
        redis.call('SET', KEYS[2], ARGV[3], 'KEEPTTL')
        return 1
        """;

    // KEYS: epoch, lease, stream. ARGV: epoch, group, queue entry id, job id. The job goes to the end of the queue as a new
    // entry that any worker reads at once; it is not counted against the cap again.
    const string ReturnScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
        redis.call('DEL', KEYS[2])
        redis.call('XADD', KEYS[3], '*', 'id', ARGV[4])
        redis.call('XACK', KEYS[3], ARGV[2], ARGV[3])
        redis.call('XDEL', KEYS[3], ARGV[3])
        return 1
        """;

    // KEYS: epoch, record, events, lease, stream, checkpoint, spec, finished, dataset copy. ARGV: epoch, expected record,
    // record, ttl ms, completed entry id, kind, iteration, data offset, frame, group, queue entry id, finished at (ms), job id.
    const string CompleteScript = """
        if redis.call('GET', KEYS[1]) ~= ARGV[1] then return -1 end
        if redis.call('GET', KEYS[2]) ~= ARGV[2] then return 0 end
        redis.call('SET', KEYS[2], ARGV[3], 'PX', ARGV[4])
        redis.pcall('XADD', KEYS[3], ARGV[5], 'k', ARGV[6], 'i', ARGV[7], 'd', ARGV[8], 'f', ARGV[9])
        redis.call('PEXPIRE', KEYS[3], ARGV[4])
        redis.call('SET', KEYS[1], 'done', 'PX', ARGV[4])
        redis.call('DEL', KEYS[4], KEYS[6], KEYS[9])
        redis.call('PEXPIRE', KEYS[7], ARGV[4])
        redis.call('ZADD', KEYS[8], ARGV[12], ARGV[13])
        redis.call('XACK', KEYS[5], ARGV[10], ARGV[11])
        redis.call('XDEL', KEYS[5], ARGV[11])
        return 1
        """;

    // KEYS: epoch, waiting, cancel, spec. ARGV: ttl ms. 1 if the job had never been claimed: the caller finishes it.
    const string CancelScript = """
        redis.call('SET', KEYS[3], '1', 'PX', ARGV[1])
        if redis.call('GET', KEYS[1]) == false then
          redis.call('SET', KEYS[1], 'done', 'PX', ARGV[1])
          redis.call('PEXPIRE', KEYS[4], ARGV[1])
          redis.call('DECR', KEYS[2])
          return 1
        end
        return 0
        """;

    readonly RedisConnection _redis;
    readonly RedisJobStore _store;
    readonly RedisWakeups _wakeups;
    readonly JsonSerializerOptions _json;
    readonly ServiceOptions _options;
    readonly long _ttlMilliseconds;
    readonly ILogger<RedisJobQueue> _log;
    int _groupReady;

    public RedisJobQueue(RedisConnection redis, IJobStore store, RedisWakeups wakeups, IOptions<JsonOptions> json,
        IOptions<ServiceOptions> options, IOptions<MinimizeOptions> minimize, ILogger<RedisJobQueue> log)
    {
        (_redis, _store, _wakeups, _options, _log) = (redis, (RedisJobStore)store, wakeups, options.Value, log);
        // Absent optional fields stay absent: the request's converters refuse an explicit null (bounds without a side).
        _json = new JsonSerializerOptions(json.Value.SerializerOptions)
        {
            NumberHandling = JsonNumberHandling.AllowNamedFloatingPointLiterals,
            DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        };
        var minutes = minimize.Value.FinishedJobTtlMinutes;
        _ttlMilliseconds = (long)(double.IsFinite(minutes) && minutes > 0 ? Math.Min(minutes, 60 * 24 * 365) * 60_000 : 3_600_000);
    }

    long LeaseMilliseconds => (long)(_options.LeaseSeconds * 1000);

    public bool Shared => true;

    /// <summary>The count in Redis; the last one seen while Redis is unreachable (metrics must not fail).</summary>
    public int Waiting
    {
        get
        {
            try
            {
                return _lastWaiting = (int)_redis.Database.StringGet(WaitingKey);
            }
            catch (Exception e) when (e is RedisException or TimeoutException)
            {
                return _lastWaiting;
            }
        }
    }

    int _lastWaiting;

    public async ValueTask<bool> TryReserveAsync(int cap) =>
        (long)await _redis.Database.ScriptEvaluateAsync(ReserveScript, [WaitingKey], [cap]) == 1;

    public async ValueTask ReleaseAsync() => await _redis.Database.StringDecrementAsync(WaitingKey);

    /// <summary>Stores the spec and queues the job; a worker anywhere rebuilds its work from the spec, so the caller lets go of it.</summary>
    public async ValueTask<bool> EnqueueAsync(MinimizeSpec spec, MinimizeTranslation translation)
    {
        EnsureGroup();
        var database = _redis.Database;
        await database.StringSetAsync(SpecKey(spec.Id), JsonSerializer.SerializeToUtf8Bytes(spec, _json));
        if (spec.Request.Dataset is { } dataset)
            await database.ExecuteAsync("COPY", RedisDatasetStore.Key(dataset), RedisDatasetStore.Key(DatasetCopy(spec.Id)), "REPLACE");
        await database.StreamAddAsync(Stream, "id", spec.Id);
        return false;
    }

    public void WaitForWork(TimeSpan poll, CancellationToken stopping) => stopping.WaitHandle.WaitOne(poll);

    public void Return(JobClaim claim) =>
        _redis.Database.ScriptEvaluate(ReturnScript, [EpochKey(claim.Spec.Id), LeaseKey(claim.Spec.Id), Stream],
            [claim.Epoch, Group, claim.EntryId, claim.Spec.Id]);

    public bool UpdateRecord(JobClaim claim, Func<MinimizeJob, MinimizeJob> change)
    {
        var id = claim.Spec.Id;
        var database = _redis.Database;
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var (current, next, _) = _store.Change(id, change);
            var result = (long)database.ScriptEvaluate(UpdateScript, [EpochKey(id), RedisJobStore.JobKey(id)], [claim.Epoch, current, next]);
            if (result != 0) return result > 0;
        }
        throw new InvalidOperationException($"Job {id} changed 100 times while being updated; giving up.");
    }

    /// <summary>Nothing: the jobs stay in Redis for the workers of other processes, or of this one after a restart.</summary>
    public IReadOnlyList<(string Id, string Optimizer)> Drain() => [];

    /// <summary>The consumer group, created with the stream; again after Redis lost it (a restart without persistence).</summary>
    void EnsureGroup(bool force = false)
    {
        if (!force && Volatile.Read(ref _groupReady) == 1) return;
        try
        {
            _redis.Database.StreamCreateConsumerGroup(Stream, Group, "0-0", createStream: true);
        }
        catch (RedisServerException e) when (e.Message.Contains("BUSYGROUP", StringComparison.Ordinal))
        {
        }
        Volatile.Write(ref _groupReady, 1);
    }

    public JobClaim? Claim(string worker)
    {
        EnsureGroup();
        var database = _redis.Database;
        StreamEntry[] fresh;
        try
        {
            fresh = database.StreamReadGroup(Stream, Group, worker, ">", 1);
        }
        catch (RedisServerException e) when (e.Message.Contains("NOGROUP", StringComparison.Ordinal))
        {
            EnsureGroup(force: true);
            return null;
        }
        foreach (var entry in fresh)
            if (TryAcquire(entry, worker, isNew: true) is { } claim) return claim;
        var idle = database.StreamAutoClaim(Stream, Group, worker, LeaseMilliseconds, "0-0", 10);
        foreach (var entry in idle.ClaimedEntries)
            if (TryAcquire(entry, worker, isNew: false) is { } claim) return claim;
        return null;
    }

    JobClaim? TryAcquire(StreamEntry entry, string worker, bool isNew)
    {
        var database = _redis.Database;
        var id = (string?)entry["id"];
        if (id is null)
        {
            database.StreamAcknowledge(Stream, Group, entry.Id);
            return null;
        }
        var epoch = (long)database.ScriptEvaluate(AcquireScript, [EpochKey(id), LeaseKey(id), WaitingKey, CancelKey(id)],
            [worker, LeaseMilliseconds, isNew ? 1 : 0]);
        if (epoch == 0) return null;
        var spec = database.StringGet(SpecKey(id));
        if (epoch < 0 || spec.IsNull)
        {
            // Finished or cancelled while it waited: nothing to run.
            database.StreamAcknowledge(Stream, Group, entry.Id);
            database.StreamDelete(Stream, [entry.Id]);
            database.KeyDelete(RedisDatasetStore.Key(DatasetCopy(id)));
            return null;
        }
        MinimizeSpec read;
        try
        {
            read = JsonSerializer.Deserialize<MinimizeSpec>((byte[])spec!, _json)!;
        }
        catch (JsonException e)
        {
            // A spec no worker can read would otherwise be claimed again after every lease, forever.
            _log.LogError(e, "Job {JobId}: its stored spec cannot be read", id);
            return new JobClaim(entry.Id.ToString(), new MinimizeSpec(id, null, new MinimizeRequest(), DateTimeOffset.UnixEpoch), epoch, null, e.Message);
        }
        // The worker reads the job's copy of its dataset (made when the job was queued), not the dataset, which may be gone.
        if (read.Request.Dataset is not null && database.KeyExists(RedisDatasetStore.Key(DatasetCopy(id))))
            read = read with { Request = read.Request with { Dataset = DatasetCopy(id) } };
        var checkpoint = database.StringGet(CheckpointKey(id));
        return new JobClaim(entry.Id.ToString(), read, epoch,
            checkpoint.IsNull ? null : JsonSerializer.Deserialize<MinimizerCheckpoint>((byte[])checkpoint!, _json));
    }

    public LeaseState Renew(JobClaim claim, string worker) =>
        (long)_redis.Database.ScriptEvaluate(RenewScript, [EpochKey(claim.Spec.Id), LeaseKey(claim.Spec.Id), CancelKey(claim.Spec.Id), Stream],
            [claim.Epoch, worker, LeaseMilliseconds, Group, claim.EntryId]) switch
        {
            0 => LeaseState.Lost,
            2 => LeaseState.Cancelled,
            _ => LeaseState.Held,
        };

    public bool SaveCheckpoint(JobClaim claim, MinimizerCheckpoint checkpoint) =>
        (long)_redis.Database.ScriptEvaluate(CheckpointScript, [EpochKey(claim.Spec.Id), CheckpointKey(claim.Spec.Id)],
            [claim.Epoch, JsonSerializer.SerializeToUtf8Bytes(checkpoint, _json), _ttlMilliseconds]) == 1;

    /// <summary>The job's event log for the holder of <paramref name="claim"/>: its appends are refused once the claim is superseded.</summary>
    public IEventLog FencedEvents(JobClaim claim) => _store.FencedLog(claim.Spec.Id, EpochKey(claim.Spec.Id), claim.Epoch);

    /// <summary>Ends the job under the claim; false if the claim was superseded, and then nothing was written.</summary>
    public bool Complete(JobClaim claim, Func<MinimizeJob, MinimizeJob> change, ReadOnlySpan<byte> frame, int dataOffset)
    {
        var id = claim.Spec.Id;
        var database = _redis.Database;
        var bytes = frame.ToArray();
        for (var attempt = 0; attempt < 100; attempt++)
        {
            var (current, next, finishedAt) = _store.Change(id, change);
            var result = (long)database.ScriptEvaluate(CompleteScript,
                [EpochKey(id), RedisJobStore.JobKey(id), RedisEventLog.Key(id), LeaseKey(id), Stream, CheckpointKey(id), SpecKey(id),
                    RedisJobStore.Finished, RedisDatasetStore.Key(DatasetCopy(id))],
                [claim.Epoch, current, next, _ttlMilliseconds, "0-" + long.MaxValue.ToString(CultureInfo.InvariantCulture),
                    (int)EventKind.Completed, 0, dataOffset, bytes, Group, claim.EntryId, finishedAt, id]);
            if (result == 0) continue;
            if (result > 0) _wakeups.Publish(id);
            return result > 0;
        }
        throw new InvalidOperationException($"Job {id} changed 100 times while being completed; giving up.");
    }

    public async ValueTask<bool> CancelAsync(string id) =>
        (long)await _redis.Database.ScriptEvaluateAsync(CancelScript, [EpochKey(id), WaitingKey, CancelKey(id), SpecKey(id)], [_ttlMilliseconds]) == 1;

    /// <summary>The job's spec as accepted, while its record is kept; null once it expired or if it was never queued here.</summary>
    public async ValueTask<MinimizeSpec?> FindSpecAsync(string id)
    {
        var spec = await _redis.Database.StringGetAsync(SpecKey(id));
        if (spec.IsNull) return null;
        try
        {
            return JsonSerializer.Deserialize<MinimizeSpec>((byte[])spec!, _json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
