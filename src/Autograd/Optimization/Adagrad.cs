using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Adagrad with learning-rate decay, as torch.optim.Adagrad.</summary>
public sealed class Adagrad<T>(int dimension, double learningRate, double learningRateDecay = 0, double weightDecay = 0,
    double initialAccumulatorValue = 0, double eps = 1e-10) : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate), _lrDecay = Of(learningRateDecay), _weightDecay = Of(weightDecay), _eps = Of(eps);
    readonly T[] _sum = Enumerable.Repeat(Of(initialAccumulatorValue), dimension).ToArray();
    int _t;

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        _t++;
        var lr = _lr / (T.One + T.CreateChecked(_t - 1) * _lrDecay);
        for (var i = 0; i < x.Length; i++)
        {
            var g = gradient[i] + _weightDecay * x[i];
            _sum[i] += g * g;
            x[i] -= lr * g / (T.Sqrt(_sum[i]) + _eps);
        }
        return StepResult.Moved;
    }

    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() => new OptimizerState("adagrad").With<T>("sum", _sum).With("t", _t);

    public override void ImportState(OptimizerState state)
    {
        state.Of("adagrad").Read<T>("sum", _sum);
        _t = checked((int)state.Counter("t"));
    }
}
