using System.Numerics;

namespace Autograd.Optimization;

/// <summary>A loss over a flat parameter vector, as optimizers see it.</summary>
public interface IObjective<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>The number of parameter elements.</summary>
    int Dimension { get; }

    /// <summary>The loss at <paramref name="x"/>; writes d(loss)/dx into <paramref name="gradient"/>.</summary>
    T ValueAndGradient(ReadOnlySpan<T> x, Span<T> gradient);

    /// <summary>The exact Hessian at <paramref name="x"/>, row-major, Dimension² elements.</summary>
    void Hessian(ReadOnlySpan<T> x, Span<T> matrix);
}
