using System.Collections.Concurrent;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Export;

/// <summary>What a job was asked to do, kept so that it can be exported as a script: the request and the loss it expanded to.</summary>
public sealed record ExportRecipe(string JobId, string? Owner, string Expression, MinimizeRequest Request, long Bytes);

/// <summary>
/// The recipes of recent jobs, in this process's memory, charged to the memory budget. At most as many as the finished
/// jobs kept plus the queue, the oldest dropped first; a job whose recipe is gone (or was accepted by another replica)
/// cannot be exported.
/// </summary>
public sealed class ExportRecipes(MemoryBudget budget, IOptions<MinimizeOptions> options)
{
    readonly ConcurrentDictionary<string, ExportRecipe> _recipes = new();
    readonly ConcurrentQueue<string> _order = new();

    int Capacity => options.Value.MaxFinishedJobs + options.Value.MaxQueuedJobs + options.Value.EffectiveWorkers;

    public void Remember(MinimizeJob job, MinimizeRequest request, string? owner)
    {
        var bytes = 256 + (request.Expression?.Length ?? 0) * 2L + job.Expression.Length * 2L
            + (request.Data?.Values.Sum(c => (long)c.Values.Length * sizeof(double)) ?? 0)
            + (request.Parameters?.Values.Sum(p => (long)p.Values.Length * sizeof(double)) ?? 0)
            + (request.Constants?.Values.Sum(p => (long)p.Values.Length * sizeof(double)) ?? 0);
        if (!budget.TryReserve(bytes)) return;
        _recipes[job.Id] = new ExportRecipe(job.Id, owner, job.Expression, request, bytes);
        _order.Enqueue(job.Id);
        while (_recipes.Count > Capacity && _order.TryDequeue(out var oldest))
            if (_recipes.TryRemove(oldest, out var dropped)) budget.Release(dropped.Bytes);
    }

    public ExportRecipe? Find(string id, string? owner) =>
        _recipes.TryGetValue(id, out var recipe) && recipe.Owner == owner ? recipe : null;
}
