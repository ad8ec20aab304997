using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Autograd.Api.Infrastructure;

namespace Autograd.Api.Datasets;

/// <summary>
/// Reads a numeric CSV (RFC 4180: a header row of names, comma-separated cells, optional double quotes, line
/// breaks inside quotes) straight from the request's bytes: each cell is parsed in place as UTF-8, never made into
/// a string, and each row goes into budget-charged column blocks as it is read. Errors name the data row (1-based,
/// header excluded), the line and the column.
/// </summary>
public sealed class CsvDatasetReader
{
    static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    readonly DatasetOptions _limits;
    readonly Func<int, ColumnsBuilder> _columnsFor;
    ColumnsBuilder? _columns;
    double[] _row = [];
    string[]? _names;
    int _line;
    int _records;

    CsvDatasetReader(DatasetOptions limits, Func<int, ColumnsBuilder> columnsFor) => (_limits, _columnsFor) = (limits, columnsFor);

    /// <param name="columnsFor">Makes the column store once the header has given the number of columns.</param>
    public static async Task<(string[] Names, double[][] Columns)> ReadAsync(PipeReader body, DatasetOptions limits,
        Func<int, ColumnsBuilder> columnsFor, CancellationToken cancellation)
    {
        var reader = new CsvDatasetReader(limits, columnsFor);
        try
        {
            while (true)
            {
                var result = await body.ReadAsync(cancellation);
                var buffer = result.Buffer;
                SequencePosition consumed;
                try
                {
                    consumed = reader.ReadRecords(buffer, result.IsCompleted);
                }
                catch
                {
                    // Hand the buffer back before failing, so that the server can drain the rest of the body
                    // and keep the connection for the client's next request.
                    body.AdvanceTo(buffer.End);
                    throw;
                }
                body.AdvanceTo(consumed, buffer.End);
                if (result.IsCompleted) break;
            }
            return reader.Finish();
        }
        finally
        {
            reader._columns?.Dispose();
        }
    }

    // Where the scan of an unfinished record stopped, so that a record spread over many reads is scanned once.
    long _scanned;
    bool _inQuotes;
    int _lineFeeds;

    /// <summary>Reads every complete record in the buffer: a record ends at a line feed outside double quotes.</summary>
    SequencePosition ReadRecords(ReadOnlySequence<byte> buffer, bool isFinal)
    {
        var sequence = new SequenceReader<byte>(buffer);
        var start = sequence.Position;
        sequence.Advance(_scanned);
        while (sequence.TryRead(out var b))
        {
            if (b == (byte)'"') _inQuotes = !_inQuotes;
            else if (b == (byte)'\n')
            {
                _lineFeeds++;
                if (_inQuotes) continue;
                var record = buffer.Slice(start, sequence.Position);
                ReadRecord(Span(record.Slice(0, record.Length - 1)), _lineFeeds);
                start = sequence.Position;
                _lineFeeds = 0;
            }
        }
        _scanned = buffer.Slice(start).Length;
        if (isFinal)
        {
            var rest = buffer.Slice(start);
            if (_inQuotes) throw Unclosed(Span(rest));
            if (!rest.IsEmpty) ReadRecord(Span(rest), _lineFeeds + 1);
            return buffer.End;
        }
        return start;
    }

    static ReadOnlySpan<byte> Span(ReadOnlySequence<byte> bytes) => bytes.IsSingleSegment ? bytes.FirstSpan : bytes.ToArray();

    void ReadRecord(ReadOnlySpan<byte> record, int lines)
    {
        _line += Math.Max(1, lines);
        if (_line == 1 && record.StartsWith(Bom)) record = record[Bom.Length..];
        if (record.EndsWith("\r"u8)) record = record[..^1];
        if (record.Trim((byte)' ').IsEmpty) return;
        if (_names is null)
        {
            ReadHeader(record);
            return;
        }
        _records++;
        if (_records > _limits.MaxRows)
            throw Problems.TooLarge("too-many-rows", "dataset", $"The CSV has more than {_limits.MaxRows:N0} data rows, the limit.");
        Span<byte> unquoted = stackalloc byte[128];
        var column = 0;
        foreach (var raw in new CellEnumerator(record))
        {
            if (column == _names.Length) throw Ragged(CountCells(record));
            _row[column] = ParseNumber(Unquote(raw, unquoted, column), column);
            column++;
        }
        if (column != _names.Length) throw Ragged(column);
        _columns!.AddRow(_row);
    }

    void ReadHeader(ReadOnlySpan<byte> line)
    {
        var names = new List<string>();
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        Span<byte> unquoted = stackalloc byte[256];
        foreach (var raw in new CellEnumerator(line))
        {
            if (names.Count == _limits.MaxColumns)
                throw Problems.TooLarge("too-many-columns", "dataset", $"The CSV has more than {_limits.MaxColumns} columns, the limit.");
            var name = Encoding.UTF8.GetString(Unquote(raw, unquoted, names.Count)).Trim();
            var column = names.Count + 1;
            var shown = Problems.Clip(name, 40);
            if (name.Length == 0)
                throw Bad("empty-header", $"Header cell {column} is empty; every column needs a name.", column, null, "");
            if (!InputBinding.IsValidName(name))
                throw Bad("invalid-header", $"Header cell {column} cannot be used in a formula: use letters, digits and '_', not starting with a digit.", column, shown, shown);
            if (seen.TryGetValue(name, out var first))
                throw Bad("duplicate-header", $"Header '{shown}' appears twice (columns {first} and {column}).", column, shown, shown);
            seen.Add(name, column);
            names.Add(name);
        }
        _names = [.. names];
        _row = new double[_names.Length];
        _columns = _columnsFor(_names.Length);
    }

    (string[] Names, double[][] Columns) Finish()
    {
        if (_names is null) throw Bad("empty-dataset", "The CSV is empty: it needs a header row of names and at least one data row.", null, null);
        if (_records == 0) throw Bad("empty-dataset", "The CSV has a header but no data rows.", null, null);
        return (_names, _columns!.Build());
    }

    ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> cell, Span<byte> scratch, int column)
    {
        cell = cell.Trim((byte)' ');
        if (cell.IsEmpty || cell[0] != (byte)'"') return cell;
        if (cell.Length < 2 || cell[^1] != (byte)'"')
            throw Bad("malformed-csv", $"Line {_line}: the quoted cell in column {column + 1} has text after its closing quote or is not closed.", column + 1, null);
        cell = cell[1..^1];
        var length = 0;
        for (var i = 0; i < cell.Length; i++)
        {
            if (length == scratch.Length) return cell;
            scratch[length++] = cell[i];
            if (cell[i] == (byte)'"' && i + 1 < cell.Length && cell[i + 1] == (byte)'"') i++;
        }
        return scratch[..length];
    }

    double ParseNumber(ReadOnlySpan<byte> cell, int column)
    {
        // Leading and trailing white space, line breaks of a quoted cell included, is allowed around a number.
        if (cell.Trim(" \t\r\n"u8).IsEmpty)
            throw Bad("empty-cell", $"Row {_records} (line {_line}), column '{_names![column]}': the cell is empty; every cell must hold a number.", column + 1, "");
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            var text = Problems.Clip(Encoding.UTF8.GetString(cell[..Math.Min(cell.Length, 64)]), 40);
            throw Bad("not-a-number", $"Row {_records} (line {_line}), column '{_names![column]}': '{text}' is not a number.", column + 1, text);
        }
        if (!double.IsFinite(value))
            throw Bad("non-finite-value", $"Row {_records} (line {_line}), column '{_names![column]}': {value} is not a finite number.", column + 1, value.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    /// <summary>A quoted cell still open at the end of the data: located at the record where it opened.</summary>
    ProblemException Unclosed(ReadOnlySpan<byte> record)
    {
        _line++;
        if (_names is not null) _records++;
        var column = CountCells(record);
        return Bad("malformed-csv", $"Line {_line}: the quoted cell in column {column} is not closed before the end of the data.", column, null);
    }

    ProblemException Ragged(int cells) =>
        Bad("ragged-row", $"Row {_records} (line {_line}) has {cells} cells, but the header names {_names!.Length} columns.", null, null);

    ProblemException Bad(string code, string detail, int? column, string? token, string? headerName = null)
    {
        var extensions = new Dictionary<string, object?> { ["line"] = _line };
        if (_names is not null) extensions["row"] = _records;
        if (column is { } c)
        {
            extensions["column"] = c;
            if (headerName is not null) extensions["columnName"] = headerName;
            else if (_names is not null && c <= _names.Length) extensions["columnName"] = _names[c - 1];
        }
        if (token is not null) extensions["token"] = token;
        return new ProblemException(400, code, "The dataset is not valid", detail, extensions);
    }

    static int CountCells(ReadOnlySpan<byte> line)
    {
        var count = 0;
        foreach (var _ in new CellEnumerator(line)) count++;
        return count;
    }

    /// <summary>The raw cells of one record, split at commas outside double quotes.</summary>
    ref struct CellEnumerator(ReadOnlySpan<byte> line)
    {
        ReadOnlySpan<byte> _rest = line;
        bool _done;

        public ReadOnlySpan<byte> Current { get; private set; }

        public readonly CellEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_done) return false;
            var inQuotes = false;
            for (var i = 0; i < _rest.Length; i++)
            {
                var b = _rest[i];
                if (b == (byte)'"') inQuotes = !inQuotes;
                else if (b == (byte)',' && !inQuotes)
                {
                    Current = _rest[..i];
                    _rest = _rest[(i + 1)..];
                    return true;
                }
            }
            Current = _rest;
            _done = true;
            return true;
        }
    }
}
