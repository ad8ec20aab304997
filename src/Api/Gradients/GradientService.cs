using System.Numerics;
using Autograd.Api.Datasets;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;
using Microsoft.Extensions.Options;

namespace Autograd.Api.Gradients;

/// <summary>Evaluates a formula's value, gradient and, when asked, Hessian and tape, replaying cached tapes.</summary>
public sealed class GradientService(FormulaCache cache, IDatasetStore datasets, IOptions<ServiceLimits> options)
{
    readonly ServiceLimits _limits = options.Value;

    public GradientResponse Compute(GradientRequest request, string? owner)
    {
        if (string.IsNullOrWhiteSpace(request.Expression))
            throw Problems.Invalid("expression", "'expression' is required: a formula such as \"0.2*x1^2 + 0.2*x2^2 - 5\".");
        var source = new FormulaSource(request.Expression);
        var formula = source.Parse(cache, _limits.FormulaLimits);
        var data = request.Dataset is null ? request.Data : StoredData(request, formula, owner);
        var inputs = InputBinding.Bind(request.Parameters, request.Constants, data, _limits, request.Dtype);
        return request.Dtype == DType.Float32
            ? Compute<float>(source, formula, inputs, request.Hessian, request.Explain, request)
            : Compute<double>(source, formula, inputs, request.Hessian, request.Explain, request);
    }

    // Apart from Compute: a lambda there would capture the request, and its closure be allocated on every call.
    Dictionary<string, NumberOrVector>? StoredData(GradientRequest request, Formula formula, string? owner) =>
        DataSource.Resolve(request.Data, request.Dataset, datasets, owner, formula, () => BoundNames(request.Parameters, request.Constants));

    public static HashSet<string> BoundNames(params IEnumerable<string>?[] sections) =>
        sections.SelectMany(s => s ?? []).ToHashSet(StringComparer.Ordinal);

    static HashSet<string> BoundNames<TValue>(Dictionary<string, TValue>? parameters, Dictionary<string, TValue>? constants) =>
        BoundNames(parameters?.Keys, constants?.Keys);

    GradientResponse Compute<T>(FormulaSource source, Formula formula, BoundInputs inputs, bool hessian, bool explain, GradientRequest request)
        where T : IFloatingPointIeee754<T>
    {
        var compiled = Rent<T>(cache, source, inputs, _limits, formula: formula);
        try
        {
            if (explain && compiled.Tape.Nodes.Sum(node => (long)node.Length) > _limits.MaxExplainElements)
                throw Problems.TooLarge("explain-too-large", "explain",
                    $"The tape holds more than {_limits.MaxExplainElements:N0} numbers, too many to return node by node; explain a smaller sample of the data.");
            T[]? matrix = null;
            if (hessian)
            {
                if (compiled.ParameterCount > _limits.MaxHessianParameters)
                    throw Problems.TooLarge("hessian-too-large", "hessian",
                        $"A Hessian over {compiled.ParameterCount:N0} parameter elements has {compiled.ParameterCount * (long)compiled.ParameterCount:N0} entries; the limit is {_limits.MaxHessianParameters:N0} elements.");
                matrix = new T[compiled.ParameterCount * compiled.ParameterCount];
                compiled.Hessian(matrix);
            }
            else if (explain)
            {
                compiled.EvaluateWithGradient();
            }
            else
            {
                compiled.EvaluateWithGradientFused();
            }
            // Every number in the response must be finite: the value and gradient, and with explain every node too.
            // A non-finite intermediate alone (min(x, exp(1000))) is fine when the tape is not returned.
            if (!Finiteness.ValueAndGradientAreFinite(compiled, compiled.Value))
            {
                // The fused replay leaves intermediate nodes stale: replay every node to find the one to blame.
                if (matrix is null && !explain) compiled.EvaluateWithGradient();
                throw Finiteness.Blame(compiled);
            }
            if (explain) Finiteness.EnsureEveryNodeIsFinite(compiled);
            if (matrix is not null && !matrix.All(T.IsFinite))
                throw Problems.NotFinite("The Hessian has entries that are not finite at this point; the value and gradient are finite.", []);
            return GradientInsight.Add(new GradientResponse
            {
                Value = double.CreateChecked(compiled.Value),
                Gradient = GradientByName(compiled, inputs),
                Hessian = matrix is null ? null : ToRows(matrix, compiled.ParameterCount),
                HessianLabels = matrix is null ? null : HessianLabels(inputs),
                Tape = explain ? TapeExplainer.Describe(compiled) : null,
            }, request, compiled, inputs, _limits);
        }
        finally
        {
            cache.Return(compiled);
        }
    }

    /// <summary>
    /// Rents a compiled formula and sets its inputs; formula errors become problems pointing into <paramref name="source"/>.
    /// Data columns already of type <typeparamref name="T"/> are bound by reference, not copied. Pass the
    /// <paramref name="formula"/> parsed from the source, if at hand, so that a miss does not parse it again.
    /// </summary>
    public static CompiledFormula<T> Rent<T>(FormulaCache cache, FormulaSource source, BoundInputs inputs, ServiceLimits limits,
        IReadOnlyList<InputSpec>? specs = null, Formula? formula = null) where T : IFloatingPointIeee754<T>
    {
        specs ??= inputs.Specs;
        CompiledFormula<T> compiled;
        try
        {
            compiled = formula is null ? cache.Rent<T>(source.Text, specs, limits.FormulaLimits) : cache.Rent<T>(formula, specs, limits.FormulaLimits);
        }
        catch (FormulaException e)
        {
            throw source.Problem(e);
        }
        for (var slot = 0; slot < specs.Count; slot++)
        {
            if (specs[slot].Length != inputs.Values[slot].Length) continue;
            if (specs[slot].Kind == InputKind.Data && inputs.Values[slot] is T[] column) compiled.BindInput(slot, column);
            else compiled.SetInput(slot, Convert<T>(inputs.Values[slot]));
        }
        return compiled;
    }

    static Dictionary<string, NumberOrVector> GradientByName<T>(CompiledFormula<T> compiled, BoundInputs inputs)
        where T : IFloatingPointIeee754<T>
    {
        var gradient = new Dictionary<string, NumberOrVector>(inputs.ParameterSlots.Length, StringComparer.Ordinal);
        foreach (var slot in inputs.ParameterSlots)
            gradient[inputs.Specs[slot].Name] = ToContract(compiled.GradientOf(slot), inputs.Specs[slot].IsScalar, inputs.Specs[slot].Columns);
        return gradient;
    }

    public static T[] Convert<T>(double[] values) where T : IFloatingPointIeee754<T>
    {
        if (values is T[] same) return same;
        var converted = new T[values.Length];
        for (var i = 0; i < values.Length; i++) converted[i] = T.CreateChecked(values[i]);
        return converted;
    }

    /// <summary>Values in the shape of a scalar, a vector or a matrix of <paramref name="columns"/> columns (row-major, as nested arrays).</summary>
    public static NumberOrVector ToContract<T>(ReadOnlySpan<T> values, bool isScalar, int columns = 0) where T : IFloatingPointIeee754<T>
    {
        if (isScalar) return NumberOrVector.Scalar(double.CreateChecked(values[0]));
        var result = new double[values.Length];
        for (var i = 0; i < values.Length; i++) result[i] = double.CreateChecked(values[i]);
        return columns > 0 ? NumberOrVector.Matrix(result, columns) : NumberOrVector.Vector(result);
    }

    /// <summary>A parameter's elements as the Hessian and exports label them: b0; x[1], x[2]; W[1,1], W[1,2], ... row-major.</summary>
    public static IEnumerable<string> ElementLabels(string name, int length, bool isScalar, int columns) =>
        isScalar ? [name]
        : columns > 0 ? Enumerable.Range(0, length).Select(i => $"{name}[{i / columns + 1},{i % columns + 1}]")
        : Enumerable.Range(1, length).Select(i => $"{name}[{i}]");

    static double[][] ToRows<T>(T[] matrix, int n) where T : IFloatingPointIeee754<T>
    {
        var rows = new double[n][];
        for (var i = 0; i < n; i++)
        {
            rows[i] = new double[n];
            for (var j = 0; j < n; j++) rows[i][j] = double.CreateChecked(matrix[i * n + j]);
        }
        return rows;
    }

    static string[] HessianLabels(BoundInputs inputs) =>
        inputs.ParameterSlots.Select(slot => inputs.Specs[slot])
            .SelectMany(spec => ElementLabels(spec.Name, spec.Length, spec.IsScalar, spec.Columns)).ToArray();
}
