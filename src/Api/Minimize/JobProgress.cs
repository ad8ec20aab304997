using System.Buffers;
using System.Text;
using System.Text.Json;
using Autograd.Contracts;

namespace Autograd.Api.Minimize;

/// <summary>
/// What a running job reports through: recorded iterations are written once, as the bytes of their
/// server-sent-event frame, straight into the job's event log (thinned past the caps); the status snapshot in
/// the store follows along without being rewritten on every iteration.
/// </summary>
public sealed class JobProgress
{
    static readonly TimeSpan SnapshotInterval = TimeSpan.FromMilliseconds(200);

    readonly string _jobId;
    readonly IJobStore _store;
    readonly IEventLog _log;
    readonly int _maxEvents;
    readonly long _maxBytes;
    readonly TimeProvider _clock;
    readonly JsonSerializerOptions _json;
    readonly ArrayBufferWriter<byte> _frame = new(1024);
    readonly Utf8JsonWriter _writer;
    long _lastSnapshot;
    int _recorded;
    int _dataOffset;
    int _pendingIteration;

    public JobProgress(string jobId, IJobStore store, IEventLog log, int recordEvery, int maxEvents, long maxBytes, TimeProvider clock,
        JsonSerializerOptions json)
    {
        (_jobId, _store, _log, _maxEvents, _maxBytes, _clock, _json) = (jobId, store, log, maxEvents, maxBytes, clock, json);
        RecordEvery = recordEvery;
        _writer = new Utf8JsonWriter(_frame, new JsonWriterOptions { SkipValidation = true });
    }

    public int RecordEvery { get; private set; }
    public int LastRecorded { get; private set; }

    /// <summary>The first iteration is always recorded, so that every trace shows where the run started.</summary>
    public bool ShouldRecord(int iteration) => iteration == 1 || iteration % RecordEvery == 0;

    /// <summary>
    /// Starts recording an iteration: true with <see cref="Writer"/> ready for the event's JSON object, which
    /// <see cref="EndRecord"/> then appends; false when thinning has just moved the grid past it.
    /// </summary>
    /// <param name="final">The job's last iteration: recorded even if thinning just moved the grid past it.</param>
    public bool BeginRecord(int iteration, bool final = false)
    {
        if (_recorded >= _maxEvents || _log.Bytes >= _maxBytes)
        {
            Thin();
            if (!final && !ShouldRecord(iteration)) return false;
        }
        _frame.ResetWrittenCount();
        _dataOffset = WriteHeader(_frame, iteration.ToString(System.Globalization.CultureInfo.InvariantCulture), EventKind.Iteration);
        _writer.Reset(_frame);
        _pendingIteration = iteration;
        return true;
    }

    public Utf8JsonWriter Writer => _writer;

    public void EndRecord()
    {
        _writer.Flush();
        _frame.Write("\n\n"u8);
        _log.Append(EventKind.Iteration, _pendingIteration, _frame.WrittenSpan, _dataOffset);
        _recorded++;
        LastRecorded = _pendingIteration;
    }

    /// <summary>Updates the status snapshot at most every 200 ms unless forced; parameters are built only when it does.</summary>
    public void Snapshot(int iteration, double value, double gradientNorm, Func<Dictionary<string, NumberOrVector>>? parameters, bool force = false)
    {
        var now = _clock.GetTimestamp();
        if (!force && _clock.GetElapsedTime(_lastSnapshot, now) < SnapshotInterval) return;
        _lastSnapshot = now;
        var current = parameters?.Invoke();
        _store.Update(_jobId, job => job with
        {
            Iteration = iteration,
            Value = double.IsFinite(value) ? value : job.Value,
            GradientNorm = double.IsFinite(gradientNorm) ? gradientNorm : job.GradientNorm,
            Parameters = current ?? job.Parameters,
            RecordEvery = RecordEvery,
            RecordedIterations = _recorded,
        });
    }

    /// <summary>Brings the counts of recorded iterations in the status up to date; called when the job ends.</summary>
    public void Flush() =>
        _store.Update(_jobId, job => job with { RecordEvery = RecordEvery, RecordedIterations = _recorded });

    public bool SnapshotDue => _clock.GetElapsedTime(_lastSnapshot) >= SnapshotInterval;

    void Thin()
    {
        RecordEvery *= 2;
        _log.Thin(RecordEvery);
        _recorded = _log.IterationCount;
        var message = $"The job reached its cap of {_maxEvents:N0} recorded iterations or {_maxBytes:N0} bytes of events: only every {RecordEvery}th iteration (and the first) is kept from now on, and older ones were thinned to match.";
        AppendJson(_log, EventKind.Decimated, null, new MinimizeDecimated { RecordEvery = RecordEvery, Message = message }, _json);
        _store.Update(_jobId, job => job with { Decimated = true, RecordEvery = RecordEvery, RecordedIterations = _recorded });
    }

    /// <summary>Appends an event whose data is a contract serialised as JSON: the rare events (decimated, completed).</summary>
    public static void AppendJson<TData>(IEventLog log, EventKind kind, string? id, TData data, JsonSerializerOptions json)
    {
        var (frame, offset) = Frame(kind, id, data, json);
        log.Append(kind, 0, frame, offset);
    }

    /// <summary>The whole SSE frame of an event whose data is a contract serialised as JSON, and where its data starts.</summary>
    public static (byte[] Frame, int DataOffset) Frame<TData>(EventKind kind, string? id, TData data, JsonSerializerOptions json)
    {
        var frame = new ArrayBufferWriter<byte>(512);
        var offset = WriteHeader(frame, id, kind);
        using (var writer = new Utf8JsonWriter(frame)) JsonSerializer.Serialize(writer, data, json);
        frame.Write("\n\n"u8);
        return (frame.WrittenSpan.ToArray(), offset);
    }

    /// <summary>Writes <c>id:</c> (if any), <c>event:</c> and the <c>data: </c> prefix; returns where the data starts.</summary>
    static int WriteHeader(ArrayBufferWriter<byte> frame, string? id, EventKind kind)
    {
        if (id is not null)
        {
            frame.Write("id: "u8);
            Encoding.UTF8.GetBytes(id, frame);
            frame.Write("\n"u8);
        }
        frame.Write(kind switch
        {
            EventKind.Iteration => "event: iteration\ndata: "u8,
            EventKind.Decimated => "event: decimated\ndata: "u8,
            _ => "event: completed\ndata: "u8,
        });
        return frame.WrittenCount;
    }
}
