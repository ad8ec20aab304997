using System.Collections.Concurrent;
using Autograd.Api.Infrastructure;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Datasets;

/// <summary>Stored datasets. A job holds its dataset's columns itself, so deleting a dataset never disturbs a running job.</summary>
public interface IDatasetStore
{
    /// <exception cref="ProblemException">413 when the store is full.</exception>
    Dataset Add(string[] names, double[][] columns);
    Dataset? Find(string id);
    IReadOnlyList<Dataset> List();
    bool Delete(string id);
}

public sealed class InMemoryDatasetStore(IOptions<DatasetOptions> options, TimeProvider clock) : IDatasetStore
{
    readonly ConcurrentDictionary<string, Dataset> _datasets = new();
    readonly object _gate = new();

    public Dataset Add(string[] names, double[][] columns)
    {
        var limits = options.Value;
        var dataset = new Dataset(Guid.NewGuid().ToString("n")[..12], names, columns, clock.GetUtcNow());
        lock (_gate)
        {
            if (_datasets.Count >= limits.MaxDatasets)
                throw Problems.TooLarge("too-many-datasets", "dataset",
                    $"{_datasets.Count} datasets are stored, the limit; DELETE /datasets/{{id}} one you no longer need.");
            var used = _datasets.Values.Sum(d => d.Bytes);
            if (used + dataset.Bytes > limits.MaxTotalBytes)
                throw Problems.TooLarge("dataset-store-full", "dataset",
                    $"Storing {dataset.Bytes:N0} more bytes would exceed the {limits.MaxTotalBytes:N0} bytes all datasets may take; {used:N0} are in use.");
            _datasets[dataset.Id] = dataset;
        }
        return dataset;
    }

    public Dataset? Find(string id) => _datasets.GetValueOrDefault(id);

    public IReadOnlyList<Dataset> List() => _datasets.Values.OrderByDescending(d => d.CreatedAt).ToList();

    public bool Delete(string id) => _datasets.TryRemove(id, out _);
}
