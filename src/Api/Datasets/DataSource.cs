using Autograd.Contracts;
using Autograd.Api.Infrastructure;
using Autograd.Expressions;

namespace Autograd.Api.Datasets;

/// <summary>The data columns of a request: inline <c>data</c>, or the columns of a stored dataset that the formula uses.</summary>
public static class DataSource
{
    public static Dictionary<string, NumberOrVector>? Resolve(Dictionary<string, NumberOrVector>? inline, string? datasetId,
        IDatasetStore store, string? owner, Formula formula, Func<ISet<string>> boundElsewhere, Func<string, bool>? alsoNeeded = null)
    {
        if (datasetId is null) return inline;
        if (inline is { Count: > 0 })
            throw Problems.Invalid("dataset", "Give the data either inline as 'data' or as a stored 'dataset', not both.");
        var dataset = store.Find(datasetId, owner)
                      ?? throw new ProblemException(400, "dataset-not-found", "No such dataset",
                          $"There is no dataset '{datasetId}'; POST /datasets stores one and GET /datasets lists them.",
                          new Dictionary<string, object?> { ["field"] = "dataset" });
        var columns = new Dictionary<string, NumberOrVector>();
        var bound = boundElsewhere();
        for (var i = 0; i < dataset.Names.Count; i++)
        {
            var name = dataset.Names[i];
            if ((formula.Names.Contains(name) || (alsoNeeded?.Invoke(name) ?? false)) && !bound.Contains(name)) columns[name] = NumberOrVector.Vector(dataset.Columns[i]);
        }
        return columns;
    }
}
