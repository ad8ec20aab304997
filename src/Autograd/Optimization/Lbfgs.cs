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
    static readonly T Epsilon = T.BitIncrement(T.One) - T.One;
    readonly T _lr = Of(learningRate);
    readonly List<(T[] S, T[] Y, T Rho)> _history = [];
    readonly T[] _direction = new T[dimension];
    readonly T[] _previousX = new T[dimension];
    readonly T[] _previousGradient = new T[dimension];
    readonly T[] _s = new T[dimension];
    readonly T[] _y = new T[dimension];
    readonly T[] _alpha = new T[Math.Max(historySize, 1)];
    readonly StrongWolfeLineSearch<T> _search = new(dimension);
    /// <summary>Whether the previous step moved, so that it and this point make a curvature pair.</summary>
    bool _moved;

    /// <summary>Curvature pairs kept so far (each step that moved offers one).</summary>
    public int AcceptedPairs { get; private set; }

    /// <summary>Curvature pairs refused because the step showed no positive curvature beyond rounding.</summary>
    public int SkippedPairs { get; private set; }

    public override StepResult Step(Span<T> x, T value, ReadOnlySpan<T> gradient, IObjective<T> objective)
    {
        if (_moved) Remember(x, gradient);
        ComputeDirection(gradient);
        if (!strongWolfe)
        {
            // torch's fixed steps: min(1, 1/‖g‖₁)·lr the first time, lr after.
            var step = _moved ? _lr : T.Min(T.One, T.One / OneNorm(gradient)) * _lr;
            SaveStart(x, gradient);
            for (var i = 0; i < x.Length; i++) x[i] += step * _direction[i];
            _moved = true;
            return StepResult.Moved;
        }
        if (!_search.Search(objective, x, value, gradient, _direction, InitialStep(gradient)))
        {
            // Not a descent direction, or no acceptable point along it: forget the curvature pairs and try
            // steepest descent once, unless that is what just failed.
            _moved = false;
            if (_history.Count == 0) return StepResult.Stuck;
            _history.Clear();
            ComputeDirection(gradient);
            if (!_search.Search(objective, x, value, gradient, _direction, InitialStep(gradient))) return StepResult.Stuck;
        }
        SaveStart(x, gradient);
        _search.Point.CopyTo(x);
        _moved = true;
        return StepResult.Moved;
    }

    public override bool CanCheckpoint => true;

    /// <summary>The curvature pairs (oldest first), the previous point and gradient, and whether the last step moved.</summary>
    public override OptimizerState ExportState()
    {
        var state = new OptimizerState("lbfgs").With<T>("previousX", _previousX).With<T>("previousGradient", _previousGradient)
            .With("moved", _moved ? 1 : 0).With("pairs", _history.Count).With("accepted", AcceptedPairs).With("skipped", SkippedPairs);
        var rho = new T[_history.Count];
        for (var k = 0; k < _history.Count; k++)
        {
            state.With<T>($"s{k}", _history[k].S).With<T>($"y{k}", _history[k].Y);
            rho[k] = _history[k].Rho;
        }
        return state.With<T>("rho", rho);
    }

    public override void ImportState(OptimizerState state)
    {
        state.Of("lbfgs").Read<T>("previousX", _previousX);
        state.Read<T>("previousGradient", _previousGradient);
        _moved = state.Counter("moved") != 0;
        (AcceptedPairs, SkippedPairs) = (checked((int)state.Counter("accepted")), checked((int)state.Counter("skipped")));
        var pairs = checked((int)state.Counter("pairs"));
        if (pairs > _alpha.Length) throw new ArgumentException($"The checkpoint holds {pairs} curvature pairs; this L-BFGS keeps {_alpha.Length}.", nameof(state));
        var rho = new T[pairs];
        state.Read<T>("rho", rho);
        _history.Clear();
        for (var k = 0; k < pairs; k++)
        {
            var (s, y) = (new T[_direction.Length], new T[_direction.Length]);
            state.Read<T>($"s{k}", s);
            state.Read<T>($"y{k}", y);
            _history.Add((s, y, rho[k]));
        }
    }

    /// <summary>
    /// The first trial step: 1 (times the learning rate) along a direction scaled by the curvature pairs; without
    /// any, torch's lr/‖g‖₁ along steepest descent, so that the first trial moves the parameters by about lr
    /// whatever the loss's scale (torch caps it at lr, which makes a loss scaled down crawl).
    /// </summary>
    T InitialStep(ReadOnlySpan<T> gradient) => _history.Count > 0 ? _lr : _lr / OneNorm(gradient);

    void SaveStart(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        x.CopyTo(_previousX);
        gradient.CopyTo(_previousGradient);
    }

    void Remember(ReadOnlySpan<T> x, ReadOnlySpan<T> gradient)
    {
        for (var i = 0; i < x.Length; i++)
        {
            _s[i] = x[i] - _previousX[i];
            _y[i] = gradient[i] - _previousGradient[i];
        }
        // L-BFGS-B's test: keep the pair when its curvature s·y is positive beyond rounding relative to the decrease
        // the step promised, -g·s. Both sides scale alike with the loss and with the parameters, unlike an absolute
        // cut, which freezes the memory once steps get small.
        var ys = Dot(_y, _s);
        var promised = -Dot(_previousGradient, _s);
        if (!(ys > Epsilon * promised) || !T.IsFinite(ys))
        {
            SkippedPairs++;
            return;
        }
        AcceptedPairs++;
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
