using System.Globalization;
using System.Text;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.HttpResults;

namespace Autograd.Api.Minimize;

/// <summary>GET /minimize/{id}/fit: a finished job's fit report, as JSON or as the coefficient table in CSV.</summary>
public static class FitApi
{
    public static RouteHandlerBuilder MapFitReport(this RouteGroupBuilder group) =>
        group.MapGet("/{id}/fit", GetMinimizeFit)
            .WithName(nameof(GetMinimizeFit))
            .WithSummary("The fit report of a finished job over data: JSON, or the coefficient table as CSV (?format=csv or Accept: text/csv)")
            .Produces<FitReport>()
            .Produces<string>(StatusCodes.Status200OK, "text/csv")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);

    public static async Task<Results<Ok<FitReport>, ContentHttpResult, ProblemHttpResult>> GetMinimizeFit(
        string id, HttpContext context, MinimizeJobs jobs, string? format = null)
    {
        if (await jobs.Store.FindAsync(id, context.Owner()) is not { } job)
            return new ProblemException(404, "job-not-found", "No such job",
                $"There is no job '{id}'; it may never have existed or may have expired. GET /minimize lists recent jobs.",
                new Dictionary<string, object?> { ["jobId"] = id }).ToResult();
        if (job.Status is JobStatus.Queued or JobStatus.Running)
            return new ProblemException(409, "job-not-finished", "The job has not finished",
                $"Job '{id}' is {job.Status.ToString().ToLowerInvariant()}; its fit report exists once it has finished.",
                new Dictionary<string, object?> { ["jobId"] = id }).ToResult();
        if (job.Fit is not { } fit)
            return new ProblemException(404, "no-fit-report", "The job has no fit report",
                $"Job '{id}' has no fit report: only a job over data ('data' or 'dataset') that ran at least one iteration gets one.",
                new Dictionary<string, object?> { ["jobId"] = id }).ToResult();
        if (format is not (null or "json" or "csv"))
            return Problems.Invalid("format", $"format must be 'json' or 'csv', not '{format}'.").ToResult();
        var csv = format == "csv" || (format is null
            && context.Request.GetTypedHeaders().Accept.Any(a => a.MediaType.Equals("text/csv", StringComparison.OrdinalIgnoreCase)));
        return csv ? TypedResults.Text(Csv(fit), "text/csv; charset=utf-8") : TypedResults.Ok(fit);
    }

    /// <summary>One row per parameter element; empty cells where a value does not exist (a fixed parameter, no table).</summary>
    public static string Csv(FitReport fit)
    {
        var csv = new StringBuilder("parameter,estimate,standardError,tValue,pValue,confidenceLow,confidenceHigh\n");
        foreach (var c in fit.Coefficients ?? [])
        {
            csv.Append(c.Parameter).Append(',').Append(Number(c.Estimate));
            foreach (var value in new[] { c.StandardError, c.TValue, c.PValue, c.ConfidenceLow, c.ConfidenceHigh })
                csv.Append(',').Append(value is { } v ? Number(v) : "");
            csv.Append('\n');
        }
        return csv.ToString();
    }

    static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture);
}
