using System.Globalization;
using Autograd.Api.Minimize;
using StackExchange.Redis;

namespace Autograd.Api.Redis;

/// <summary>
/// A job's event log as a Redis stream that every replica reads. Entry ids are explicit and derive from the SSE id:
/// iteration n is <c>0-2n</c>, an event between iterations (decimated) takes the next odd id, and the completed event
/// is <c>0-9223372036854775807</c>, the last possible; so <c>Last-Event-ID: n</c> is an XRANGE from <c>0-(2n+1)</c>, and an
/// append whose id the stream already passed is refused by Redis rather than stored twice.
/// Appends are fire-and-forget on the multiplexer, which keeps their order; readers poll after a pub/sub wake-up.
/// </summary>
public sealed class RedisEventLog(string jobId, RedisConnection redis, RedisWakeups wakeups, TimeSpan finishedTtl) : IEventLog
{
    /// <summary>How often a waiting reader reads again without a wake-up, so that a lost one only delays it.</summary>
    public static readonly TimeSpan Reread = TimeSpan.FromMilliseconds(500);

    /// <summary>Wake-ups for iterations are sent at most this often per job; other events always send one.</summary>
    const long WakeEveryMilliseconds = 20;
    const int Page = 1024;

    readonly RedisKey _key = Key(jobId);
    long _lastSequence;
    long _bytes;
    int _iterations;
    long _lastWake = long.MinValue / 2;  // Long ago, without overflowing the subtraction below (MinValue made the first wake-up wait).
    int _wakePending;
    bool _closed;

    /// <summary>Set for a worker's log: every append runs in a script that first checks that the job's epoch is still this one.</summary>
    public (RedisKey EpochKey, long Epoch)? Fence { get; init; }

    public static RedisKey Key(string jobId) => RedisConnection.Prefix + "events:" + jobId;

    public long Bytes => Interlocked.Read(ref _bytes);
    public int IterationCount => Volatile.Read(ref _iterations);
    public bool IsEvicted => false;

    public void Append(EventKind kind, int iteration, ReadOnlySpan<byte> frame, int dataOffset)
    {
        if (_closed) return;
        var sequence = kind switch
        {
            EventKind.Iteration => 2L * iteration,
            EventKind.Completed => long.MaxValue,
            _ => _lastSequence + 1,
        };
        if (sequence <= _lastSequence) return;
        _lastSequence = sequence;
        NameValueEntry[] fields =
        [
            new("k", (int)kind), new("i", iteration), new("d", dataOffset), new("f", frame.ToArray()),
        ];
        var database = redis.Database;
        if (Fence is { } fence)
            database.ScriptEvaluate(RedisJobQueue.AppendScript, [fence.EpochKey, _key],
                [fence.Epoch, Id(sequence), (int)kind, iteration, dataOffset, frame.ToArray()], CommandFlags.FireAndForget);
        else
            database.StreamAdd(_key, fields, messageId: Id(sequence), flags: CommandFlags.FireAndForget);
        Interlocked.Add(ref _bytes, frame.Length);
        if (kind == EventKind.Iteration) Interlocked.Increment(ref _iterations);
        if (kind == EventKind.Completed)
        {
            _closed = true;
            database.KeyExpire(_key, finishedTtl, flags: CommandFlags.FireAndForget);
        }
        var now = Environment.TickCount64;
        if (kind != EventKind.Iteration || now - _lastWake >= WakeEveryMilliseconds)
        {
            _lastWake = now;
            wakeups.Publish(jobId);
        }
        else if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            // A trailing wake-up at the window's end: an iteration appended inside it then waits at most one window, not
            // until the next wake-up or the readers' periodic re-read (the last iterations before a pause or a long end).
            Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(WakeEveryMilliseconds - (now - _lastWake), 1, WakeEveryMilliseconds))).ContinueWith(_ =>
            {
                Volatile.Write(ref _wakePending, 0);
                wakeups.Publish(jobId);
            }, TaskScheduler.Default);
        }
    }

    public void Thin(int keepMultiplesOf)
    {
        var database = redis.Database;
        var drop = new List<RedisValue>();
        long bytes = 0;
        var iterations = 0;
        foreach (var entry in ReadAll(database))
        {
            var (_, kind, iteration, frame, _) = Parse(entry);
            if (kind == EventKind.Iteration && iteration % keepMultiplesOf != 0 && iteration != 1)
            {
                drop.Add(entry.Id);
                continue;
            }
            bytes += frame.Length;
            if (kind == EventKind.Iteration) iterations++;
        }
        foreach (var chunk in drop.Chunk(Page)) database.StreamDelete(_key, chunk);
        Interlocked.Exchange(ref _bytes, bytes);
        Volatile.Write(ref _iterations, iterations);
    }

    IEnumerable<StreamEntry> ReadAll(IDatabase database)
    {
        var after = 0L;
        while (true)
        {
            var entries = database.StreamRange(_key, Id(after + 1), "+", Page);
            foreach (var entry in entries) yield return entry;
            if (entries.Length < Page) yield break;
            after = Sequence(entries[^1].Id);
        }
    }

    public long Evict()
    {
        redis.Database.KeyDelete(_key, CommandFlags.FireAndForget);
        return 0;
    }

    public async ValueTask<EventRead> ReadAfterAsync(long afterSequence, int afterIteration, List<EventFrame> frames, CancellationToken cancellation = default)
    {
        if (afterSequence == long.MaxValue) return new EventRead(afterSequence, true, false, Task.CompletedTask);
        var changed = wakeups.Next(jobId);
        var entries = await redis.Database.StreamRangeAsync(_key, Id(afterSequence + 1), "+", Page);
        var cursor = afterSequence;
        var ended = false;
        foreach (var entry in entries)
        {
            var (sequence, kind, iteration, frame, dataOffset) = Parse(entry);
            cursor = sequence;
            ended |= kind == EventKind.Completed;
            if (kind == EventKind.Iteration && iteration <= afterIteration) continue;
            frames.Add(new EventFrame(sequence, kind, iteration, frame, dataOffset));
        }
        if (ended) return new EventRead(cursor, true, false, Task.CompletedTask);
        if (entries.Length == Page) return new EventRead(cursor, false, false, Task.CompletedTask);
        return new EventRead(cursor, false, false, Task.WhenAny(changed, Task.Delay(Reread, cancellation)));
    }

    public async ValueTask<List<EventFrame>> SnapshotAsync(CancellationToken cancellation = default)
    {
        var frames = new List<EventFrame>();
        var after = 0L;
        while (after != long.MaxValue)
        {
            var entries = await redis.Database.StreamRangeAsync(_key, Id(after + 1), "+", Page);
            foreach (var entry in entries)
            {
                var (sequence, kind, iteration, frame, dataOffset) = Parse(entry);
                frames.Add(new EventFrame(sequence, kind, iteration, frame, dataOffset));
                after = sequence;
            }
            if (entries.Length < Page) break;
        }
        return frames;
    }

    static RedisValue Id(long sequence) => "0-" + sequence.ToString(CultureInfo.InvariantCulture);

    static long Sequence(RedisValue id)
    {
        var text = id.ToString();
        return long.Parse(text.AsSpan(text.IndexOf('-') + 1), NumberStyles.None, CultureInfo.InvariantCulture);
    }

    static (long Sequence, EventKind Kind, int Iteration, byte[] Frame, int DataOffset) Parse(StreamEntry entry)
    {
        EventKind kind = default;
        int iteration = 0, dataOffset = 0;
        byte[] frame = [];
        foreach (var field in entry.Values)
        {
            switch ((string?)field.Name)
            {
                case "k": kind = (EventKind)(int)field.Value; break;
                case "i": iteration = (int)field.Value; break;
                case "d": dataOffset = (int)field.Value; break;
                case "f": frame = (byte[])field.Value!; break;
            }
        }
        return (Sequence(entry.Id), kind, iteration, frame, dataOffset);
    }
}
