using System.Numerics;

namespace Autograd.Optimization;

/// <summary>Stochastic gradient descent with momentum, dampening, Nesterov and weight decay, as torch.optim.SGD.</summary>
public sealed class Sgd<T>(int dimension, double learningRate, double momentum = 0, double dampening = 0,
    bool nesterov = false, double weightDecay = 0) : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate), _momentum = Of(momentum), _dampening = Of(dampening), _weightDecay = Of(weightDecay);
    readonly T[] _buffer = new T[dimension];
    readonly bool _plain = Of(weightDecay) == T.Zero && Of(momentum) == T.Zero;
    bool _started;

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        if (_plain)
        {
            // Plain sgd, the same arithmetic as below without the tests per element.
            gradient = gradient[..x.Length];
            for (var i = 0; i < x.Length; i++) x[i] -= _lr * gradient[i];
            _started = true;
            return StepResult.Moved;
        }
        for (var i = 0; i < x.Length; i++)
        {
            var g = gradient[i];
            if (_weightDecay != T.Zero) g += _weightDecay * x[i];
            if (_momentum != T.Zero)
            {
                _buffer[i] = _started ? _momentum * _buffer[i] + (T.One - _dampening) * g : g;
                g = nesterov ? g + _momentum * _buffer[i] : _buffer[i];
            }
            x[i] -= _lr * g;
        }
        _started = true;
        return StepResult.Moved;
    }

    public override bool CanCheckpoint => true;

    public override OptimizerState ExportState() => new OptimizerState("sgd").With<T>("buffer", _buffer).With("started", _started ? 1 : 0);

    public override void ImportState(OptimizerState state)
    {
        state.Of("sgd").Read<T>("buffer", _buffer);
        _started = state.Counter("started") != 0;
    }

    public override void Reset()
    {
        _started = false;
        Array.Clear(_buffer);
    }
}
