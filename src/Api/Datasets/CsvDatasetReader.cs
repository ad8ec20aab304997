using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using System.Text;
using Autograd.Api.Infrastructure;

namespace Autograd.Api.Datasets;

/// <summary>
/// Reads a numeric CSV (RFC 4180: a header row of names, comma-separated cells, optional double quotes)
/// straight from the request's bytes: each cell is parsed in place as UTF-8, never made into a string.
/// Errors name the data row (1-based, header excluded), the line and the column.
/// </summary>
public sealed class CsvDatasetReader
{
    static readonly byte[] Bom = [0xEF, 0xBB, 0xBF];

    readonly DatasetOptions _limits;
    readonly List<List<double>> _columns = [];
    string[]? _names;
    int _line;
    int _rows;

    CsvDatasetReader(DatasetOptions limits) => _limits = limits;

    public static async Task<(string[] Names, double[][] Columns)> ReadAsync(PipeReader body, DatasetOptions limits, CancellationToken cancellation)
    {
        var reader = new CsvDatasetReader(limits);
        while (true)
        {
            var result = await body.ReadAsync(cancellation);
            var buffer = result.Buffer;
            var consumed = reader.ReadLines(buffer, result.IsCompleted);
            body.AdvanceTo(consumed, buffer.End);
            if (result.IsCompleted) break;
        }
        await body.CompleteAsync();
        return reader.Finish();
    }

    SequencePosition ReadLines(ReadOnlySequence<byte> buffer, bool isFinal)
    {
        var sequence = new SequenceReader<byte>(buffer);
        while (sequence.TryReadTo(out ReadOnlySpan<byte> line, (byte)'\n')) ReadLine(line);
        if (isFinal && !sequence.End)
        {
            var rest = sequence.UnreadSequence;
            ReadLine(rest.IsSingleSegment ? rest.FirstSpan : rest.ToArray());
            sequence.AdvanceToEnd();
        }
        return sequence.Position;
    }

    void ReadLine(ReadOnlySpan<byte> line)
    {
        _line++;
        if (_line == 1 && line.StartsWith(Bom)) line = line[Bom.Length..];
        if (line.EndsWith("\r"u8)) line = line[..^1];
        if (line.Trim((byte)' ').IsEmpty) return;
        if (_names is null)
        {
            ReadHeader(line);
            return;
        }
        _rows++;
        if (_rows > _limits.MaxRows)
            throw Problems.TooLarge("too-many-rows", "dataset", $"The CSV has more than {_limits.MaxRows:N0} data rows, the limit.");
        Span<byte> unquoted = stackalloc byte[128];
        var column = 0;
        foreach (var raw in new CellEnumerator(line))
        {
            if (column == _names.Length) throw Ragged(CountCells(line));
            var cell = Unquote(raw, unquoted, column);
            _columns[column].Add(ParseNumber(cell, column));
            column++;
        }
        if (column != _names.Length) throw Ragged(column);
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
            if (name.Length == 0)
                throw Bad("empty-header", $"Header cell {column} is empty; every column needs a name.", column, null, name);
            if (!InputBinding.IsValidName(name))
                throw Bad("invalid-header", $"Header '{name}' (column {column}) cannot be used in a formula: use letters, digits and '_', not starting with a digit.", column, name, name);
            if (seen.TryGetValue(name, out var first))
                throw Bad("duplicate-header", $"Header '{name}' appears twice (columns {first} and {column}).", column, name, name);
            seen.Add(name, column);
            names.Add(name);
        }
        if (names.Count > _limits.MaxColumns)
            throw Problems.TooLarge("too-many-columns", "dataset", $"The CSV has {names.Count} columns; the limit is {_limits.MaxColumns}.");
        _names = [.. names];
        foreach (var _ in names) _columns.Add([]);
    }

    (string[] Names, double[][] Columns) Finish()
    {
        if (_names is null) throw Bad("empty-dataset", "The CSV is empty: it needs a header row of names and at least one data row.", null, null);
        if (_rows == 0) throw Bad("empty-dataset", "The CSV has a header but no data rows.", null, null);
        return (_names, _columns.Select(c => c.ToArray()).ToArray());
    }

    ReadOnlySpan<byte> Unquote(ReadOnlySpan<byte> cell, Span<byte> scratch, int column)
    {
        cell = cell.Trim((byte)' ');
        if (cell.IsEmpty || cell[0] != (byte)'"') return cell;
        if (cell.Length < 2 || cell[^1] != (byte)'"')
            throw Bad("malformed-csv", $"Line {_line}: the quoted cell in column {column + 1} is not closed on this line.", column + 1, null);
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
        if (cell.IsEmpty)
            throw Bad("empty-cell", $"Row {_rows} (line {_line}), column '{_names![column]}': the cell is empty; every cell must hold a number.", column + 1, "");
        if (!double.TryParse(cell, NumberStyles.Float, CultureInfo.InvariantCulture, out var value))
        {
            var text = Encoding.UTF8.GetString(cell[..Math.Min(cell.Length, 40)]);
            throw Bad("not-a-number", $"Row {_rows} (line {_line}), column '{_names![column]}': '{text}' is not a number.", column + 1, text);
        }
        if (!double.IsFinite(value))
            throw Bad("non-finite-value", $"Row {_rows} (line {_line}), column '{_names![column]}': {value} is not a finite number.", column + 1, value.ToString(CultureInfo.InvariantCulture));
        return value;
    }

    ProblemException Ragged(int cells) =>
        Bad("ragged-row", $"Row {_rows} (line {_line}) has {cells} cells, but the header names {_names!.Length} columns.", null, null);

    ProblemException Bad(string code, string detail, int? column, string? token, string? headerName = null)
    {
        var extensions = new Dictionary<string, object?> { ["line"] = _line };
        if (_names is not null) extensions["row"] = _rows;
        if (column is { } c)
        {
            extensions["column"] = c;
            if (headerName is not null) extensions["columnName"] = headerName;
            else if (_names is not null && c <= _names.Length) extensions["columnName"] = _names[c - 1];
        }
        if (token is not null) extensions["token"] = token;
        return new ProblemException(400, code, "The dataset is not valid", detail, extensions);
    }

    int CountCells(ReadOnlySpan<byte> line)
    {
        var count = 0;
        foreach (var _ in new CellEnumerator(line)) count++;
        return count;
    }

    /// <summary>The raw cells of one line, split at commas outside double quotes.</summary>
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
