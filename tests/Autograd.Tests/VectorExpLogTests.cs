using System.Runtime.Intrinsics;
using Autograd.Expressions;

namespace Autograd.Tests;

/// <summary>
/// Exp and log come from the engine's own <see cref="ExpLog"/> (and tanh from the element loop), not from
/// TensorPrimitives, whose Exp and Tanh send a whole vector to the scalar routine when one element is past ~709, NaN or
/// infinite, so that an element's bits depended on its neighbours and on the buffer's address. Here an element's bits
/// depend on its value alone: any neighbours, any offset, alone or in a group, first call or thirty-thousandth.
/// </summary>
public class VectorExpLogTests
{
    static double Ulp(double v) => Math.BitIncrement(Math.Abs(v)) - Math.Abs(v);

    static long Bits(double v) => BitConverter.DoubleToInt64Bits(v);

    static double[] EdgePoints()
    {
        var points = new List<double> { 0.0, -0.0, 1.0, -1.0, 0.5, 2.0, Math.E, Math.Log(2), -Math.Log(2) / 2, Math.Log(2) / 2,
            709.78, 709.782712893384, 709.7827128933841, 7.09782712893383973096e+02, -708.39, -708.4, -744.44, -745.13, -745.1332191019411,
            -745.1332191019412, -745.2, 710, -746, 1e300, -1e300, 1e-300, -1e-300, 5e-324, -5e-324, 1e-310, 2.2250738585072014e-308,
            2.2250738585072009e-308, double.MaxValue, double.MinValue, 1 + 1e-15, 1 - 1e-16, 1 + 2e-16, 0.9999, 1.0001, 1e-20, -1e-20,
            double.NaN, double.PositiveInfinity, double.NegativeInfinity, double.Epsilon };
        var random = new Random(29);
        for (var k = 0; k < 30_000; k++) points.Add((random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-12, 3)));
        for (var k = 0; k < 10_000; k++) points.Add((random.NextDouble() - 0.5) * 1500);
        for (var k = 0; k < 20_000; k++) points.Add(Math.Pow(2, (random.NextDouble() - 0.5) * 2140));
        for (var k = 0; k < 5_000; k++) points.Add(1 + (random.NextDouble() - 0.5) * Math.Pow(10, random.Next(-16, 0)));
        for (var k = -1100; k <= 1100; k++) points.Add(k * Math.Log(2));
        while (points.Count % 8 != 0) points.Add(random.NextDouble());
        return points.ToArray();
    }

    [Fact]
    public void ExpAndLogAreWithinAnUlpOfMathAndEveryLaneIsTheScalarRoutine()
    {
        var x = EdgePoints();
        foreach (var (name, lanes, scalar, reference) in new (string, Func<Vector512<double>, Vector512<double>>, Func<double, double>, Func<double, double>)[]
            { ("exp", ExpLog.Exp, ExpLog.Exp, Math.Exp), ("log", ExpLog.Log, ExpLog.Log, Math.Log) })
        {
            var worst = 0.0;
            for (var i = 0; i < x.Length; i += 8)
            {
                var r = lanes(Vector512.Create(x.AsSpan(i, 8)));
                for (var lane = 0; lane < 8; lane++)
                {
                    var xi = x[i + lane];
                    var expected = reference(xi);
                    Assert.True(Bits(scalar(xi)) == Bits(r[lane]), $"{name} {xi:R}: lane {r[lane]:R}, scalar {scalar(xi):R}");
                    if (double.IsNaN(expected)) { Assert.True(double.IsNaN(r[lane]), $"{name} {xi:R}: {r[lane]:R}, Math NaN"); continue; }
                    if (double.IsInfinity(expected) || expected == 0) { Assert.True(Bits(expected) == Bits(r[lane]), $"{name} {xi:R}: {r[lane]:R}, Math {expected:R}"); continue; }
                    var ulps = Math.Abs(r[lane] - expected) / Ulp(expected);
                    Assert.True(ulps <= 1, $"{name} {xi:R}: {r[lane]:R}, Math {expected:R} ({ulps} ulps)");
                    worst = Math.Max(worst, ulps);
                }
            }
            Assert.True(worst > 0, $"{name}: never a last bit different from Math's on {x.Length} points: is it Math itself?");
        }
        Assert.Equal(Bits(1.0), Bits(ExpLog.Exp(-0.0)));
        Assert.Equal(Bits(0.0), Bits(ExpLog.Log(1.0)));
        Assert.Equal(double.NegativeInfinity, ExpLog.Log(-0.0));

        // Float is computed in double and rounded once: within an ulp of float, the same bits as the scalar routine.
        var random = new Random(31);
        for (var k = 0; k < 5_000; k++)
        {
            var xf = Vector512.Create(Enumerable.Range(0, 16).Select(_ => (float)((random.NextDouble() - 0.2) * Math.Pow(10, random.Next(-6, 3)))).ToArray());
            var (expf, logf) = (ExpLog.Exp(xf), ExpLog.Log(xf));
            for (var lane = 0; lane < 16; lane++)
            {
                float e = (float)Math.Exp(xf[lane]), l = (float)Math.Log(xf[lane]);
                Assert.Equal(BitConverter.SingleToInt32Bits(ExpLog.Exp(xf[lane])), BitConverter.SingleToInt32Bits(expf[lane]));
                Assert.Equal(BitConverter.SingleToInt32Bits(ExpLog.Log(xf[lane])), BitConverter.SingleToInt32Bits(logf[lane]));
                if (float.IsFinite(e)) Assert.True(Math.Abs(expf[lane] - e) <= MathF.BitIncrement(e) - e, $"expf {xf[lane]:R}: {expf[lane]:R}, Math {e:R}");
                else Assert.Equal(e, expf[lane]);
                if (float.IsNaN(l)) Assert.True(float.IsNaN(logf[lane]));
                else Assert.True(Math.Abs(logf[lane] - l) <= MathF.BitIncrement(Math.Abs(l)) - Math.Abs(l), $"logf {xf[lane]:R}: {logf[lane]:R}, Math {l:R}");
            }
        }
    }

    static double[] Sample(Op op, Random random, int n) => Enumerable.Range(0, n)
        .Select(_ => op == Op.Log ? Math.Pow(10, (random.NextDouble() - 0.5) * 12) : (random.NextDouble() - 0.5) * 6).ToArray();

    [Theory]
    [InlineData(Op.Exp)]
    [InlineData(Op.Log)]
    [InlineData(Op.Tanh)]
    public void TheKernelGivesTheSameBitsOnTheFirstCallAndAfterTheJitHasOptimisedIt(Op op)
    {
        // Compared with the first call of the process (tier-0 code, or ready-to-run), every later call must agree, past
        // the point where the JIT recompiles hot methods and loops (tier 1, OSR, dynamic PGO).
        var x = Sample(op, new Random(37), 259);
        var first = new double[x.Length];
        Kernels<double>.Forward(op, x, [], 0, 0, first);
        var r = new double[x.Length];
        for (var call = 0; call < 30_000; call++)
        {
            var length = call % 2 == 0 ? x.Length : 1 + call % 23;
            Kernels<double>.Forward(op, x.AsSpan(0, length), [], 0, 0, r.AsSpan(0, length));
            for (var i = 0; i < length; i++)
                if (Bits(r[i]) != Bits(first[i])) Assert.Fail($"{op} call {call}, x = {x[i]:R}: {r[i]:R}, first call {first[i]:R}");
        }
    }

    public static TheoryData<Op, double> Neighbours()
    {
        var data = new TheoryData<Op, double>();
        foreach (var op in new[] { Op.Exp, Op.Log, Op.Tanh })
            foreach (var special in new[] { double.NaN, double.PositiveInfinity, double.NegativeInfinity, 1e300, -1e300, 800, -800, 710, -746, 5e-324, 0.0, -1.0, 0.5 })
                data.Add(op, special);
        return data;
    }

    [Theory]
    [MemberData(nameof(Neighbours))]
    public void AnElementsBitsDependOnItsValueAloneNotOnItsNeighboursOrAddress(Op op, double special)
    {
        // TensorPrimitives.Exp and Tanh failed this: a vector holding an element past ~709 (or NaN, or infinite) went
        // to the scalar routine whole, and which elements shared a vector depended on the destination's address.
        var random = new Random(41);
        for (var trial = 0; trial < 60; trial++)
        {
            var length = 1 + random.Next(200);
            var x = Sample(op, random, length);
            x[random.Next(length)] = special;
            var alone = new double[length];
            for (var i = 0; i < length; i++) Kernels<double>.Forward(op, x.AsSpan(i, 1), [], 0, 0, alone.AsSpan(i, 1));
            for (var offset = 0; offset < 8; offset++)
            {
                var source = new double[length + 8];
                var destination = new double[length + 8];
                x.CopyTo(source, (offset * 3 + trial) % 8);
                Kernels<double>.Forward(op, source.AsSpan((offset * 3 + trial) % 8, length), [], 0, 0, destination.AsSpan(offset, length));
                for (var i = 0; i < length; i++)
                    if (Bits(destination[offset + i]) != Bits(alone[i]))
                        Assert.Fail($"{op} of {x[i]:R} at {i} of {length} (offset {offset}): {destination[offset + i]:R}, alone {alone[i]:R}");
            }
        }
    }

    [Theory]
    [InlineData(5)]
    [InlineData(2_053)]    // a last chunk of 5 rows on the fused replay
    [InlineData(40_003)]   // two threads
    public void ExpAndLogOfAVectorAreTheScalarRoutinesBitsOnEveryPathAndLength(int n)
    {
        var random = new Random(43);
        var w = Enumerable.Range(0, n).Select(_ => (random.NextDouble() - 0.5) * 4).ToArray();
        // d/dw sum(exp(w)) is exp(w) itself: the scalar routine's bits, whether the row is in a group, a chunk's last few or alone.
        var exp = CompiledFormula<double>.Compile(Formula.Parse("sum(exp(w))"), [InputSpec.Vector("w", InputKind.Parameter, n)]);
        exp.SetInput(0, w);
        var formula = CompiledFormula<double>.Compile(Formula.Parse("sum(exp(w) + log(w^2 + 1))"), [InputSpec.Vector("w", InputKind.Parameter, n)]);
        formula.SetInput(0, w);
        double[]? firstGradient = null;
        foreach (var fused in new[] { false, true, true })
        {
            if (fused) exp.EvaluateWithGradientFused(); else exp.EvaluateWithGradient();
            for (var i = 0; i < n; i++)
                Assert.True(Bits(ExpLog.Exp(w[i])) == Bits(exp.GradientOf(0)[i]), $"fused {fused}, exp'({w[i]:R}) = {exp.GradientOf(0)[i]:R}, scalar exp {ExpLog.Exp(w[i]):R}");

            var value = fused ? formula.EvaluateWithGradientFused() : formula.EvaluateWithGradient();
            var gradient = formula.GradientOf(0).ToArray();
            firstGradient ??= gradient;
            Assert.True(firstGradient.AsSpan().SequenceEqual(gradient), $"fused {fused}: the gradient's bits changed");
            double expected = 0, lost = 0;
            for (var i = 0; i < n; i++)
            {
                var u = w[i] * w[i] + 1;
                var slope = Math.Exp(w[i]) + 2 * w[i] / u;
                // Ulps of the terms, not of their sum, which cancels where exp(w) is near -2w/(w^2 + 1).
                var scale = Math.Exp(w[i]) + Math.Abs(2 * w[i] / u);
                Assert.True(Math.Abs(gradient[i] - slope) <= 4 * Ulp(scale), $"d/dw[{i}] = {gradient[i]:R}, closed form {slope:R}");
                var term = Math.Exp(w[i]) + Math.Log(u) - lost;
                var next = expected + term;
                lost = next - expected - term;
                expected = next;
            }
            Assert.True(Math.Abs(value - expected) <= 1e-13 * Math.Abs(expected), $"value {value:R}, closed form {expected:R}");
        }
    }

    [Theory]
    [InlineData(1_001)]
    [InlineData(40_003)]   // two threads
    public void TheRowLoopGivesTheChunkKernelsBitsForExpAndLog(int n)
    {
        if (!VectorRowSweep<double>.IsSupported) return;
        const string text = "sum(log(1 + exp(c - w)) + exp(-w^2) * log(w^2 + 0.5))";
        var random = new Random(47);
        var w = Enumerable.Range(0, n).Select(i => i % 101 == 0 ? 800.0 : i % 103 == 0 ? -30.0 : (random.NextDouble() - 0.5) * 8).ToArray();
        var c = Enumerable.Range(0, n).Select(_ => (random.NextDouble() - 0.5) * 8).ToArray();
        CompiledFormula<double> Compile()
        {
            var compiled = CompiledFormula<double>.Compile(Formula.Parse(text),
                [InputSpec.Vector("w", InputKind.Parameter, n), InputSpec.Vector("c", InputKind.Data, n)]);
            compiled.SetInput(0, w);
            compiled.SetInput(1, c);
            return compiled;
        }
        var plain = Compile();
        var plainValue = plain.EvaluateWithGradient();
        var expected = plain.GradientOf(0).ToArray();
        var rows = Compile();
        Assert.True(rows.CompileRowSweep());
        for (var rerun = 0; rerun < 3; rerun++)
        {
            var value = rows.EvaluateWithGradientFused();
            Assert.True(Math.Abs(value - plainValue) <= 1e-12 * Math.Abs(plainValue), $"row loop {value:R}, chunk kernels {plainValue:R}");
            var gradient = rows.GradientOf(0);
            for (var i = 0; i < n; i++)
                Assert.True(Bits(expected[i]) == Bits(gradient[i]), $"d/dw[{i}] at w = {w[i]:R}: chunk kernels {expected[i]:R}, row loop {gradient[i]:R}");
        }
        // And both are the closed form's, up to rounding: d/dw = -s(c - w) + e^{-w^2} (2w/(w^2 + 0.5) - 2w log(w^2 + 0.5)).
        for (var i = 0; i < n; i++)
        {
            var (e, u) = (Math.Exp(c[i] - w[i]), w[i] * w[i] + 0.5);
            var sigmoid = double.IsInfinity(e) ? 1 : e / (1 + e);
            var bump = Math.Exp(-w[i] * w[i]);
            var slope = -sigmoid + bump * (2 * w[i] / u - 2 * w[i] * Math.Log(u));
            var scale = sigmoid + Math.Abs(bump * 2 * w[i] / u) + Math.Abs(bump * 2 * w[i] * Math.Log(u));
            Assert.True(Math.Abs(expected[i] - slope) <= 8 * Ulp(scale), $"d/dw[{i}] at w = {w[i]:R}: {expected[i]:R}, closed form {slope:R}");
        }
    }
}
