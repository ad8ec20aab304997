using System.Globalization;
using System.Text;
using System.Text.Json;
using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Api.Minimize;
using Autograd.Contracts;
using Autograd.Expressions;
using Autograd.Optimization;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Export;

/// <summary>Scripts that reproduce a job with another library, and the data they read.</summary>
public static class ExportApi
{
    /// <summary>Data values a script holds inline; more go to data.csv.</summary>
    public const int InlineDataValues = 2000;

    static readonly Dictionary<string, ExportLanguage> Languages = new(StringComparer.OrdinalIgnoreCase)
    {
        ["pytorch"] = ExportLanguage.PyTorch, ["r-torch"] = ExportLanguage.RTorch, ["jax"] = ExportLanguage.Jax, ["scipy"] = ExportLanguage.Scipy,
    };

    public static IEndpointRouteBuilder MapExportApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/minimize").WithTags("Minimize")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapGet("/{id}/export", ExportMinimizeJob)
            .WithName(nameof(ExportMinimizeJob))
            .WithSummary("A self-contained script that reproduces the job in PyTorch, R torch, JAX or SciPy")
            .WithDescription("""
                `lang` = `pytorch`, `r-torch`, `jax` or `scipy`. The script holds the formula in the library's operations, the
                data (inline up to 2,000 values, else read from `data.csv`, which `/minimize/{id}/export/data.csv` serves), the
                same start, optimizer settings, iteration cap and stopping rules, and prints the final parameters as the last
                line (JSON for Python). For a race, `run` picks the configuration (default: the best-ranked one). Newton,
                mini-batches, and lbfgs for JAX are refused with 422 naming them; so is a function the library lacks.
                """)
            .Produces<string>(StatusCodes.Status200OK, "text/x-python", "text/x-r")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone)
            .ProducesProblem(StatusCodes.Status422UnprocessableEntity);

        group.MapGet("/{id}/export/data.csv", ExportMinimizeData)
            .WithName(nameof(ExportMinimizeData))
            .WithSummary("The data columns the job's formula reads, as CSV, for an exported script")
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status410Gone);
        return app;
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> ExportMinimizeJob(string id, string? lang, int? run,
        HttpContext context, MinimizeJobs jobs, ExportRecipes recipes, IJobQueue queue, IDatasetStore datasets, IOptions<ServiceLimits> limits,
        IOptions<JsonOptions> json)
    {
        try
        {
            if (lang is null || !Languages.TryGetValue(lang, out var language))
                throw new ProblemException(400, "unknown-export-language", "Unknown export language",
                    $"lang must be one of {string.Join(", ", Languages.Keys)}, not '{Problems.Clip(lang ?? "")}'.",
                    new Dictionary<string, object?> { ["field"] = "lang" });
            var (job, recipe) = await Find(id, context, jobs, recipes, queue);
            var plan = await Plan(job, recipe, language, run, context.Owner(), datasets, limits.Value, json.Value.SerializerOptions);
            var script = language == ExportLanguage.RTorch ? RTorchScript.Write(plan) : PythonScripts.Write(plan);
            context.Response.Headers.ContentDisposition = $"inline; filename=\"job-{id}.{(language == ExportLanguage.RTorch ? "R" : "py")}\"";
            return TypedResults.Content(script, language == ExportLanguage.RTorch ? "text/x-r; charset=utf-8" : "text/x-python; charset=utf-8");
        }
        catch (ProblemException problem)
        {
            return problem.ToResult();
        }
    }

    public static async Task<Results<ContentHttpResult, ProblemHttpResult>> ExportMinimizeData(string id, HttpContext context,
        MinimizeJobs jobs, ExportRecipes recipes, IJobQueue queue, IDatasetStore datasets, IOptions<ServiceLimits> limits)
    {
        try
        {
            var (_, recipe) = await Find(id, context, jobs, recipes, queue);
            var formula = Formula.Parse(recipe.Expression, limits.Value.FormulaLimits);
            var columns = await DataOf(recipe, formula, context.Owner(), datasets);
            var csv = new StringBuilder(string.Join(",", columns.Select(c => c.Name))).Append('\n');
            var rows = columns.Count == 0 ? 0 : columns[0].Values.Length;
            for (var row = 0; row < rows; row++)
                csv.AppendJoin(",", columns.Select(c => c.Values[row].ToString("R", CultureInfo.InvariantCulture))).Append('\n');
            return TypedResults.Content(csv.ToString(), "text/csv; charset=utf-8");
        }
        catch (ProblemException problem)
        {
            return problem.ToResult();
        }
    }

    /// <summary>The job and its request: kept by the process that accepted it, or with the job in the shared store (any replica).</summary>
    static async Task<(MinimizeJob Job, ExportRecipe Recipe)> Find(string id, HttpContext context, MinimizeJobs jobs, ExportRecipes recipes, IJobQueue queue)
    {
        var owner = context.Owner();
        var job = await jobs.Store.FindAsync(id, owner)
            ?? throw new ProblemException(404, "job-not-found", "No such job",
                $"There is no job '{id}'; it may never have existed or may have expired. GET /minimize lists recent jobs.",
                new Dictionary<string, object?> { ["jobId"] = id });
        var recipe = recipes.Find(id, owner)
            ?? (await queue.FindSpecAsync(id) is { } spec && spec.Owner == owner ? new ExportRecipe(id, owner, job.Expression, spec.Request, 0) : null)
            ?? throw new ProblemException(410, "export-unavailable", "The job's request is no longer held",
                $"Job '{id}' exists, but the request it was started with is no longer held (it is kept for the most recent jobs within the memory budget, or with the job in the shared store): start it again to export it.",
                new Dictionary<string, object?> { ["jobId"] = id });
        return (job, recipe);
    }

    static ProblemException Unsupported(ExportLanguage language, string detail, IEnumerable<string> what) =>
        new(422, "export-unsupported", "The job cannot be exported to this library", detail,
            new Dictionary<string, object?> { ["lang"] = Languages.First(l => l.Value == language).Key, ["unsupported"] = what.ToArray() });

    static async Task<ExportPlan> Plan(MinimizeJob job, ExportRecipe recipe, ExportLanguage language, int? run, string? owner,
        IDatasetStore datasets, ServiceLimits limits, JsonSerializerOptions json)
    {
        var request = recipe.Request;
        var race = RaceRequests.Parse(request);
        if (race is null && run is not null and not 0)
            throw Problems.Invalid("run", $"Job '{job.Id}' is not a race; leave 'run' out.");
        var index = run ?? job.Race?[0].Run ?? 0;
        if (race is not null && (index < 0 || index >= race.Count))
            throw Problems.Invalid("run", $"run must be between 0 and {race.Count - 1} for this race of {race.Count}, not {index}.");
        var settings = race?[index].Settings ?? OptimizerRequests.ToSettings(request.Optimizer);
        var optimizer = OptimizerRequests.NameOf(settings.Kind);
        if (request.BatchSize is not null)
            throw Unsupported(language, "Mini-batch jobs cannot be exported: the libraries draw their batches differently.", ["batchSize"]);
        if (settings.Kind == OptimizerKind.Newton)
            throw Unsupported(language, "newton cannot be exported: none of the libraries has this damped Newton method; use lbfgs.", ["newton"]);
        if (settings.Kind == OptimizerKind.Lbfgs && language == ExportLanguage.Jax)
            throw Unsupported(language, "lbfgs cannot be exported to JAX, which has no L-BFGS of its own; use lang=pytorch or lang=scipy.", ["lbfgs"]);

        if (settings.Kind == OptimizerKind.LevenbergMarquardt)
            throw Unsupported(language, "levenberg-marquardt cannot be exported: the libraries' optimizers do not include it; scipy's least_squares(method='lm') takes residuals, not this loss.", ["levenberg-marquardt"]);
        if (request.Bounds is { Count: > 0 })
            throw Unsupported(language, "Bounded jobs cannot be exported yet: torch.optim has no box constraints, and the export does not write scipy's L-BFGS-B bounds.", ["bounds"]);

        var formula = Formula.Parse(recipe.Expression, limits.FormulaLimits);
        var matrices = (request.Parameters ?? []).Concat(request.Constants ?? []).Concat(request.Data ?? []).Where(v => v.Value.IsMatrix).Select(v => v.Key)
            .Concat(request.Features is null ? [] : ["features"])
            .Concat(formula.Nodes.Any(n => n.Kind == SyntaxKind.Binary && n.Text == "%*%") ? ["%*%"] : []).ToList();
        if (matrices.Count > 0)
            throw Unsupported(language, "Jobs over matrices cannot be exported yet: the scripts bind every value as a scalar or a vector.", matrices);
        var taken = new List<string>();
        var names = new Dictionary<string, string>(StringComparer.Ordinal);
        ExportValue Bind(string name, double[] values, bool scalar)
        {
            var spelled = Identifiers.Unique(name, language, taken);
            taken.Add(spelled);
            names[name] = spelled;
            return new ExportValue(name, spelled, values, scalar);
        }
        var parameters = (request.Parameters ?? []).Select(p => Bind(p.Key, p.Value.Values, p.Value.IsScalar)).ToList();
        var constants = (request.Constants ?? []).Where(c => formula.Names.Contains(c.Key)).Select(c => Bind(c.Key, c.Value.Values, c.Value.IsScalar)).ToList();
        var data = (await DataOf(recipe, formula, owner, datasets)).Select(c => Bind(c.Name, c.Values, false)).ToList();
        var translated = FormulaTranslator.Translate(formula, language, names);
        if (translated.Refused.Count > 0)
            throw Unsupported(language, $"The formula uses {string.Join(", ", translated.Refused)}, which has no translation to {language}.", translated.Refused);

        var result = job.FinishedAt is null ? null : race is null ? job.Parameters : job.Race?.FirstOrDefault(r => r.Run == index)?.Parameters;
        return new ExportPlan
        {
            JobId = job.Id, Language = language, Expression = recipe.Expression, Formula = translated,
            Parameters = parameters, Constants = constants, Data = data, DataInCsv = data.Sum(c => c.Values.Length) > InlineDataValues,
            Optimizer = settings, OptimizerName = race is null ? optimizer : $"{optimizer} (run {index}, '{race[index].Label}')",
            MaxIterations = request.MaxIterations ?? job.MaxIterations,
            GradientNormTolerance = request.GradientNormTolerance, ValueChangeTolerance = request.ValueChangeTolerance,
            ParameterChangeTolerance = request.ParameterChangeTolerance, Float32 = request.Dtype == DType.Float32,
            ServiceResult = result is null ? null : JsonSerializer.Serialize(result, json),
        };
    }

    /// <summary>The data columns the formula reads, from the request or its dataset, in the order the formula names them.</summary>
    static async Task<List<(string Name, double[] Values)>> DataOf(ExportRecipe recipe, Formula formula, string? owner, IDatasetStore datasets)
    {
        var request = recipe.Request;
        var bound = new HashSet<string>((request.Parameters?.Keys ?? Enumerable.Empty<string>()).Concat(request.Constants?.Keys ?? Enumerable.Empty<string>()), StringComparer.Ordinal);
        if (request.Data is { } data)
            return data.Where(c => formula.Names.Contains(c.Key) && !bound.Contains(c.Key)).Select(c => (c.Key, c.Value.Values)).ToList();
        if (request.Dataset is not { } id) return [];
        var dataset = await datasets.FindAsync(id, owner)
            ?? throw new ProblemException(410, "dataset-gone", "The job's dataset is gone",
                $"Job '{recipe.JobId}' read dataset '{id}', which no longer exists; upload it again and start a new job to export it.",
                new Dictionary<string, object?> { ["dataset"] = id });
        return dataset.Names.Select((name, i) => (name, dataset.Columns[i]))
            .Where(c => formula.Names.Contains(c.name) && !bound.Contains(c.name)).ToList();
    }
}
