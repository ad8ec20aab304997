using System.Runtime.Intrinsics;
using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// The vectorised row loop (<see cref="VectorRowSweep{T}"/>, with AVX-512): each row rounds as the rules say, sin and
/// cos agree with the scalar library, the sums are grouped by row index so that reruns, fresh tapes and other addresses
/// give the same bits, and W4's value (not only its gradient) is the same on every rerun on either loop.
/// </summary>
public class VectorRowSweepTests
{
    static double Ulp(double v) => Math.BitIncrement(Math.Abs(v)) - Math.Abs(v);

    [Fact]
    public void SinCosIsWithinAnUlpOfMathEverywhere()
    {
        var random = new Random(17);
        var points = new List<double> { 0.0, -0.0, 1e-300, -3e-9, 7.4e-9, 1e-8, Math.PI / 4, Math.PI / 2, Math.PI, 4e5, -4.99e5, 5.01e5, 1e6, 1e300,
            double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon };
        // Every magnitude from 1e-9 to 5e5, and the doubles nearest to multiples of pi/2 (the zeros of sin and cos).
        for (var k = 0; k < 40_000; k++) points.Add((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-9, 6)));
        for (var k = -2000; k <= 2000; k++) points.Add(k * Math.PI / 2);
        for (var k = 0; k < 8; k++) points.Add(points[k]);
        var x = points.ToArray();
        for (var i = 0; i + 8 <= x.Length; i += 8)
        {
            var (sin, cos) = SinCos.Of(Vector512.Create(x.AsSpan(i, 8)));
            for (var lane = 0; lane < 8; lane++)
            {
                var xi = x[i + lane];
                double es = Math.Sin(xi), ec = Math.Cos(xi);
                if (double.IsNaN(es)) { Assert.True(double.IsNaN(sin[lane]) && double.IsNaN(cos[lane]), $"x = {xi:R}"); continue; }
                // An ulp of the result, or of 1e-16 near a zero (where the slope of the reduction is an absolute error).
                Assert.True(Math.Abs(sin[lane] - es) <= Math.Max(Ulp(es), Ulp(2e-16)), $"sin {xi:R}: {sin[lane]:R}, Math {es:R}");
                Assert.True(Math.Abs(cos[lane] - ec) <= Math.Max(Ulp(ec), Ulp(2e-16)), $"cos {xi:R}: {cos[lane]:R}, Math {ec:R}");
            }
        }
        Assert.Equal(BitConverter.DoubleToInt64Bits(-0.0), BitConverter.DoubleToInt64Bits(SinCos.Of(Vector512.Create(-0.0)).Sin[0]));
        // Float is computed in double and rounded once: within an ulp of float.
        for (var k = 0; k < 20_000; k++)
        {
            var xf = Vector512.Create(Enumerable.Range(0, 16).Select(_ => (float)((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-3, 4)))).ToArray());
            var (sinf, cosf) = SinCos.Of(xf);
            for (var lane = 0; lane < 16; lane++)
            {
                Assert.Equal((float)Math.Sin(xf[lane]), sinf[lane], (float)Math.Max(MathF.BitIncrement(MathF.Abs(sinf[lane])) - MathF.Abs(sinf[lane]), 1e-7f));
                Assert.Equal((float)Math.Cos(xf[lane]), cosf[lane], (float)Math.Max(MathF.BitIncrement(MathF.Abs(cosf[lane])) - MathF.Abs(cosf[lane]), 1e-7f));
            }
        }
    }

    [Fact]
    public void SinCosGivesTheSameBitsOnTheFirstCallAndAfterTheJitHasOptimisedIt()
    {
        // The runtime's Vector512.Sin changed bits after ~150 calls (tier-0 code unfused, optimised code fused);
        // every call here must agree with the first, past the point where the JIT recompiles hot code.
        var random = new Random(23);
        var inputs = Enumerable.Range(0, 16).Select(_ => Vector512.Create(Enumerable.Range(0, 8).Select(_ => (random.NextDouble() - 0.5) * 8).ToArray())).ToArray();
        var first = inputs.Select(SinCos.Of).ToArray();
        var firstFloat = SinCos.Of(Vector512.Create(1.25f));
        for (var call = 0; call < 30_000; call++)
        {
            var k = call % inputs.Length;
            var (sin, cos) = SinCos.Of(inputs[k]);
            Assert.True(sin == first[k].Sin && cos == first[k].Cos, $"call {call}: the bits changed");
            if (call % 1000 == 0) Assert.True(SinCos.Of(Vector512.Create(1.25f)) == firstFloat);
        }
    }

    /// <summary>
    /// Data on a grid of quarters, so that every value, slope and sum is exact: the row loop and the plain sweeps must
    /// then agree to the bit, signed zeros, ties of min and max (slope ½) and kinks of abs and relu included.
    /// </summary>
    [Theory]
    [InlineData("sum(relu(w) + abs(w - b) + max(w, b) * min(x, b) - min(w, x) / 4 + (x - w)^2 * b)", 1001)]
    [InlineData("mean(max(w, -x) - relu(b - x) * abs(w) + -w * x)", 2048)]
    [InlineData("dot(w - x, min(w, b) + x)", 64)]
    // Scalar steps before the rows (b*b + 0.5), w not reached (its gradient is zeros), three rows past the last group.
    [InlineData("sum((x - (b*b + 0.5)) * (x - b))", 1003)]
    // W3's chain at the benchmark's size.
    [InlineData("sum((w - (b + b*x))^2)", 200)]
    public void OnExactDataTheRowLoopAgreesWithThePlainSweepsBitForBit(string text, int n)
    {
        if (!VectorRowSweep<double>.IsSupported) return;
        // w and x in quarters from -2 to 2, -0 and +0 among them, and ties with each other and with b = 0.5.
        var w = Enumerable.Range(0, n).Select(i => i % 19 == 0 ? -0.0 : (i % 17 - 8) / 4.0).ToArray();
        var x = Enumerable.Range(0, n).Select(i => i % 23 == 0 ? 0.0 : (i % 13 - 6) / 4.0).ToArray();
        CompiledFormula<double> Compile()
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
                [InputSpec.Scalar("b", InputKind.Parameter), InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("x", InputKind.Data, n)]);
            compiled.SetInput(0, [0.5]);
            compiled.SetInput(1, w);
            compiled.SetInput(2, x);
            return compiled;
        }
        var plain = Compile();
        var expected = plain.EvaluateWithGradient();
        var rows = Compile();
        Assert.True(rows.CompileRowSweep());
        Assert.Equal(expected, rows.EvaluateWithGradientFused());
        Assert.Equal(plain.GradientOf(0).ToArray(), rows.GradientOf(0).ToArray());
        var (a, b) = (plain.GradientOf(1).ToArray(), rows.GradientOf(1).ToArray());
        for (var i = 0; i < n; i++)
            Assert.True(BitConverter.DoubleToInt64Bits(a[i]) == BitConverter.DoubleToInt64Bits(b[i]), $"d/dw[{i}] at w = {w[i]:R}, x = {x[i]:R}: plain {a[i]:R}, row loop {b[i]:R}");
    }

    [Theory]
    [InlineData("sum(sin(w))", 5_003)]
    [InlineData("sum(cos(w))", 40_001)]
    public void InTheRowLoopTheSlopesOfSinAndCosAgreeWithTheScalarLibrary(string text, int n)
    {
        if (!VectorRowSweep<double>.IsSupported) return;
        var random = new Random(5);
        var w = Enumerable.Range(0, n).Select(i => i % 97 == 0 ? i * Math.PI / 194 : (random.NextDouble() - 0.5) * 40).ToArray();
        var formula = CompiledFormula<double>.Compile(Formula.Parse(text), [InputSpec.Vector("w", InputKind.Parameter, n)]);
        formula.SetInput(0, w);
        Assert.True(formula.CompileRowSweep());
        var value = formula.EvaluateWithGradientFused();
        var gradient = formula.GradientOf(0);
        double expectedValue = 0;
        for (var i = 0; i < n; i++)
        {
            var expected = text.Contains("sin") ? Math.Cos(w[i]) : -Math.Sin(w[i]);
            expectedValue += text.Contains("sin") ? Math.Sin(w[i]) : Math.Cos(w[i]);
            var tolerance = 2 * Math.Max(Math.BitIncrement(Math.Abs(expected)) - Math.Abs(expected), 1e-16 * 2);
            Assert.True(Math.Abs(gradient[i] - expected) <= tolerance, $"w = {w[i]:R}: {gradient[i]:R}, Math gives {expected:R}");
        }
        Assert.True(Math.Abs(value - expectedValue) <= 1e-12 * n, $"value {value:R}, Math gives {expectedValue:R}");
    }

    /// <summary>
    /// W4's value and gradient, at a size split over two threads, on the chunk kernels and on the row loop: the same
    /// bits on every rerun of one tape, after the garbage collector has moved its buffers, and on fresh tapes whose
    /// buffers sit at other addresses.
    /// </summary>
    [Theory]
    [InlineData(1_000)]
    [InlineData(100_003)]
    [InlineData(300_007)]
    public void ManyParametersValueAndGradientAreTheSameBitsOnEveryTape(int n)
    {
        var random = new Random(3);
        var w = Enumerable.Range(0, n).Select(_ => random.NextDouble() * 4 - 2).ToArray();
        var c = Enumerable.Range(0, n).Select(_ => random.NextDouble()).ToArray();
        var padding = new List<double[]>();
        CompiledFormula<double> Compile(int shift)
        {
            // Odd-sized arrays in between put the next tape's buffers at other offsets from a 64-byte boundary.
            padding.Add(new double[shift * 3 + 1]);
            var formula = CompiledFormula<double>.Compile(Formula.Parse("sum((w - c)^2 * (1 + 0.1*sin(w)))"),
                [InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n)]);
            formula.SetInput(0, w);
            formula.SetInput(1, c);
            return formula;
        }
        foreach (var rowLoop in new[] { false, true })
        {
            var first = Compile(0);
            if (rowLoop && !first.CompileRowSweep()) continue;
            var value = first.EvaluateWithGradientFused();
            var gradient = first.GradientOf(0).ToArray();
            for (var rerun = 0; rerun < 6; rerun++)
            {
                if (rerun % 2 == 1) GC.Collect(2, GCCollectionMode.Forced, blocking: true, compacting: true);
                var tape = rerun < 3 ? first : Compile(rerun);
                if (rowLoop && tape != first) Assert.True(tape.CompileRowSweep());
                Assert.Equal(BitConverter.DoubleToInt64Bits(value), BitConverter.DoubleToInt64Bits(tape.EvaluateWithGradientFused()));
                Assert.True(gradient.AsSpan().SequenceEqual(tape.GradientOf(0)), $"rerun {rerun}, row loop {rowLoop}: the gradient changed");
            }
        }
        GC.KeepAlive(padding);
    }
}
