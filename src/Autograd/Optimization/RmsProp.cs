using System.Numerics;

namespace Autograd.Optimization;

/// <summary>RMSprop with optional momentum and centering, as torch.optim.RMSprop.</summary>
public sealed class RmsProp<T>(int dimension, double learningRate, double alpha = 0.99, double eps = 1e-8,
    double weightDecay = 0, double momentum = 0, bool centered = false) : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate), _alpha = Of(alpha), _eps = Of(eps), _weightDecay = Of(weightDecay), _momentum = Of(momentum);
    readonly T[] _square = new T[dimension], _average = new T[dimension], _buffer = new T[dimension];

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        for (var i = 0; i < x.Length; i++)
        {
            var g = gradient[i] + _weightDecay * x[i];
            _square[i] = _alpha * _square[i] + (T.One - _alpha) * g * g;
            var variance = _square[i];
            if (centered)
            {
                _average[i] = _alpha * _average[i] + (T.One - _alpha) * g;
                variance -= _average[i] * _average[i];
            }
            var step = g / (T.Sqrt(variance) + _eps);
            if (_momentum != T.Zero) step = _buffer[i] = _momentum * _buffer[i] + step;
            x[i] -= _lr * step;
        }
        return StepResult.Moved;
    }

    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() =>
        new OptimizerState("rmsprop").With<T>("square", _square).With<T>("average", _average).With<T>("buffer", _buffer);

    public override void ImportState(OptimizerState state)
    {
        state.Of("rmsprop").Read<T>("square", _square);
        state.Read<T>("average", _average);
        state.Read<T>("buffer", _buffer);
    }
}
