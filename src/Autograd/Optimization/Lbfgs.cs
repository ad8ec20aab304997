using System.Numerics;

namespace Autograd.Optimization;

/// <summary>
/// Limited-memory BFGS: the two-loop recursion over the last <paramref name="historySize"/> steps, then a
/// strong-Wolfe line search (or a fixed step of the learning rate without one), as torch.optim.LBFGS.
/// One <see cref="Step"/> is one quasi-Newton iteration.
/// </summary>
public sealed class Lbfgs<T>(int dimension, double learningRate = 1, int historySize = 10, bool strongWolfe = true)
    : Optimizer<T> where T : IFloatingPointIeee754<T>
{
    readonly T _lr = Of(learningRate);
    readonly List<(T[] S, T[] Y, T Rho)> _history = [];
    readonly T[] _direction = new T[dimension];
    readonly T[] _previousX = new T[dimension];
    readonly T[] _previousGradient = new T[dimension];
    readonly T[] _s = new T[dimension];
    readonly T[] _y = new T[dimension];
    readonly T[] _alpha = new T[Math.Max(historySize, 1)];
    readonly StrongWolfeLineSearch<T> _search = new(dimension);
    bool _started;

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        if (_started) Remember(x, gradient);
        ComputeDirection(gradient);
        var initialStep = _started ? _lr : T.Min(T.One, T.One / OneNorm(gradient)) * _lr;
        if (!strongWolfe)
        {
            x.CopyTo(_previousX);
            gradient.CopyTo(_previousGradient);
            for (var i = 0; i < x.Length; i++) x[i] += initialStep * _direction[i];
            _started = true;
            return StepResult.Moved;
        }
        if (!_search.Search(objective, x, value, gradient, _direction, initialStep))
        {
            // Not a descent direction, or no decrease along it: forget the curvature pairs and try steepest descent.
            _history.Clear();
            for (var i = 0; i < x.Length; i++) _direction[i] = -gradient[i];
            initialStep = T.Min(T.One, T.One / OneNorm(gradient)) * _lr;
            if (!_search.Search(objective, x, value, gradient, _direction, initialStep)) return StepResult.Stuck;
        }
        x.CopyTo(_previousX);
        gradient.CopyTo(_previousGradient);
        _search.Point.CopyTo(x);
        _started = true;
        return StepResult.Moved;
    }

    void Remember(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        for (var i = 0; i < x.Length; i++)
        {
            _s[i] = x[i] - _previousX[i];
            _y[i] = gradient[i] - _previousGradient[i];
        }
        var ys = Dot(_y, _s);
        if (ys <= T.CreateChecked(1e-10)) return;
        // Reuse the oldest pair's arrays once the history is full, so that iterations stop allocating.
        T[] s, y;
        if (_history.Count == _alpha.Length)
        {
            (s, y, _) = _history[0];
            _history.RemoveAt(0);
        }
        else
        {
            (s, y) = (new T[x.Length], new T[x.Length]);
        }
        _s.CopyTo(s, 0);
        _y.CopyTo(y, 0);
        _history.Add((s, y, T.One / ys));
    }

    void ComputeDirection(ReadOnlySpan<T> gradient)
    {
        var q = _direction;
        for (var i = 0; i < q.Length; i++) q[i] = -gradient[i];
        for (var k = _history.Count - 1; k >= 0; k--)
        {
            var (s, y, rho) = _history[k];
            _alpha[k] = rho * Dot(s, q);
            for (var i = 0; i < q.Length; i++) q[i] -= _alpha[k] * y[i];
        }
        if (_history.Count > 0)
        {
            var (s, y, _) = _history[^1];
            var gamma = Dot(s, y) / Dot(y, y);
            for (var i = 0; i < q.Length; i++) q[i] *= gamma;
        }
        for (var k = 0; k < _history.Count; k++)
        {
            var (s, y, rho) = _history[k];
            var beta = rho * Dot(y, q);
            for (var i = 0; i < q.Length; i++) q[i] += (_alpha[k] - beta) * s[i];
        }
    }

    static T OneNorm(ReadOnlySpan<T> values)
    {
        var sum = T.Zero;
        foreach (var v in values) sum += T.Abs(v);
        return sum == T.Zero ? T.One : sum;
    }
}
