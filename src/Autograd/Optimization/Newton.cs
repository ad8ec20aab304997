using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// Newton's method on the exact Hessian. Where the Hessian is not positive definite it adds λI until a
/// Cholesky factorisation succeeds (Levenberg damping), then backtracks from the full step until the loss
/// decreases enough (Armijo), so it never steps uphill; with no such step it stays where it is and reports
/// <see cref="StepResult.Stuck"/>.
/// </summary>
public sealed class Newton<T>(int dimension, double learningRate = 1) : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    const int MaxHalvings = 50;
    readonly T _lr = Of(learningRate);
    readonly T[] _hessian = new T[dimension * dimension];
    readonly T[] _factor = new T[dimension * dimension];
    readonly T[] _direction = new T[dimension];
    readonly T[] _trial = new T[dimension];
    readonly T[] _trialGradient = new T[dimension];

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        var n = x.Length;
        objective.Hessian(x, _hessian);
        var damping = T.Zero;
        // Damping starts in proportion to the Hessian's own size, so that scaling the loss scales it too.
        var scale = T.Zero;
        for (var i = 0; i < n; i++) scale = T.Max(scale, T.Abs(_hessian[i * n + i]));
        if (!(scale > T.Zero) || !T.IsFinite(scale)) scale = T.One;
        for (var attempt = 0; !Cholesky(_hessian, damping, _factor, n); attempt++)
        {
            if (attempt == 60) return StepResult.Stuck;
            damping = damping == T.Zero ? scale * Of(1e-8) : damping * Of(10);
        }
        for (var i = 0; i < n; i++) _direction[i] = -gradient[i];
        Solve(_factor, _direction, n);

        var slope = Dot(gradient, _direction);
        if (!(slope < T.Zero)) return StepResult.Stuck;
        var step = _lr;
        for (var halving = 0; halving < MaxHalvings; halving++, step /= Of(2))
        {
            for (var i = 0; i < n; i++) _trial[i] = x[i] + step * _direction[i];
            var trialValue = objective.ValueAndGradient(_trial, _trialGradient);
            if (T.IsFinite(trialValue) && trialValue <= value + Of(1e-4) * step * slope)
            {
                _trial.CopyTo(x);
                return StepResult.Moved;
            }
        }
        return StepResult.Stuck;
    }

    /// <summary>Nothing carries over between steps: the damping starts afresh from the Hessian at each.</summary>
    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() => new("newton");

    public override void ImportState(OptimizerState state) => state.Of("newton");

    /// <summary>L with L·Lᵀ = A + λI, in the lower triangle of <paramref name="factor"/>; false if not positive definite.</summary>
    static bool Cholesky(T[] a, T damping, T[] factor, int n)
    {
        for (var i = 0; i < n; i++)
        {
            for (var j = 0; j <= i; j++)
            {
                var sum = a[i * n + j] + (i == j ? damping : T.Zero);
                for (var k = 0; k < j; k++) sum -= factor[i * n + k] * factor[j * n + k];
                if (i == j)
                {
                    if (!(sum > T.Zero) || !T.IsFinite(sum)) return false;
                    factor[i * n + i] = T.Sqrt(sum);
                }
                else
                {
                    factor[i * n + j] = sum / factor[j * n + j];
                }
            }
        }
        return true;
    }

    /// <summary>Solves L·Lᵀ·x = b in place.</summary>
    static void Solve(T[] factor, T[] b, int n)
    {
        for (var i = 0; i < n; i++)
        {
            var sum = b[i];
            for (var k = 0; k < i; k++) sum -= factor[i * n + k] * b[k];
            b[i] = sum / factor[i * n + i];
        }
        for (var i = n - 1; i >= 0; i--)
        {
            var sum = b[i];
            for (var k = i + 1; k < n; k++) sum -= factor[k * n + i] * b[k];
            b[i] = sum / factor[i * n + i];
        }
    }
}
