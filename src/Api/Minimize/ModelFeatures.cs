using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;

namespace Autograd.Api.Minimize;

/// <summary>
/// The model shorthand's <c>features</c>: data columns bound, one row per data row, as the matrix
/// <c>X = cbind(...)</c>, so that <c>b0 + X %*% w</c> fits a coefficient per column. X is a data input of its own,
/// copied once, so that replays and mini-batches read it without rebuilding it.
/// </summary>
public static class ModelFeatures
{
    public const string MatrixName = "X";

    /// <summary>Which dataset columns the features need besides those the formula names; null without features.</summary>
    public static Func<string, bool>? Needs(MinimizeRequest request) => request.Features switch
    {
        null => null,
        { Names: { } names } => names.Contains,
        _ => name => name != request.Target,
    };

    /// <summary>Binds the request's inputs as <see cref="InputBinding.Bind"/> does, then X when features are given.</summary>
    public static BoundInputs Bind(MinimizeRequest request, string? target, Formula formula, Dictionary<string, NumberOrVector>? data, ServiceLimits limits)
    {
        var inputs = InputBinding.Bind(request.Parameters, request.Constants, data, limits, request.Dtype);
        if (request.Features is not { } features) return inputs;
        if (request.Model is null)
            throw Problems.Invalid("features", "'features' goes with 'model', 'target' and 'loss': it binds the data columns as the matrix X for the model.");
        if (data is not { Count: > 0 })
            throw Problems.Invalid("features", "'features' needs data: give 'data' or 'dataset' columns.");
        if (inputs.Specs.Any(spec => spec.Name == MatrixName))
            throw new ProblemException(400, "duplicate-name", "A name is given twice",
                $"'features' binds the matrix '{MatrixName}', but '{MatrixName}' is also given as an input; rename that input.",
                new Dictionary<string, object?> { ["field"] = "features" });
        var bound = GradientServiceNames(request);
        var names = features.Names ?? data.Keys.Where(name => name != target && !bound.Contains(name)).ToArray();
        if (names.Length == 0)
            throw Problems.Invalid("features", "'features' selects no column: the data has no column besides the target.");
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < names.Length; i++)
        {
            var field = $"features[{i + 1}]";
            if (!data.ContainsKey(names[i]))
                throw Problems.Invalid(field, $"'{names[i]}' is not a data column of this request; the columns are {string.Join(", ", data.Keys)}.");
            if (names[i] == target)
                throw Problems.Invalid(field, $"'{names[i]}' is the target; a model cannot take its target as a feature.");
            if (!seen.Add(names[i]))
                throw Problems.Invalid(field, $"'{names[i]}' is listed twice.");
            if (data[names[i]].IsMatrix)
                throw Problems.Invalid(field, $"'{names[i]}' is a data matrix; features are columns (a matrix of data is already a design matrix: use it as it is).");
        }
        var rows = data[names[0]].Values.Length;
        var columns = names.Length;
        var matrix = new double[(long)rows * columns > Array.MaxLength ? throw Problems.TooLarge("too-many-rows", "features",
            $"X would hold {(long)rows * columns:N0} numbers, more than one array can.") : rows * columns];
        for (var j = 0; j < columns; j++)
        {
            var column = data[names[j]].Values;
            for (var i = 0; i < rows; i++) matrix[i * columns + j] = column[i];
        }
        // Feature columns the formula does not name on their own are left out: X holds their numbers.
        var keep = Enumerable.Range(0, inputs.Specs.Count)
            .Where(slot => inputs.Specs[slot].Kind != InputKind.Data || !seen.Contains(inputs.Specs[slot].Name) || formula.Names.Contains(inputs.Specs[slot].Name))
            .ToList();
        return new BoundInputs(
            [.. keep.Select(slot => inputs.Specs[slot]), InputSpec.Matrix(MatrixName, InputKind.Data, rows, columns)],
            [.. keep.Select(slot => inputs.Values[slot]), matrix]);
    }

    static HashSet<string> GradientServiceNames(MinimizeRequest request) =>
        Gradients.GradientService.BoundNames(request.Parameters?.Keys, request.Constants?.Keys);
}
