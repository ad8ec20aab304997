using System.Globalization;
using System.Numerics;
using System.Text.RegularExpressions;
using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Gradients;

/// <summary>The loss over a grid of two parameter elements, by replaying one recorded tape's forward sweep per point.</summary>
public sealed partial class SurfaceService(FormulaCache cache, IDatasetStore datasets, IOptions<ServiceLimits> options)
{
    readonly ServiceLimits _limits = options.Value;

    [GeneratedRegex(@"^([A-Za-z_][A-Za-z0-9_]*)(?:\[([0-9]{1,9})(?:, ?([0-9]{1,9}))?\])?\z")]
    private static partial Regex ElementPattern();

    public SurfaceResponse Compute(SurfaceRequest request, string? owner)
    {
        if (string.IsNullOrWhiteSpace(request.Expression))
            throw Problems.Invalid("expression", "'expression' is required.");
        if (request.Resolution < 2 || request.Resolution > _limits.MaxSurfaceResolution)
            throw Problems.Invalid("resolution", $"resolution must be between 2 and {_limits.MaxSurfaceResolution}, not {request.Resolution}.");
        var source = new FormulaSource(request.Expression);
        var formula = source.Parse(cache, _limits.FormulaLimits);
        var data = DataSource.Resolve(request.Data, request.Dataset, datasets, owner, formula,
            () => GradientService.BoundNames(request.Parameters?.Keys, request.Constants?.Keys));
        var inputs = InputBinding.Bind(request.Parameters, request.Constants, data, _limits, request.Dtype);
        var x = Axis(request.X, "x", inputs);
        var y = Axis(request.Y, "y", inputs);
        if (request.Dtype == DType.Float32)
            foreach (var (axis, field) in new[] { (x, "x"), (y, "y") })
                if (Math.Max(Math.Abs(axis.Min), Math.Abs(axis.Max)) > float.MaxValue)
                    throw Problems.Invalid($"{field}.min", $"'{field}' spans [{axis.Min:R}, {axis.Max:R}], beyond float32's range; use \"dtype\": \"float64\".");
        if (x.Slot == y.Slot && x.Element == y.Element)
            throw Problems.Invalid("y.parameter", "The two axes must be different parameter elements.");
        return request.Dtype == DType.Float32
            ? Compute<float>(source, inputs, x, y, request.Resolution)
            : Compute<double>(source, inputs, x, y, request.Resolution);
    }

    sealed record AxisSpec(int Slot, int Element, double Min, double Max);

    static AxisSpec Axis(SurfaceAxis? axis, string field, BoundInputs inputs)
    {
        if (axis?.Parameter is null || ElementPattern().Match(axis.Parameter) is not { Success: true } match)
            throw Problems.Invalid($"{field}.parameter", $"'{field}.parameter' must name a scalar parameter, e.g. \"b0\", or a vector element, e.g. \"x[1]\".");
        if (!(double.IsFinite(axis.Min) && double.IsFinite(axis.Max) && axis.Min < axis.Max && double.IsFinite(axis.Max - axis.Min)))
            throw Problems.Invalid($"{field}.min", $"'{field}' needs finite min < max, not {axis.Min} and {axis.Max}.");
        var name = match.Groups[1].Value;
        var slot = inputs.ParameterSlots.Where(s => inputs.Specs[s].Name == name).DefaultIfEmpty(-1).First();
        if (slot < 0)
            throw Problems.Invalid($"{field}.parameter", $"'{name}' is not a parameter of this request.");
        var spec = inputs.Specs[slot];
        var element = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) - 1 : 0;
        if (spec.IsMatrix || match.Groups[3].Success)
        {
            // W[i,j] of a matrix, row-major, as the Hessian labels it.
            var column = match.Groups[3].Success ? int.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture) - 1 : -1;
            if (!spec.IsMatrix || column < 0 || column >= spec.Columns || element < 0 || element >= spec.Rows)
                throw Problems.Invalid($"{field}.parameter", spec.IsMatrix
                    ? $"'{name}' is a {spec.Rows}x{spec.Columns} matrix: name an element from {name}[1,1] to {name}[{spec.Rows},{spec.Columns}]."
                    : $"'{name}' is not a matrix: name it {(spec.IsScalar ? "without an index" : "with one index")}.");
            return new AxisSpec(slot, element * spec.Columns + column, axis.Min, axis.Max);
        }
        if (spec.IsScalar == match.Groups[2].Success || element < 0 || element >= spec.Length)
            throw Problems.Invalid($"{field}.parameter", spec.IsScalar
                ? $"'{name}' is a scalar: name it without an index."
                : $"'{name}' is a vector of {spec.Length}: name an element from {name}[1] to {name}[{spec.Length}].");
        return new AxisSpec(slot, element, axis.Min, axis.Max);
    }

    SurfaceResponse Compute<T>(FormulaSource source, BoundInputs inputs, AxisSpec xAxis, AxisSpec yAxis, int resolution)
        where T : IFloatingPointIeee754<T>
    {
        var compiled = GradientService.Rent<T>(cache, source, inputs, _limits);
        try
        {
            // Each grid point replays the whole tape, so the work is the grid times the numbers the tape holds.
            var perPoint = compiled.Tape.Nodes.Sum(node => (long)node.Length);
            var work = (long)resolution * resolution * perPoint;
            if (work > _limits.MaxSurfaceElementEvaluations)
                throw Problems.TooLarge("surface-too-large", "resolution",
                    $"A {resolution}x{resolution} grid over a tape of {perPoint:N0} numbers means {work:N0} element evaluations; the limit is {_limits.MaxSurfaceElementEvaluations:N0}. Lower the resolution or use fewer rows.");
            var xs = Grid(xAxis, resolution);
            var ys = Grid(yAxis, resolution);
            var xValues = GradientService.Convert<T>((double[])inputs.Values[xAxis.Slot].Clone());
            var yValues = xAxis.Slot == yAxis.Slot ? xValues : GradientService.Convert<T>((double[])inputs.Values[yAxis.Slot].Clone());
            var z = new double?[resolution][];
            for (var j = 0; j < resolution; j++)
            {
                z[j] = new double?[resolution];
                yValues[yAxis.Element] = T.CreateChecked(ys[j]);
                for (var i = 0; i < resolution; i++)
                {
                    xValues[xAxis.Element] = T.CreateChecked(xs[i]);
                    compiled.SetInput(xAxis.Slot, xValues);
                    if (yAxis.Slot != xAxis.Slot) compiled.SetInput(yAxis.Slot, yValues);
                    var value = double.CreateChecked(compiled.Evaluate());
                    z[j][i] = double.IsFinite(value) ? value : null;
                }
            }
            return new SurfaceResponse { X = xs, Y = ys, Z = z };
        }
        finally
        {
            cache.Return(compiled);
        }
    }

    static double[] Grid(AxisSpec axis, int resolution) =>
        // The fraction first: (max - min) * i can overflow where (max - min) * (i / (n - 1)) cannot.
        Enumerable.Range(0, resolution).Select(i => i == resolution - 1 ? axis.Max : axis.Min + (axis.Max - axis.Min) * ((double)i / (resolution - 1))).ToArray();
}
