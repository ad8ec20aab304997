using System.Text.Json;
using System.Text.Json.Nodes;

namespace Autograd.Api.Tests;

/// <summary>
/// The same request gives the same trace and result to the bit whatever the service did before or does beside it:
/// first in a new service, again after other jobs on the same formulas warmed its pool and compiled replays, and
/// several at once beside other jobs. Over a formula of scalars, a dataset of 5000 rows (fused replay) and
/// mini-batches of 4096 rows (pooled copies of batch length).
/// </summary>
public sealed class MinimizeRerunTests(AutogradApiFactory factory) : IClassFixture<AutogradApiFactory>
{
    static string Body(string optimizer, string dataset, int problem, double shift)
    {
        var settings = optimizer == "sgd" ? Datasets.Sgd(problem == 0 ? 1e-4 : 0.1) : new JsonObject { ["type"] = optimizer };
        // sgd and adam run long enough to cross the engine's switches of path: 2048 replays of a tape of scalars,
        // 4M rows of 5000 (839 replays) and of batches of 4096 (1024). lbfgs and newton run until they stop.
        var firstOrder = optimizer is "sgd" or "adam";
        var start = new JsonObject { ["b0"] = shift, ["b1"] = 0 };
        return problem switch
        {
            0 => Jobs.With(Jobs.Rosenbrock100(optimizer, firstOrder ? 2500 : 200), ("gradientNormTolerance", null),
                ("parameters", new JsonObject { ["x"] = new JsonArray(-1 + shift, 1) }), ("optimizer", settings)),
            1 => Datasets.LabFit(dataset, settings, firstOrder ? 900 : 200, ("parameters", start)),
            _ => Datasets.LabFit(dataset, settings, firstOrder ? 1100 : 20, ("parameters", start),
                ("batchSize", 4096), ("shuffle", true), ("seed", 3)),
        };
    }

    /// <summary>Runs a job to its end; its trace and its completion, as JSON text.</summary>
    static async Task<string> Result(HttpClient client, string body, CancellationToken cancellation)
    {
        var job = await Jobs.Start(client, body, cancellation);
        var events = await Jobs.ReadAll(client, job.Id, cancellation);
        return await Datasets.TraceJson(client, job.Id, cancellation) + JsonSerializer.Serialize(events[^1].Completed, Api.Json);
    }

    [Theory]
    [InlineData("sgd")]
    [InlineData("adam")]
    [InlineData("lbfgs")]
    [InlineData("newton")]
    public async Task A_rerun_gives_the_same_trace_first_in_a_new_service_after_others_warmed_it_and_beside_other_jobs(string optimizer)
    {
        using var timeout = Jobs.Timeout(120);
        using var service = factory.WithSettings();
        using var client = service.CreateClient();
        var dataset = await Datasets.CreateCsv(client, LabData.Generate(5000, seed: 12).Csv(), timeout.Token);
        int[] problems = [0, 1, 2];
        string Job(int problem, double shift = 0) => Body(optimizer, dataset.Id, problem, shift);

        var cold = new List<string>();
        foreach (var problem in problems) cold.Add(await Result(client, Job(problem), timeout.Token));

        foreach (var problem in problems) await Result(client, Job(problem, shift: 0.25), timeout.Token);
        foreach (var problem in problems) Assert.Equal(cold[problem], await Result(client, Job(problem), timeout.Token));

        var beside = await Task.WhenAll(problems.SelectMany(p => new[] { Job(p), Job(p, shift: 0.5) })
            .Select(body => Result(client, body, timeout.Token)));
        foreach (var problem in problems) Assert.Equal(cold[problem], beside[2 * problem]);
    }
}
