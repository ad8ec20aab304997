using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// Adam, and AdamW when <paramref name="decoupledWeightDecay"/> is set, with optional AMSGrad, following the
/// update torch.optim.Adam and torch.optim.AdamW document.
/// </summary>
public sealed class Adam<T>(int dimension, double learningRate, double beta1 = 0.9, double beta2 = 0.999,
    double eps = 1e-8, double weightDecay = 0, bool amsgrad = false, bool decoupledWeightDecay = false)
    : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate), _beta1 = Of(beta1), _beta2 = Of(beta2), _eps = Of(eps), _weightDecay = Of(weightDecay);
    readonly T[] _m = new T[dimension], _v = new T[dimension], _vMax = new T[dimension];
    int _t;

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        _t++;
        var biasCorrection1 = T.One - T.Pow(_beta1, T.CreateChecked(_t));
        var biasCorrection2 = T.One - T.Pow(_beta2, T.CreateChecked(_t));
        for (var i = 0; i < x.Length; i++)
        {
            var g = gradient[i];
            if (_weightDecay != T.Zero)
            {
                if (decoupledWeightDecay) x[i] *= T.One - _lr * _weightDecay;
                else g += _weightDecay * x[i];
            }
            _m[i] = _beta1 * _m[i] + (T.One - _beta1) * g;
            _v[i] = _beta2 * _v[i] + (T.One - _beta2) * g * g;
            var v = _v[i];
            if (amsgrad) v = _vMax[i] = T.Max(_vMax[i], v);
            var denominator = T.Sqrt(v) / T.Sqrt(biasCorrection2) + _eps;
            x[i] -= _lr / biasCorrection1 * _m[i] / denominator;
        }
        return StepResult.Moved;
    }

    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() =>
        new OptimizerState("adam").With<T>("m", _m).With<T>("v", _v).With<T>("vMax", _vMax).With("t", _t);

    public override void ImportState(OptimizerState state)
    {
        state.Of("adam").Read<T>("m", _m);
        state.Read<T>("v", _v);
        state.Read<T>("vMax", _vMax);
        _t = checked((int)state.Counter("t"));
    }
}
