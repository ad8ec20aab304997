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

    /// <summary>Applies a change to the job's record; false if it was refused (the writer's claim on the job was superseded).</summary>
    public delegate bool RecordChange(Func<MinimizeJob, MinimizeJob> change);

    readonly string _jobId;
    readonly RecordChange _update;
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
    int _pendingId;
    int _pendingIteration;
    // A race's lane: events of run _run of _runs carry id iteration × _runs + _run, so that ids rise through the
    // interleaved rounds and Last-Event-ID resumes exactly; counts go to the job's own progress.
    int _run, _runs = 1;
    JobProgress? _parent;
    bool _sparser;

    public JobProgress(string jobId, RecordChange update, IEventLog log, int recordEvery, int maxEvents, long maxBytes, TimeProvider clock,
        JsonSerializerOptions json)
    {
        (_jobId, _update, _log, _maxEvents, _maxBytes, _clock, _json) = (jobId, update, log, maxEvents, maxBytes, clock, json);
        RecordEvery = recordEvery;
        _writer = new Utf8JsonWriter(_frame, new JsonWriterOptions { SkipValidation = true });
    }

    public int RecordEvery { get; private set; }
    public int LastRecorded { get; private set; }

    /// <summary>In a race: the run this lane records, and its label; null for a job of one run.</summary>
    public int? Run => _parent is null ? null : _run;
    public string? Label { get; private set; }

    /// <summary>
    /// The progress of run <paramref name="run"/> of a race, writing into the same log. Past the caps a lane does not
    /// thin what is written (thinning by id would drop whole runs); it records half as often each time instead.
    /// </summary>
    public JobProgress Lane(int run, int runs, string label) =>
        new(_jobId, _update, _log, RecordEvery, Math.Max(1, _maxEvents / runs), _maxBytes, _clock, _json)
        {
            _run = run, _runs = runs, _parent = this, Label = label,
        };

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
            if (_parent is null) Thin();
            else RecordLessOften();
            if (!final && !ShouldRecord(iteration)) return false;
        }
        _frame.ResetWrittenCount();
        var id = (long)iteration * _runs + _run;
        _pendingId = (int)Math.Min(id, int.MaxValue);
        _dataOffset = WriteHeader(_frame, _pendingId.ToString(System.Globalization.CultureInfo.InvariantCulture), EventKind.Iteration);
        _writer.Reset(_frame);
        _pendingIteration = iteration;
        return true;
    }

    public Utf8JsonWriter Writer => _writer;

    public void EndRecord()
    {
        _writer.Flush();
        _frame.Write("\n\n"u8);
        _log.Append(EventKind.Iteration, _pendingId, _frame.WrittenSpan, _dataOffset);
        _recorded++;
        if (_parent is not null) _parent._recorded++;
        LastRecorded = _pendingIteration;
    }

    /// <summary>Updates the status snapshot at most every 200 ms unless forced; parameters are built only when it does.</summary>
    public void Snapshot(int iteration, double value, double gradientNorm, Func<Dictionary<string, NumberOrVector>>? parameters, bool force = false)
    {
        var now = _clock.GetTimestamp();
        if (!force && _clock.GetElapsedTime(_lastSnapshot, now) < SnapshotInterval) return;
        _lastSnapshot = now;
        if (_parent is not null)
        {
            // A race's status shows how far its runs got, not one run's point.
            _update(job => job with { Iteration = Math.Max(job.Iteration, iteration), RecordedIterations = _parent._recorded });
            return;
        }
        var current = parameters?.Invoke();
        _update(job => job with
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
        _update(job => job with { RecordEvery = RecordEvery, RecordedIterations = _recorded });

    public bool SnapshotDue => _clock.GetElapsedTime(_lastSnapshot) >= SnapshotInterval;

    void RecordLessOften()
    {
        if (RecordEvery < 1 << 30) RecordEvery *= 2;
        if (_sparser) return;
        _sparser = true;
        var message = $"Run {_run} ('{Label}') reached its share of the job's cap of {_maxEvents * _runs:N0} recorded iterations or {_maxBytes:N0} bytes of events: from now on it records half as often each time it records (every {RecordEvery}th iteration now); what it recorded stays.";
        AppendJson(_log, EventKind.Decimated, null, new MinimizeDecimated { RecordEvery = RecordEvery, Message = message }, _json);
        _update(job => job with { Decimated = true });
    }

    void Thin()
    {
        RecordEvery *= 2;
        _log.Thin(RecordEvery);
        _recorded = _log.IterationCount;
        var message = $"The job reached its cap of {_maxEvents:N0} recorded iterations or {_maxBytes:N0} bytes of events: only every {RecordEvery}th iteration (and the first) is kept from now on, and older ones were thinned to match.";
        AppendJson(_log, EventKind.Decimated, null, new MinimizeDecimated { RecordEvery = RecordEvery, Message = message }, _json);
        _update(job => job with { Decimated = true, RecordEvery = RecordEvery, RecordedIterations = _recorded });
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
