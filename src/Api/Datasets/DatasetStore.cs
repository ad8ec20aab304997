using System.Collections.Concurrent;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Datasets;

/// <summary>
/// Stored datasets. A job holds its dataset's columns itself, so deleting a dataset never disturbs a running job.
/// Lookups see only the owner's datasets (null: the service runs without API keys, one user).
/// </summary>
public interface IDatasetStore
{
    /// <summary>Stores columns already charged to the memory budget (see <see cref="ColumnsBuilder"/>); the store then owns the charge.</summary>
    /// <exception cref="ProblemException">413 when the store is full.</exception>
    Dataset Add(string[] names, double[][] columns, string? owner);
    Dataset? Find(string id, string? owner);
    bool Delete(string id, string? owner);
    /// <summary>Bytes all stored columns take.</summary>
    long Bytes { get; }

    // Requests read through these: a remote store answers them without holding a thread.
    ValueTask<Dataset?> FindAsync(string id, string? owner) => ValueTask.FromResult(Find(id, owner));
    /// <summary>The owner's datasets, newest first, as summaries: listing reads no column.</summary>
    ValueTask<IReadOnlyList<DatasetInfo>> ListAsync(string? owner);
}

public sealed class InMemoryDatasetStore(IOptions<DatasetOptions> options, TimeProvider clock, MemoryBudget budget) : IDatasetStore
{
    readonly ConcurrentDictionary<string, (Dataset Dataset, string? Owner)> _datasets = new();
    readonly object _gate = new();
    long _bytes;

    public long Bytes => Interlocked.Read(ref _bytes);

    public Dataset Add(string[] names, double[][] columns, string? owner)
    {
        var limits = options.Value;
        var dataset = new Dataset(JobIds.New(), names, columns, clock.GetUtcNow());
        lock (_gate)
        {
            if (_datasets.Count >= limits.MaxDatasets)
                throw Problems.TooLarge("too-many-datasets", "dataset",
                    $"{_datasets.Count} datasets are stored, the limit; DELETE /datasets/{{id}} one you no longer need.");
            if (Bytes + dataset.Bytes > limits.MaxTotalBytes)
                throw Problems.TooLarge("dataset-store-full", "dataset",
                    $"Storing {dataset.Bytes:N0} more bytes would exceed the {limits.MaxTotalBytes:N0} bytes all datasets may take; {Bytes:N0} are in use.");
            _datasets[dataset.Id] = (dataset, owner);
            Interlocked.Add(ref _bytes, dataset.Bytes);
        }
        return dataset;
    }

    public Dataset? Find(string id, string? owner) =>
        _datasets.TryGetValue(id, out var entry) && entry.Owner == owner ? entry.Dataset : null;

    public ValueTask<IReadOnlyList<DatasetInfo>> ListAsync(string? owner) =>
        ValueTask.FromResult<IReadOnlyList<DatasetInfo>>(
            _datasets.Values.Where(e => e.Owner == owner).Select(e => e.Dataset).OrderByDescending(d => d.CreatedAt).Select(d => d.ToInfo()).ToList());

    public bool Delete(string id, string? owner)
    {
        lock (_gate)
        {
            if (!_datasets.TryGetValue(id, out var entry) || entry.Owner != owner || !_datasets.TryRemove(id, out _)) return false;
            Interlocked.Add(ref _bytes, -entry.Dataset.Bytes);
            budget.Release(entry.Dataset.Bytes);
            return true;
        }
    }
}

/// <summary>
/// Numeric columns built as they are read, in blocks below the large-object heap's threshold, each block charged to
/// the memory budget and the dataset limits before it is allocated: an upload is refused as soon as it would exceed
/// them, not after it has been read. Finished columns are charged in place of the blocks.
/// </summary>
public sealed class ColumnsBuilder(int columns, DatasetOptions limits, long storedBytes, MemoryBudget budget) : IDisposable
{
    const int BlockLength = 8 * 1024;

    readonly List<double[]>[] _blocks = Enumerable.Range(0, columns).Select(_ => new List<double[]>()).ToArray();
    int _rows;
    long _charged;

    public int Rows => _rows;

    /// <summary>Appends one row; <paramref name="row"/> has one value per column.</summary>
    public void AddRow(ReadOnlySpan<double> row)
    {
        var offset = _rows % BlockLength;
        if (offset == 0) Grow();
        for (var c = 0; c < _blocks.Length; c++) _blocks[c][^1][offset] = row[c];
        _rows++;
    }

    void Grow()
    {
        var bytes = (long)_blocks.Length * BlockLength * sizeof(double);
        var total = (long)(_rows + BlockLength) * _blocks.Length * sizeof(double);
        if (storedBytes + total > limits.MaxTotalBytes + (long)_blocks.Length * BlockLength * sizeof(double))
            throw Problems.TooLarge("dataset-store-full", "dataset",
                $"The upload has passed {(long)_rows * _blocks.Length * sizeof(double):N0} bytes of values; with the {storedBytes:N0} bytes stored it would exceed the {limits.MaxTotalBytes:N0} bytes all datasets may take (Datasets:MaxTotalBytes).");
        if (!budget.TryReserve(bytes)) throw budget.Exhausted("The upload", bytes);
        _charged += bytes;
        foreach (var column in _blocks) column.Add(new double[BlockLength]);
    }

    /// <summary>The columns as arrays. Their bytes stay charged to the budget; whoever keeps them releases them.</summary>
    public double[][] Build()
    {
        var bytes = (long)_rows * _blocks.Length * sizeof(double);
        if (!budget.TryReserve(bytes)) throw budget.Exhausted("The dataset", bytes);
        var result = new double[_blocks.Length][];
        for (var c = 0; c < _blocks.Length; c++)
        {
            var column = new double[_rows];
            for (var b = 0; b < _blocks[c].Count; b++)
            {
                var length = Math.Min(BlockLength, _rows - b * BlockLength);
                _blocks[c][b].AsSpan(0, length).CopyTo(column.AsSpan(b * BlockLength));
            }
            result[c] = column;
            _blocks[c].Clear();
        }
        Dispose();
        return result;
    }

    public void Dispose()
    {
        budget.Release(_charged);
        _charged = 0;
        foreach (var column in _blocks) column.Clear();
    }
}
