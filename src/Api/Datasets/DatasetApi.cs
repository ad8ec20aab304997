using System.Text.Json;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Serilog;

namespace Autograd.Api.Datasets;

public static class DatasetApi
{
    /// <summary>Uploads being read at once, so that concurrent large uploads cannot together outrun the budget checks.</summary>
    public sealed class UploadSlots(IOptions<DatasetOptions> options)
    {
        readonly SemaphoreSlim _slots = new(Math.Max(1, options.Value.MaxConcurrentUploads));

        /// <summary>A slot to dispose when done, or null when every slot is taken.</summary>
        public IDisposable? TryEnter() => _slots.Wait(0) ? new Slot(_slots) : null;

        sealed class Slot(SemaphoreSlim slots) : IDisposable
        {
            int _released;
            public void Dispose()
            {
                if (Interlocked.Exchange(ref _released, 1) == 0) slots.Release();
            }
        }
    }

    public static IEndpointRouteBuilder MapDatasetApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/datasets").WithTags("Datasets")
            .ProducesProblem(StatusCodes.Status401Unauthorized)
            .ProducesProblem(StatusCodes.Status429TooManyRequests);

        group.MapPost("", CreateDataset)
            .WithName(nameof(CreateDataset))
            .WithSummary("Store a dataset, sent as JSON columns or as CSV")
            .WithDescription("""
                JSON: `{"columns": {"x": [..], "y": [..]}}`. CSV (`Content-Type: text/csv`): a header row of names, then
                numeric cells (RFC 4180 quoting allowed). Answers 201 with the id to use as `"dataset"` in /gradient and
                /minimize. Bad data answers 400 naming the row, line and column; past the limits, 413.
                """)
            .Accepts<DatasetUpload>("application/json", "text/csv")
            .Produces<DatasetCreated>(StatusCodes.Status201Created)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesProblem(StatusCodes.Status415UnsupportedMediaType);

        group.MapGet("", ListDatasets).WithName(nameof(ListDatasets)).WithSummary("Stored datasets, newest first");

        group.MapGet("/{id}", GetDataset)
            .WithName(nameof(GetDataset))
            .WithSummary("A dataset's rows and per-column count, min, max, mean and standard deviation")
            .ProducesProblem(StatusCodes.Status404NotFound);

        group.MapDelete("/{id}", DeleteDataset)
            .WithName(nameof(DeleteDataset))
            .WithSummary("Delete a dataset; jobs already using it keep their copy until they end")
            .Produces(StatusCodes.Status204NoContent)
            .ProducesProblem(StatusCodes.Status404NotFound);

        return app;
    }

    public static async Task<Results<Created<DatasetCreated>, ProblemHttpResult>> CreateDataset(
        HttpRequest request, IDatasetStore store, IOptions<DatasetOptions> options, IOptions<JsonOptions> json,
        MemoryBudget budget, UploadSlots uploads, IDiagnosticContext diagnostics, CancellationToken cancellation)
    {
        var limits = options.Value;
        if (request.HttpContext.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
            size.MaxRequestBodySize = limits.MaxUploadBytes;
        var owner = request.HttpContext.Owner();
        using var slot = uploads.TryEnter();
        try
        {
            if (slot is null)
                throw new ProblemException(429, "too-many-uploads", "Too many uploads at once",
                    $"{limits.MaxConcurrentUploads} uploads are being read (Datasets:MaxConcurrentUploads); retry after the Retry-After interval.",
                    new Dictionary<string, object?> { ["retryAfterSeconds"] = 2 });
            var (names, columns) = request.HasJsonContentType()
                ? await ReadJson(request, limits, json.Value.SerializerOptions, budget, cancellation)
                : IsCsv(request)
                    ? await CsvDatasetReader.ReadAsync(request.BodyReader, limits,
                        count => new ColumnsBuilder(count, limits, store.Bytes, budget), cancellation)
                    : throw new ProblemException(415, "unsupported-media-type", "Unsupported media type",
                        $"Send the dataset as application/json ({{\"columns\": {{...}}}}) or as text/csv (a header row of names, then numbers), not '{Problems.Clip(request.ContentType ?? "no Content-Type")}'. With curl: -H 'Content-Type: text/csv' --data-binary @file.csv.",
                        new Dictionary<string, object?> { ["accepts"] = new[] { "application/json", "text/csv" } });
            Dataset dataset;
            try
            {
                dataset = store.Add(names, columns, owner);
            }
            catch
            {
                budget.Release(columns.Sum(c => (long)c.Length * sizeof(double)));
                throw;
            }
            diagnostics.Set("DatasetId", dataset.Id);
            diagnostics.Set("Rows", dataset.Rows);
            return TypedResults.Created($"/datasets/{dataset.Id}", dataset.ToCreated());
        }
        catch (ProblemException problem)
        {
            diagnostics.Set("Problem", problem.Code);
            if (problem.Extensions.TryGetValue("retryAfterSeconds", out var retry)) request.HttpContext.Response.Headers.RetryAfter = retry?.ToString();
            return problem.ToResult();
        }
    }

    public static async Task<Ok<DatasetInfo[]>> ListDatasets(HttpContext context, IDatasetStore store) =>
        TypedResults.Ok((await store.ListAsync(context.Owner())).ToArray());

    public static async Task<Results<Ok<DatasetInfo>, ProblemHttpResult>> GetDataset(string id, HttpContext context, IDatasetStore store) =>
        await store.FindAsync(id, context.Owner()) is { } dataset ? TypedResults.Ok(dataset.ToInfo()) : NotFound(id).ToResult();

    public static Results<NoContent, ProblemHttpResult> DeleteDataset(string id, HttpContext context, IDatasetStore store) =>
        store.Delete(id, context.Owner()) ? TypedResults.NoContent() : NotFound(id).ToResult();

    public static ProblemException NotFound(string id) =>
        new(StatusCodes.Status404NotFound, "dataset-not-found", "No such dataset",
            $"There is no dataset '{id}'; GET /datasets lists the stored ones.", new Dictionary<string, object?> { ["field"] = "dataset" });

    static bool IsCsv(HttpRequest request) =>
        request.ContentType is { } type && type.StartsWith("text/csv", StringComparison.OrdinalIgnoreCase);

    static async Task<(string[] Names, double[][] Columns)> ReadJson(HttpRequest request, DatasetOptions limits,
        JsonSerializerOptions json, MemoryBudget budget, CancellationToken cancellation)
    {
        DatasetUpload? upload;
        try
        {
            upload = await request.ReadFromJsonAsync<DatasetUpload>(json, cancellation);
        }
        catch (JsonException e)
        {
            throw JsonProblems.FromJson(e, typeof(DatasetUpload));
        }
        if (upload?.Columns is not { Count: > 0 } columns)
            throw Problems.Invalid("columns", "'columns' is required: an object mapping each column name to an array of numbers.");
        if (columns.Count > limits.MaxColumns)
            throw Problems.TooLarge("too-many-columns", "columns", $"The dataset has {columns.Count} columns; the limit is {limits.MaxColumns}.");
        var names = columns.Keys.ToArray();
        var rows = columns[names[0]]?.Length ?? 0;
        var columnIndex = 0;
        foreach (var (name, values) in columns)
        {
            columnIndex++;
            var shown = Problems.Clip(name, 40);
            var extensions = new Dictionary<string, object?> { ["column"] = columnIndex, ["columnName"] = shown, ["field"] = $"columns.{shown}" };
            if (!InputBinding.IsValidName(name))
                throw new ProblemException(400, "invalid-header", "The dataset is not valid",
                    $"Column {columnIndex}'s name cannot be used in a formula: use letters, digits and '_', not starting with a digit.", extensions);
            if (values is null || values.Length == 0)
                throw new ProblemException(400, "empty-dataset", "The dataset is not valid", $"Column '{name}' has no values.", extensions);
            if (values.Length > limits.MaxRows)
                throw Problems.TooLarge("too-many-rows", $"columns.{name}", $"Column '{name}' has {values.Length:N0} rows; the limit is {limits.MaxRows:N0}.");
            if (values.Length != rows)
                throw new ProblemException(400, "ragged-row", "The dataset is not valid",
                    $"Column '{name}' has {values.Length:N0} rows but '{names[0]}' has {rows:N0}; all columns must have the same length.", extensions);
            for (var row = 0; row < values.Length; row++)
                if (!double.IsFinite(values[row]))
                    throw new ProblemException(400, "non-finite-value", "The dataset is not valid",
                        $"Row {row + 1}, column '{name}': the value is not a finite number.", new Dictionary<string, object?>(extensions) { ["row"] = row + 1 });
        }
        var bytes = (long)rows * names.Length * sizeof(double);
        if (!budget.TryReserve(bytes)) throw budget.Exhausted("The dataset", bytes);
        return (names, names.Select(n => columns[n]).ToArray());
    }
}
