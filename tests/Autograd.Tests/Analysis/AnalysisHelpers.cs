using Autograd.Expressions;

namespace Autograd.Tests.Analysis;

/// <summary>Compiles a formula over named inputs and sets their values, for the analysis tests.</summary>
internal static class AnalysisHelpers
{
    public static CompiledFormula<T> Compile<T>(string text, params (string Name, InputKind Kind, double[] Values, bool Scalar)[] inputs)
        where T : System.Numerics.IFloatingPointIeee754<T>
    {
        var specs = inputs.Select(i => new InputSpec(i.Name, i.Kind, i.Values.Length, i.Scalar)).ToList();
        var compiled = CompiledFormula<T>.Compile(Formula.Parse(text), specs);
        for (var slot = 0; slot < inputs.Length; slot++)
            compiled.SetInput(slot, inputs[slot].Values.Select(T.CreateChecked).ToArray());
        return compiled;
    }

    public static (string, InputKind, double[], bool) Parameter(string name, double value) => (name, InputKind.Parameter, [value], true);
    public static (string, InputKind, double[], bool) Parameter(string name, double[] values) => (name, InputKind.Parameter, values, false);
    public static (string, InputKind, double[], bool) Data(string name, double[] values) => (name, InputKind.Data, values, false);
}
