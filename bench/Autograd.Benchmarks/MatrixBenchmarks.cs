using System.Numerics.Tensors;
using Autograd.Expressions;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;

namespace Autograd.Benchmarks;

/// <summary>
/// W7: matrices. Logistic regression over 100,000 rows x 20 features (the model shorthand's bce over
/// <c>b0 + X %*% w</c>), and a two-layer network over 10,000 rows with 64 hidden units, value + gradient per
/// iteration, each against a hand-written allocation-free floor that computes the same value and gradient.
/// </summary>
[MemoryDiagnoser]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[CategoriesColumn]
public class MatrixBenchmarks
{
    const int LogisticRows = 100_000, Features = 20, NetworkRows = 10_000, Hidden = 64;

    CompiledFormula<double> _logistic = null!, _network = null!;
    double[] _x = null!, _y = null!, _w = null!, _gw = null!;
    double _b0 = -0.2, _gb0;
    double[] _x1 = null!, _x2 = null!, _ny = null!, _w1 = null!, _b1 = null!, _w2 = null!, _hidden = null!, _pre = null!;
    double[] _gw1 = null!, _gb1 = null!, _gw2 = null!;
    double _b2 = 0.1, _gb2;
    // The vectorised floors' scratch and gradients (the second set for the network's second thread).
    readonly double[] _z = new double[256], _e = new double[256], _l = new double[256];
    double[] _vgw = null!, _vpre = null!, _vgw1 = null!, _vgb1 = null!, _vgw2 = null!, _pre2 = null!, _gw1b = null!, _gb1b = null!, _gw2b = null!;
    double _vgb0, _vgb2;
    TwoThreads<(double, double)> _networkThreads = null!;

    [GlobalSetup]
    public void Setup()
    {
        var random = new Random(7);
        _x = Enumerable.Range(0, LogisticRows * Features).Select(_ => 2 * random.NextDouble() - 1).ToArray();
        _y = Enumerable.Range(0, LogisticRows).Select(_ => random.NextDouble() < 0.4 ? 1.0 : 0.0).ToArray();
        _w = Enumerable.Range(0, Features).Select(j => 0.1 * Math.Sin(j)).ToArray();
        _gw = new double[Features];
        var (expression, _) = ModelLoss.Expand("b0 + X %*% w", "y", "bce");
        _logistic = Workloads.Compile(expression,
            InputSpec.Scalar("b0", InputKind.Parameter), InputSpec.Vector("w", InputKind.Parameter, Features),
            InputSpec.Matrix("X", InputKind.Data, LogisticRows, Features), InputSpec.Vector("y", InputKind.Data, LogisticRows));
        _logistic.SetInput(0, [_b0]);
        _logistic.SetInput(1, _w);
        _logistic.BindInput(2, _x);
        _logistic.BindInput(3, _y);
        Workloads.Check("W7 logistic value", LogisticFloorPerRowTensorPrimitives(), LogisticEngine());
        Workloads.Check("W7 logistic d/db0", _gb0, _logistic.GradientOf(0)[0]);
        for (var j = 0; j < Features; j++) Workloads.Check($"W7 logistic d/dw{j}", _gw[j], _logistic.GradientOf(1)[j]);
        _vgw = new double[Features];
        Workloads.Check("W7 logistic value, vector floor", LogisticEngine(), LogisticFloor());
        Workloads.Check("W7 logistic d/db0, vector floor", _logistic.GradientOf(0)[0], _vgb0);
        for (var j = 0; j < Features; j++) Workloads.Check($"W7 logistic d/dw{j}, vector floor", _logistic.GradientOf(1)[j], _vgw[j]);

        _x1 = Enumerable.Range(0, NetworkRows).Select(_ => 4 * random.NextDouble() - 2).ToArray();
        _x2 = Enumerable.Range(0, NetworkRows).Select(_ => 4 * random.NextDouble() - 2).ToArray();
        _ny = _x1.Zip(_x2, (a, b) => Math.Sin(a) * b).ToArray();
        _w1 = Enumerable.Range(0, 2 * Hidden).Select(_ => random.NextDouble() - 0.5).ToArray();
        _b1 = Enumerable.Range(0, Hidden).Select(_ => 0.2 * random.NextDouble() - 0.1).ToArray();
        _w2 = Enumerable.Range(0, Hidden).Select(_ => random.NextDouble() - 0.5).ToArray();
        (_hidden, _pre, _gw1, _gb1, _gw2) = (new double[Hidden], new double[Hidden], new double[2 * Hidden], new double[Hidden], new double[Hidden]);
        _network = Workloads.Compile("mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)",
            InputSpec.Matrix("W1", InputKind.Parameter, 2, Hidden), InputSpec.Vector("b1", InputKind.Parameter, Hidden),
            InputSpec.Vector("w2", InputKind.Parameter, Hidden), InputSpec.Scalar("b2", InputKind.Parameter),
            InputSpec.Vector("x1", InputKind.Data, NetworkRows), InputSpec.Vector("x2", InputKind.Data, NetworkRows),
            InputSpec.Vector("y", InputKind.Data, NetworkRows));
        _network.SetInput(0, _w1);
        _network.SetInput(1, _b1);
        _network.SetInput(2, _w2);
        _network.SetInput(3, [_b2]);
        _network.BindInput(4, _x1);
        _network.BindInput(5, _x2);
        _network.BindInput(6, _ny);
        Workloads.Check("W7 network value", NetworkFloorPerRowTensorPrimitives(), NetworkEngine());
        for (var j = 0; j < 2 * Hidden; j++) Workloads.Check($"W7 network d/dW1[{j}]", _gw1[j], _network.GradientOf(0)[j]);
        for (var j = 0; j < Hidden; j++) Workloads.Check($"W7 network d/dw2[{j}]", _gw2[j], _network.GradientOf(2)[j]);
        Workloads.Check("W7 network d/db2", _gb2, _network.GradientOf(3)[0]);
        (_vpre, _pre2, _vgw1, _vgb1, _vgw2) = (new double[Hidden], new double[Hidden], new double[2 * Hidden], new double[Hidden], new double[Hidden]);
        (_gw1b, _gb1b, _gw2b) = (new double[2 * Hidden], new double[Hidden], new double[Hidden]);
        _networkThreads = new TwoThreads<(double, double)>((start, end) => start == 0
            ? MatrixFloors.Network(_x1, _x2, _ny, _w1, _b1, _w2, _b2, 1.0 / NetworkRows, _vpre, _vgw1, _vgb1, _vgw2, start, end)
            : MatrixFloors.Network(_x1, _x2, _ny, _w1, _b1, _w2, _b2, 1.0 / NetworkRows, _pre2, _gw1b, _gb1b, _gw2b, start, end));
        foreach (var floor in new Func<double>[] { NetworkFloor, NetworkFloorTwoThreads })
        {
            Workloads.Check("W7 network value, vector floor", NetworkEngine(), floor());
            for (var j = 0; j < 2 * Hidden; j++) Workloads.Check($"W7 network d/dW1[{j}], vector floor", _network.GradientOf(0)[j], _vgw1[j]);
            for (var j = 0; j < Hidden; j++) Workloads.Check($"W7 network d/db1[{j}], vector floor", _network.GradientOf(1)[j], _vgb1[j]);
            for (var j = 0; j < Hidden; j++) Workloads.Check($"W7 network d/dw2[{j}], vector floor", _network.GradientOf(2)[j], _vgw2[j]);
            Workloads.Check("W7 network d/db2, vector floor", _network.GradientOf(3)[0], _vgb2);
        }
    }

    /// <summary>The floor before issue 15: per row, TensorPrimitives over spans of 20, and three scalar exp/log.</summary>
    [BenchmarkCategory("W7 logistic regression 100,000 x 20"), Benchmark]
    public double LogisticFloorPerRowTensorPrimitives()
    {
        // Per row: z = b0 + x·w; loss += softplus(z) - y z; the gradient adds (sigmoid(z) - y) / n times (1, x).
        double loss = 0, gb0 = 0;
        _gw.AsSpan().Clear();
        var scale = 1.0 / LogisticRows;
        for (var i = 0; i < LogisticRows; i++)
        {
            var row = _x.AsSpan(i * Features, Features);
            var z = _b0 + TensorPrimitives.Dot(row, _w);
            loss += (z > 0 ? z + Math.Log(1 + Math.Exp(-z)) : Math.Log(1 + Math.Exp(z))) - _y[i] * z;
            var g = (1 / (1 + Math.Exp(-z)) - _y[i]) * scale;
            gb0 += g;
            TensorPrimitives.MultiplyAdd(row, g, _gw, _gw);
        }
        _gb0 = gb0;
        return loss * scale;
    }

    /// <summary>The fastest floor: <see cref="MatrixFloors.Logistic"/>, one thread, as the engine runs these rows.</summary>
    [BenchmarkCategory("W7 logistic regression 100,000 x 20"), Benchmark(Baseline = true)]
    public double LogisticFloor()
    {
        _vgw.AsSpan().Clear();
        var (loss, gb0) = MatrixFloors.Logistic(_x, _y, _w, _b0, Features, _z, _e, _l, _vgw, 0, LogisticRows);
        var scale = 1.0 / LogisticRows;
        TensorPrimitives.Multiply(_vgw, scale, _vgw);
        _vgb0 = gb0 * scale;
        return loss * scale;
    }

    [BenchmarkCategory("W7 logistic regression 100,000 x 20"), Benchmark]
    public double LogisticEngine() => _logistic.EvaluateWithGradientFused();

    /// <summary>The floor before issue 15: per row, eight TensorPrimitives calls over spans of 64 and a scalar mask loop.</summary>
    [BenchmarkCategory("W7 two-layer network 10,000 rows, 64 hidden"), Benchmark]
    public double NetworkFloorPerRowTensorPrimitives()
    {
        double loss = 0, gb2 = 0;
        _gw1.AsSpan().Clear();
        _gb1.AsSpan().Clear();
        _gw2.AsSpan().Clear();
        var scale = 1.0 / NetworkRows;
        Span<double> hidden = _hidden, pre = _pre;
        ReadOnlySpan<double> first = _w1.AsSpan(0, Hidden), second = _w1.AsSpan(Hidden, Hidden);
        for (var i = 0; i < NetworkRows; i++)
        {
            // Forward: pre = x1 W1[1,:] + x2 W1[2,:] + b1; hidden = relu(pre); out = hidden·w2 + b2.
            TensorPrimitives.MultiplyAdd(first, _x1[i], _b1, pre);
            TensorPrimitives.MultiplyAdd(second, _x2[i], pre, pre);
            TensorPrimitives.Max(pre, 0.0, hidden);
            var r = _ny[i] - (TensorPrimitives.Dot(hidden, _w2) + _b2);
            loss += r * r;
            // Backward: d/dout = -2 r / n; d/dhidden = d/dout w2, masked where pre <= 0.
            var dOut = -2 * r * scale;
            gb2 += dOut;
            TensorPrimitives.MultiplyAdd(hidden, dOut, _gw2, _gw2);
            for (var j = 0; j < Hidden; j++) hidden[j] = pre[j] > 0 ? dOut * _w2[j] : 0;
            TensorPrimitives.Add(_gb1, hidden, _gb1);
            TensorPrimitives.MultiplyAdd(hidden, _x1[i], _gw1.AsSpan(0, Hidden), _gw1.AsSpan(0, Hidden));
            TensorPrimitives.MultiplyAdd(hidden, _x2[i], _gw1.AsSpan(Hidden, Hidden), _gw1.AsSpan(Hidden, Hidden));
        }
        _gb2 = gb2;
        return loss * scale;
    }

    /// <summary>The fastest one-thread floor: <see cref="MatrixFloors.Network"/>.</summary>
    [BenchmarkCategory("W7 two-layer network 10,000 rows, 64 hidden"), Benchmark(Baseline = true)]
    public double NetworkFloor()
    {
        ClearNetworkGradients();
        var (loss, gb2) = MatrixFloors.Network(_x1, _x2, _ny, _w1, _b1, _w2, _b2, 1.0 / NetworkRows, _vpre, _vgw1, _vgb1, _vgw2, 0, NetworkRows);
        _vgb2 = gb2;
        return loss / NetworkRows;
    }

    /// <summary>The same floor on two threads, split as the engine splits these rows (it runs them on two workers).</summary>
    [BenchmarkCategory("W7 two-layer network 10,000 rows, 64 hidden"), Benchmark]
    public double NetworkFloorTwoThreads()
    {
        ClearNetworkGradients();
        _gw1b.AsSpan().Clear();
        _gb1b.AsSpan().Clear();
        _gw2b.AsSpan().Clear();
        var ((loss, gb2), (loss2, gb2b)) = _networkThreads.Run(NetworkRows);
        TensorPrimitives.Add(_vgw1, _gw1b, _vgw1);
        TensorPrimitives.Add(_vgb1, _gb1b, _vgb1);
        TensorPrimitives.Add(_vgw2, _gw2b, _vgw2);
        _vgb2 = gb2 + gb2b;
        return (loss + loss2) / NetworkRows;
    }

    void ClearNetworkGradients()
    {
        _vgw1.AsSpan().Clear();
        _vgb1.AsSpan().Clear();
        _vgw2.AsSpan().Clear();
    }

    [BenchmarkCategory("W7 two-layer network 10,000 rows, 64 hidden"), Benchmark]
    public double NetworkEngine() => _network.EvaluateWithGradientFused();
}
