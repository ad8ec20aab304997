using System.Numerics;
using Autograd.Analysis;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;

namespace Autograd.Api.Gradients;

/// <summary>Each parameter's derivative as a formula: derived from the tape, simplified, printed and verified by evaluating the text.</summary>
public static class SymbolicInsight
{
    public static Dictionary<string, SymbolicDerivative> Derive<T>(CompiledFormula<T> compiled, BoundInputs inputs, ServiceLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        var result = new Dictionary<string, SymbolicDerivative>(StringComparer.Ordinal);
        foreach (var derivative in SymbolicDifferentiator.Derive(compiled, limits.FormulaLimits))
        {
            var texts = derivative.Verified ? derivative.Texts : null;
            result[derivative.Parameter] = new SymbolicDerivative
            {
                Expression = derivative.IsScalar ? texts?[0] : null,
                Elements = derivative.IsScalar ? null : texts,
                Verified = derivative.Verified,
                MaxRelativeError = derivative.MaxRelativeError,
                Note = derivative.Note,
            };
        }
        return result;
    }
}
