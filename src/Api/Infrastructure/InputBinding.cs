using System.Buffers;
using Autograd.Contracts;
using Autograd.Expressions;

namespace Autograd.Api.Infrastructure;

/// <summary>The named inputs of a request, checked and put in formula order: parameters, constants, data.</summary>
public sealed record BoundInputs(IReadOnlyList<InputSpec> Specs, IReadOnlyList<double[]> Values)
{
    public int[] ParameterSlots { get; } = SlotsOf(Specs, InputKind.Parameter);

    static int[] SlotsOf(IReadOnlyList<InputSpec> specs, InputKind kind)
    {
        var count = 0;
        foreach (var spec in specs) if (spec.Kind == kind) count++;
        var slots = new int[count];
        for (int i = 0, j = 0; i < specs.Count; i++) if (specs[i].Kind == kind) slots[j++] = i;
        return slots;
    }
}

/// <summary>Checks parameters, constants and data against each other and the limits; failures are 4xx problems.</summary>
public static class InputBinding
{
    static readonly SearchValues<char> NameCharacters =
        SearchValues.Create("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_");

    /// <summary>Whether a formula can refer to this name: ASCII letters, digits and '_', not starting with a digit.</summary>
    public static bool IsValidName(string name) =>
        name.Length > 0 && !char.IsAsciiDigit(name[0]) && !name.AsSpan().ContainsAnyExcept(NameCharacters);

    /// <summary>Read only: enumerated in place of a section the request leaves out, without allocating one.</summary>
    static readonly Dictionary<string, NumberOrVector> NoInputs = [];

    public static BoundInputs Bind(Dictionary<string, NumberOrVector>? parameters, Dictionary<string, NumberOrVector>? constants,
        Dictionary<string, NumberOrVector>? data, ServiceLimits limits, DType dtype = DType.Float64)
    {
        if (parameters is null)
            throw Problems.Invalid("parameters", "'parameters' is required: an object mapping each name to a number or an array of numbers, e.g. {\"x\": [-1, 1]}.");
        // Every entry of the three sections is bound once, in this order, or the request fails.
        var count = parameters.Count + (constants?.Count ?? 0) + (data?.Count ?? 0);
        var specs = new InputSpec[count];
        var values = new double[count][];
        var bound = 0;

        var parameterElements = 0L;
        foreach (var (name, value) in parameters)
        {
            Add(name, "parameters", InputKind.Parameter, value.Values, value.IsScalar, value.Columns);
            parameterElements += value.Values.Length;
        }
        if (parameterElements > limits.MaxParameterElements)
            throw Problems.TooLarge("too-many-parameters", "parameters",
                $"The parameters have {parameterElements:N0} elements in all; the limit is {limits.MaxParameterElements:N0}.");
        foreach (var (name, value) in constants ?? NoInputs)
        {
            if (value?.Values.Length > limits.MaxDataRows)
                throw Problems.TooLarge("too-many-rows", $"constants.{name}",
                    $"Constant '{name}' has {value.Values.Length:N0} elements; the limit is {limits.MaxDataRows:N0}.");
            Add(name, "constants", InputKind.Constant, value!.Values, value.IsScalar, value.Columns);
        }

        string? firstColumn = null;
        var firstRows = 0;
        foreach (var (name, column) in data ?? NoInputs)
        {
            if (column is null) throw Problems.Invalid($"data.{name}", $"Data column '{name}' is null; give an array of numbers.");
            if (column.IsScalar)
                throw Problems.Invalid($"data.{name}", $"Data '{name}' is one number; data is a column (an array of numbers, one per row) or a matrix (an array of rows). A single number is a constant.");
            // A matrix of data is rows of features: its rows are the data's rows.
            var rows = column.IsMatrix ? column.Values.Length / column.Columns : column.Values.Length;
            var what = column.IsMatrix ? "Data matrix" : "Data column";
            if (column.Values.Length > limits.MaxDataRows)
                throw Problems.TooLarge("too-many-rows", $"data.{name}",
                    $"{what} '{name}' has {column.Values.Length:N0} values; the limit is {limits.MaxDataRows:N0}.");
            if (firstColumn is not null && rows != firstRows)
                throw new ProblemException(400, "unequal-data-columns", "Data columns differ in length",
                    $"{what} '{name}' has {rows:N0} rows but '{firstColumn}' has {firstRows:N0}; all columns and matrices of data must have the same number of rows.",
                    new Dictionary<string, object?> { ["field"] = $"data.{name}" });
            (firstColumn, firstRows) = firstColumn is null ? (name, rows) : (firstColumn, firstRows);
            Add(name, "data", InputKind.Data, column.Values, isScalar: false, column.Columns);
        }
        return new BoundInputs(specs, values);

        void Add(string name, string section, InputKind kind, double[] elements, bool isScalar, int columns = 0)
        {
            string Field() => $"{section}.{name}";
            if (!IsValidName(name))
                throw Problems.Invalid(Field(), $"'{name}' is not a valid name: use letters, digits and '_', not starting with a digit.");
            // Names are unique within a section (its dictionary's keys, ordinal as JSON reads them): a name given
            // twice is in an earlier section as well.
            var other = section == "parameters" ? null
                : parameters.ContainsKey(name) ? "parameters"
                : section == "data" && constants?.ContainsKey(name) == true ? "constants"
                : null;
            if (other is not null)
                throw new ProblemException(400, "duplicate-name", "A name is given twice",
                    $"'{name}' is given in both '{other}' and '{section}'; each name may be bound once.",
                    new Dictionary<string, object?> { ["field"] = Field() });
            if (elements.Length == 0)
                throw Problems.Invalid(Field(), $"'{name}' is an empty array; a vector needs at least one element.");
            for (var i = 0; i < elements.Length; i++)
                if (!double.IsFinite(elements[i]))
                    throw new ProblemException(400, "non-finite-input", "An input is not finite",
                        $"Element {i + 1} of '{Field()}' is not a finite number.",
                        new Dictionary<string, object?> { ["field"] = isScalar ? Field() : $"{Field()}[{i + 1}]" });
                else if (dtype == DType.Float32 && Math.Abs(elements[i]) > float.MaxValue)
                    throw new ProblemException(400, "out-of-range-for-dtype", "An input does not fit the dtype",
                        $"Element {i + 1} of '{Field()}' is {elements[i]:R}, beyond float32's largest value {float.MaxValue:R}; use \"dtype\": \"float64\" or rescale.",
                        new Dictionary<string, object?> { ["field"] = isScalar ? Field() : $"{Field()}[{i + 1}]" });
            specs[bound] = isScalar ? InputSpec.Scalar(name, kind)
                : columns > 0 ? InputSpec.Matrix(name, kind, elements.Length / columns, columns)
                : InputSpec.Vector(name, kind, elements.Length);
            values[bound++] = elements;
        }
    }
}
