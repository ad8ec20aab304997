using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// The row-blocked replay of row-local matrix tapes (X %*% W, a vector broadcast over rows, cbind, rowSums, elementwise
/// ops) gives what the plain sweeps and central differences give, and the same bits on every rerun, tape and thread.
/// </summary>
public class RowBlockedReplayTests
{
    const int Hidden = 5;

    static readonly string[] RowLocal =
    [
        "mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)",
        "mean((y - (relu(X %*% W1 + b1) %*% w2 + b2))^2)",
        "mean(softplus(b2 + X %*% v) - y*(b2 + X %*% v))",
        "sum(rowSums(tanh(X %*% V) * exp(-X %*% V)) * y) / 1000",
        "mean(rowMeans(cbind(X %*% W1, x1) ^ 2) - b2 * x2)",
        "mean((y - exp(X %*% (W1 * 0.5)) %*% w2)^2)",
        "sum(rowSums(softplus(X %*% V + b1[1:3])) * x1) / 100",
        "sum(X %*% v * (x1 - b2))",
    ];

    // 1,003 rows: one worker, a short last block; 60,013 rows: the network's rows split between two workers.
    public static TheoryData<string, int> Cases()
    {
        var cases = new TheoryData<string, int>();
        foreach (var formula in RowLocal) { cases.Add(formula, 1003); cases.Add(formula, 60_013); }
        return cases;
    }

    static CompiledFormula<double> Compile(string text, int n, int seed = 3)
    {
        var random = new Random(seed);
        double[] Column(double scale) => Enumerable.Range(0, n).Select(_ => scale * (2 * random.NextDouble() - 1)).ToArray();
        var (x1, x2) = (Column(2), Column(2));
        var y = x1.Zip(x2, (a, b) => Math.Sin(a) * b > 0 ? 1.0 : 0.0).ToArray();
        var x = x1.Zip(x2, (a, b) => new[] { a, b }).SelectMany(r => r).ToArray();
        var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
        [
            InputSpec.Matrix("W1", InputKind.Parameter, 2, Hidden), InputSpec.Vector("b1", InputKind.Parameter, Hidden),
            InputSpec.Vector("w2", InputKind.Parameter, Hidden), InputSpec.Scalar("b2", InputKind.Parameter),
            InputSpec.Vector("v", InputKind.Parameter, 2), InputSpec.Matrix("V", InputKind.Parameter, 2, 3),
            InputSpec.Vector("x1", InputKind.Data, n), InputSpec.Vector("x2", InputKind.Data, n),
            InputSpec.Vector("y", InputKind.Data, n), InputSpec.Matrix("X", InputKind.Data, n, 2),
        ]);
        var parameters = new Random(5);
        foreach (var slot in Probe.ParameterSlots(compiled))
            compiled.SetInput(slot, Enumerable.Range(0, compiled.Inputs[slot].Length).Select(_ => parameters.NextDouble() - 0.5).ToArray());
        compiled.BindInput(6, x1);
        compiled.BindInput(7, x2);
        compiled.BindInput(8, y);
        compiled.BindInput(9, x);
        return compiled;
    }

    static double[] FusedGradient(CompiledFormula<double> formula) =>
        Probe.ParameterSlots(formula).SelectMany(slot => formula.GradientOf(slot).ToArray()).ToArray();

    [Fact]
    public void RowLocalMatrixTapesReplayInBlocksAndOthersDoNot()
    {
        foreach (var text in RowLocal) Assert.True(Compile(text, 1003).Tape.RowBlocked is not null, text);
        Assert.Equal(2, Compile(RowLocal[0], 60_013).Tape.RowBlocked!.Workers);
        Assert.Equal(1, Compile(RowLocal[0], 1003).Tape.RowBlocked!.Workers);
        // Not row-local: a product over the rows, a sum over them, a second reduction, a row vector on the left.
        string[] others =
        [
            "sum(t(X) %*% X %*% v)",
            "sum(colSums(X %*% V) * b1[1:3])",
            "mean(X %*% v) * sum(x1)",
            "sum(x1 %*% X %*% v)",
            "mean((y - b2 * x1)^2)",
        ];
        foreach (var text in others) Assert.True(Compile(text, 1003).Tape.RowBlocked is null, text);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void RowBlockedReplayMatchesThePlainSweeps(string text, int n)
    {
        var plain = Compile(text, n);
        var blocked = Compile(text, n);
        var expected = plain.EvaluateWithGradient();
        var expectedGradient = Probe.Gradient(plain);
        for (var repeat = 0; repeat < 2; repeat++)
        {
            Close(expected, blocked.EvaluateWithGradientFused(), n);
            var gradient = FusedGradient(blocked);
            Assert.Equal(expectedGradient.Length, gradient.Length);
            for (var i = 0; i < gradient.Length; i++) Close(expectedGradient[i], gradient[i], n);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(2)]
    [InlineData(3)]
    public void TheGradientMatchesCentralDifferences(int formula)
    {
        var blocked = Compile(RowLocal[formula], 60_013);
        blocked.EvaluateWithGradientFused();
        var gradient = FusedGradient(blocked);
        var point = Probe.Parameters(blocked);
        var probe = Compile(RowLocal[formula], 60_013);
        for (var j = 0; j < point.Length; j++)
        {
            const double h = 1e-6;
            var up = (double[])point.Clone();
            var down = (double[])point.Clone();
            up[j] += h;
            down[j] -= h;
            var fd = (Probe.ValueAt(probe, up) - Probe.ValueAt(probe, down)) / (2 * h);
            Assert.True(Math.Abs(fd - gradient[j]) <= 1e-7 * (1 + Math.Abs(fd)), $"d/dp{j}: {gradient[j]:R}, central difference {fd:R}");
        }
    }

    [Theory]
    [InlineData(1003)]
    [InlineData(60_013)]
    public void ReplaysGiveTheSameBitsOnEveryRerunTapeAndThread(int n)
    {
        var text = RowLocal[0];
        var warm = Compile(text, n);
        var (value, gradient) = (warm.EvaluateWithGradientFused(), FusedGradient(warm));
        for (var repeat = 0; repeat < 3; repeat++)
        {
            Assert.Equal(value, warm.EvaluateWithGradientFused());
            Assert.Equal(gradient, FusedGradient(warm));
        }
        // Fresh tapes replayed at once from several threads: the pool is busy, so the second share of the rows runs on
        // a pool thread or on the caller's, whichever gets it first; the blocks and their order of summation do not move.
        var results = new (double Value, double[] Gradient)[8];
        Parallel.For(0, results.Length, new ParallelOptions { MaxDegreeOfParallelism = 4 }, i =>
        {
            var cold = Compile(text, n);
            results[i] = (cold.EvaluateWithGradientFused(), FusedGradient(cold));
        });
        foreach (var (coldValue, coldGradient) in results)
        {
            Assert.Equal(value, coldValue);
            Assert.Equal(gradient, coldGradient);
        }
    }

    [Theory]
    [InlineData(1003)]
    [InlineData(60_013)]
    public void AReplayAllocatesNothing(int n)
    {
        var formula = Compile(RowLocal[1], n);
        for (var i = 0; i < 5; i++) formula.EvaluateWithGradientFused();
        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 5; i++) formula.EvaluateWithGradientFused();
        Assert.Equal(0, GC.GetAllocatedBytesForCurrentThread() - before);
    }

    [Fact]
    public void RowKernelsGiveTheBitsOfTheElementLoops()
    {
        // relu over a long vector (SIMD) against the rule one element at a time, at zeros of both signs, infinities and NaN.
        var random = new Random(9);
        double[] special = [0.0, -0.0, double.PositiveInfinity, double.NegativeInfinity, double.NaN, 1e-300, -1e-300];
        var x = Enumerable.Range(0, 203).Select(i => i < special.Length ? special[i] : random.NextDouble() * 4 - 2).ToArray();
        var g = Enumerable.Range(0, 203).Select(i => i == 3 ? double.NaN : random.NextDouble() * 4 - 2).ToArray();
        var gx = Enumerable.Range(0, 203).Select(_ => random.NextDouble()).ToArray();
        var (r, vectorGx) = (new double[x.Length], (double[])gx.Clone());
        Kernels<double>.Forward(Op.Relu, x, default, 0, 0, r);
        Kernels<double>.Backward(Op.Relu, x, default, r, 0, 0, g, vectorGx, default);
        for (var i = 0; i < x.Length; i++)
        {
            Assert.Equal(BitConverter.DoubleToInt64Bits(ReluRule.Value(x[i], 0.0)), BitConverter.DoubleToInt64Bits(r[i]));
            Assert.Equal(BitConverter.DoubleToInt64Bits(gx[i] + g[i] * ReluRule.Slope(x[i], r[i], 0.0)), BitConverter.DoubleToInt64Bits(vectorGx[i]));
        }
        // A row's multiply-add and add against the element loops (multiply, then add: never fused).
        var row = x.Skip(special.Length).ToArray();
        var (target, expected) = ((double[])gx[..row.Length].Clone(), (double[])gx[..row.Length].Clone());
        RowOps<double>.MultiplyAdd(row, -0.37, target);
        RowOps<double>.Add(row, target);
        for (var i = 0; i < row.Length; i++) expected[i] = expected[i] + row[i] * -0.37 + row[i];
        Assert.Equal(expected.Select(BitConverter.DoubleToInt64Bits), target.Select(BitConverter.DoubleToInt64Bits));
    }

    // Blocks change the order of summation, so agreement is to the rounding of a sum of n terms.
    static void Close(double expected, double actual, int n) =>
        Assert.True(Math.Abs(expected - actual) <= Math.Max(1e-12, 1e-15 * n) * Math.Max(1, Math.Abs(expected)), $"expected {expected:R}, got {actual:R}");
}
