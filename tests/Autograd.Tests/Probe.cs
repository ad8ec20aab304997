using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// Reads and writes a compiled formula's parameters as one flat vector (inputs in order, elements in
/// order), which is how <see cref="CompiledFormula{T}.Hessian"/> lays out its rows and columns, and
/// computes the finite differences the derivative tests compare against.
/// </summary>
internal static class Probe
{
    public static int[] ParameterSlots(CompiledFormula<double> formula) =>
        Enumerable.Range(0, formula.Inputs.Count).Where(i => formula.Inputs[i].Kind == InputKind.Parameter).ToArray();

    public static double[] Parameters(CompiledFormula<double> formula) =>
        ParameterSlots(formula).SelectMany(slot => formula.InputValues(slot).ToArray()).ToArray();

    public static void SetParameters(CompiledFormula<double> formula, ReadOnlySpan<double> flat)
    {
        var offset = 0;
        foreach (var slot in ParameterSlots(formula))
        {
            var length = formula.Inputs[slot].Length;
            formula.SetInput(slot, flat.Slice(offset, length));
            offset += length;
        }
        Assert.Equal(flat.Length, offset);
    }

    /// <summary>The value at <paramref name="flat"/>, leaving the parameters there.</summary>
    public static double ValueAt(CompiledFormula<double> formula, ReadOnlySpan<double> flat)
    {
        SetParameters(formula, flat);
        return formula.Evaluate();
    }

    /// <summary>EvaluateWithGradient, then the gradient flattened like the parameters.</summary>
    public static double[] Gradient(CompiledFormula<double> formula)
    {
        formula.EvaluateWithGradient();
        return ParameterSlots(formula).SelectMany(slot => formula.GradientOf(slot).ToArray()).ToArray();
    }

    public static double[] GradientAt(CompiledFormula<double> formula, ReadOnlySpan<double> flat)
    {
        SetParameters(formula, flat);
        return Gradient(formula);
    }

    public static double[,] Hessian(CompiledFormula<double> formula)
    {
        var n = formula.ParameterCount;
        var flat = new double[n * n];
        formula.Hessian(flat);
        var matrix = new double[n, n];
        for (var i = 0; i < n; i++)
            for (var j = 0; j < n; j++) matrix[i, j] = flat[i * n + j];
        return matrix;
    }

    /// <summary>(f(p + h e_j) - f(p - h e_j)) / 2h, elementwise for a vector-valued f; leaves the parameters at p.</summary>
    public static double[] Central(CompiledFormula<double> formula, double[] point, int j, double h,
        Func<CompiledFormula<double>, double[]> f)
    {
        var shifted = (double[])point.Clone();
        shifted[j] = point[j] + h;
        SetParameters(formula, shifted);
        var plus = f(formula);
        shifted[j] = point[j] - h;
        SetParameters(formula, shifted);
        var minus = f(formula);
        SetParameters(formula, point);
        // Divide by the step actually taken, which rounding may have changed slightly.
        var step = (point[j] + h) - (point[j] - h);
        return plus.Zip(minus, (a, b) => (a - b) / step).ToArray();
    }

    public static double[] ValueOnly(CompiledFormula<double> formula) => [formula.Evaluate()];

    /// <summary>
    /// Sum over the recorded nodes of |adjoint · value|: how far rounding each node's value by one ulp
    /// can move the output, in units of machine epsilon. Finite-difference rounding error scales with it.
    /// Call after a backward sweep.
    /// </summary>
    public static double RoundingScale<T>(Tape<T> tape) where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var scale = 0.0;
        foreach (var node in tape.Nodes)
        {
            if (node.Adjoint.Length == 0) continue;
            for (var i = 0; i < node.Length; i++)
                scale += Math.Abs(double.CreateChecked(node.Adjoint[i]) * double.CreateChecked(node.Value[i]));
        }
        return scale;
    }

    public static string Show(IEnumerable<double> values) =>
        "[" + string.Join(", ", values.Select(v => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture))) + "]";
}
