using System.Numerics;

namespace Autograd.Tests;

/// <summary>
/// The registry walk: every registered op, at the samples and kinks its entry declares, through every sweep
/// (forward, VJP, JVP and second order; one-element and span kernels; vectors long enough for the SIMD paths).
/// Values are checked against the entry's plain-double reference, gradients and Hessians against central
/// differences, kinks against the conventions the entry states, and float32 against float64 at the same points.
/// </summary>
public class OpRegistryWalkTests
{
    const int SimdLength = 40;

    public static TheoryData<string> EveryOp()
    {
        var data = new TheoryData<string>();
        foreach (var entry in OpRegistry.Entries) data.Add(entry.Op.ToString());
        return data;
    }

    static OpEntry Entry(string op) => OpRegistry.Of(Enum.Parse<Op>(op));

    [Fact]
    public void EveryOpIsRegisteredOnceWithSamplesToWalk()
    {
        var ops = Enum.GetValues<Op>().Where(op => op != Op.Input).ToList();
        Assert.Equal(ops.OrderBy(op => op), OpRegistry.Entries.Select(entry => entry.Op).OrderBy(op => op));
        foreach (var entry in OpRegistry.Entries)
        {
            Assert.True(entry.Samples.Length >= 2, $"{entry.Op} declares {entry.Samples.Length} samples");
            Assert.True(entry.Reference is not null || entry.VectorReference is not null, $"{entry.Op} has no reference value");
            Assert.Same(entry, OpRegistry.Of(entry.Op));
        }
    }

    [Fact]
    public void ARegistryMissingAnOpIsRefused()
    {
        var withoutTan = OpRegistry.Entries.Where(entry => entry.Op != Op.Tan).ToList();
        var e = Assert.Throws<InvalidOperationException>(() => OpRegistry.Kernels<double>(withoutTan));
        Assert.Equal("Op Tan has no registry entry: declare it in OpRegistry.", e.Message);

        var twice = OpRegistry.Entries.Append(new UnaryEntry<TanRule>(Op.Tan)).ToList();
        e = Assert.Throws<InvalidOperationException>(() => OpRegistry.Validate(twice));
        Assert.Equal("Op Tan is registered twice.", e.Message);
    }

    [Fact]
    public void EveryNamedOpIsAFunctionOfTheLanguage()
    {
        foreach (var entry in OpRegistry.Entries)
            foreach (var name in entry.Names)
                Assert.Equal(entry.Op, Autograd.Expressions.Functions.Resolve(name, entry.Arity, SourceSpan.None));
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void FastScalarArmsAgreeWithTheRegisteredKernelBitForBit(string op)
    {
        var entry = Entry(op);
        if (!entry.IsElementwise) return;
        var kernel = Kernels<double>.Of(entry.Op);
        foreach (var (x, y, c) in entry.Samples.Select(s => Arguments(entry, s)))
        {
            var r = kernel.Value(x, y, c);
            Assert.Equal(r, ScalarKernels<double>.Forward(entry.Op, x, y, c));
            Assert.Equal(kernel.DX(x, y, r, c), ScalarKernels<double>.DX(entry.Op, x, y, r, c));
            if (entry.Arity == 2) Assert.Equal(kernel.DY(x, y, r), ScalarKernels<double>.DY(entry.Op, x, y, r));
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void ValueGradientAndHessianMatchReferenceAndCentralDifferences(string op)
    {
        var entry = Entry(op);
        // Matrix ops need their operands' shapes: MatrixOpTests walks them.
        if (entry.Shape == OpShape.Matrix) return;
        foreach (var sample in entry.Samples)
        {
            var probe = Build<double>(entry, [sample]);
            var value = probe.Value(sample);
            var reference = Reference(entry, sample);
            Assert.True(Math.Abs(value - reference) <= 1e-13 * (Math.Abs(reference) + 1e-300) + 1e-300,
                $"{entry} at {Show(sample)}: {value:R}, reference {reference:R}");
            CheckDerivatives(entry, probe, sample);
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void VectorsLongEnoughForSimdMatchTheScalarSweeps(string op)
    {
        var entry = Entry(op);
        if (!entry.IsElementwise) return;
        // A node holds one constant: samples of x ^ c go in groups of equal c.
        foreach (var group in entry.Samples.GroupBy(s => entry.HoldsConstant ? s[1] : 0))
            CheckVector(entry, group.ToArray());
    }

    static void CheckVector(OpEntry entry, double[][] distinct)
    {
        // Each element i takes sample i mod count, so every sample runs through the span and SIMD kernels.
        var samples = Enumerable.Range(0, SimdLength).Select(i => distinct[i % distinct.Length]).ToArray();
        var probe = Build<double>(entry, samples);
        var point = probe.Point();
        var gradient = probe.Gradient(point);
        for (var i = 0; i < SimdLength; i++)
        {
            var scalar = Build<double>(entry, [samples[i]]);
            var g = scalar.Gradient(scalar.Point());
            var h = scalar.Hessian(scalar.Point());
            for (var a = 0; a < g.Length; a++)
                AssertClose(g[a], gradient[probe.Flat(a, i)], 1e-12, $"{entry} vector gradient, element {i}, input {a}");
            // The SIMD functions (TensorPrimitives) round differently from Math's by an ulp or so, and the
            // derivatives of tanh and sin are computed from the value they give.
            // The Hessian of sum(f(x, y)) is block diagonal: element i's block is the scalar Hessian.
            for (var a = 0; a < g.Length; a++)
            {
                var column = probe.HessianColumn(point, probe.Flat(a, i));
                for (var b = 0; b < g.Length; b++)
                    AssertClose(h[b, a], column[probe.Flat(b, i)], 1e-12, $"{entry} vector Hessian, element {i}, ({b}, {a})");
            }
        }
        if (entry.Arity == 2) CheckBroadcast(entry, samples);
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void KinksFollowTheDeclaredConventions(string op)
    {
        var entry = Entry(op);
        foreach (var (at, expected) in entry.Kinks)
        {
            var probe = Build<double>(entry, [at]);
            Assert.Equal(Reference(entry, at), probe.Value(at));
            Assert.Equal(expected, probe.Gradient(at));
            if (!entry.IsElementwise) continue;
            var vector = Build<double>(entry, Enumerable.Repeat(at, SimdLength).ToArray());
            var gradient = vector.Gradient(vector.Point());
            for (var a = 0; a < expected.Length; a++)
                for (var i = 0; i < SimdLength; i++) Assert.Equal(expected[a], gradient[vector.Flat(a, i)]);
        }
    }

    [Theory]
    [MemberData(nameof(EveryOp))]
    public void Float32AgreesWithFloat64AtTheSamePoints(string op)
    {
        var entry = Entry(op);
        if (entry.Shape == OpShape.Matrix) return;
        var count = entry.IsElementwise ? SimdLength : 1;
        foreach (var sample in entry.Samples.Concat(entry.Kinks.Select(k => k.At)))
        {
            // The float64 run is at the float32-rounded point, so the two differ only by float32's rounding.
            var rounded = sample.Select(v => (double)(float)v).ToArray();
            if (entry.HoldsConstant) rounded[1] = sample[1];
            var samples = Enumerable.Repeat(rounded, count).ToArray();
            var wide = Build<double>(entry, samples);
            var narrow = Build<float>(entry, samples);
            var point = wide.Point();
            AssertClose(wide.Value(point), narrow.Value(point), 2e-5, $"{entry} float32 value at {Show(sample)}");
            var g64 = wide.Gradient(point);
            var g32 = narrow.Gradient(point);
            for (var j = 0; j < g64.Length; j++) AssertClose(g64[j], g32[j], 2e-5, $"{entry} float32 gradient {j} at {Show(sample)}");
            var h64 = wide.HessianColumn(point, 0);
            var h32 = narrow.HessianColumn(point, 0);
            // 1e-3: a Hessian such as logsumexp's s (1 - s) near s = 1 cancels in float32 as in any float32 code.
            for (var j = 0; j < h64.Length; j++) AssertClose(h64[j], h32[j], 1e-3, $"{entry} float32 Hessian ({j}, 0) at {Show(sample)}");
        }
    }

    // ----- Checks -----

    static void CheckDerivatives(OpEntry entry, Probe<double> probe, double[] point)
    {
        var gradient = probe.Gradient(point);
        var scale = Math.Abs(probe.Value(point));
        for (var j = 0; j < point.Length; j++)
        {
            if (!probe.IsVariable(j)) continue;
            var h = 1e-6 * Math.Max(Math.Abs(point[j]), 1e-2);
            var fd = (probe.Value(Shift(point, j, h)) - probe.Value(Shift(point, j, -h))) / (2 * h);
            var tolerance = 1e-6 * Math.Abs(fd) + 64 * double.Epsilon + 64 * 2.2e-16 * (1 + scale) / h;
            Assert.True(Math.Abs(gradient[j] - fd) <= tolerance,
                $"{entry} at {Show(point)}: d/d{j} = {gradient[j]:R}, central difference {fd:R}");
        }
        var gradientScale = gradient.Sum(Math.Abs);
        for (var j = 0; j < point.Length; j++)
        {
            if (!probe.IsVariable(j)) continue;
            var h = 1e-5 * Math.Max(Math.Abs(point[j]), 1e-2);
            var column = probe.HessianColumn(point, j);
            var plus = probe.Gradient(Shift(point, j, h));
            var minus = probe.Gradient(Shift(point, j, -h));
            for (var i = 0; i < point.Length; i++)
            {
                if (!probe.IsVariable(i)) continue;
                var fd = (plus[i] - minus[i]) / (2 * h);
                var tolerance = 1e-5 * Math.Abs(fd) + 1e3 * 2.2e-16 * (1 + scale + gradientScale + Math.Abs(column[i])) / h;
                Assert.True(Math.Abs(column[i] - fd) <= tolerance,
                    $"{entry} at {Show(point)}: H[{i},{j}] = {column[i]:R}, central difference {fd:R}");
            }
        }
    }

    /// <summary>A scalar operand against a long vector: the broadcast paths of the span and SIMD kernels.</summary>
    static void CheckBroadcast(OpEntry entry, double[][] samples)
    {
        foreach (var scalarSide in new[] { 0, 1 })
        {
            var tape = new Tape<double>();
            var fixedValue = samples[0][scalarSide];
            var x = scalarSide == 0 ? tape.AddInput([fixedValue], true, true) : tape.AddInput(samples.Select(s => s[0]).ToArray(), false, true);
            var y = scalarSide == 1 ? tape.AddInput([fixedValue], true, true) : tape.AddInput(samples.Select(s => s[1]).ToArray(), false, true);
            var sum = tape.Record(Op.Sum, tape.Record(entry.Op, x, y));
            tape.Backward(sum);
            var scalarGradient = tape[scalarSide == 0 ? x : y].Adjoint[0];
            var expected = 0.0;
            foreach (var s in samples)
            {
                var pair = scalarSide == 0 ? new[] { fixedValue, s[1] } : [s[0], fixedValue];
                expected += Build<double>(entry, [pair]).Gradient(pair)[scalarSide];
            }
            AssertClose(expected, scalarGradient, 1e-13, $"{entry} broadcast gradient of the scalar {(scalarSide == 0 ? "x" : "y")}");
        }
    }

    static void AssertClose(double expected, double actual, double relative, string what) =>
        Assert.True(Math.Abs(expected - actual) <= relative * (Math.Abs(expected) + 1e-6) || expected.Equals(actual),
            $"{what}: {actual:R}, expected {expected:R}");

    // ----- A tape of one op over given samples -----

    static bool IsVectorValued(OpEntry entry) => entry.Shape is OpShape.Scan or OpShape.Difference or OpShape.Run;

    static double Weight(int i) => 1.5 - 0.75 * i;

    static (double X, double Y, double C) Arguments(OpEntry entry, double[] sample) =>
        entry.HoldsConstant ? (sample[0], 0, sample[1]) : (sample[0], sample.Length > 1 ? sample[1] : 0, 0);

    static double Reference(OpEntry entry, double[] sample)
    {
        if (entry.VectorReference is { } vector)
        {
            var half = entry.Shape == OpShape.Pairwise ? sample.Length / 2 : sample.Length;
            var result = vector(sample[..half], sample[half..]);
            return IsVectorValued(entry) ? result.Select((v, i) => Weight(i) * v).Sum() : result.Single();
        }
        var (x, y, c) = Arguments(entry, sample);
        return entry.Reference!(x, entry.HoldsConstant ? c : y);
    }

    /// <summary>
    /// Records the entry's op on inputs holding the samples: for elementwise ops, one element per sample and the sum
    /// of the results (a scalar op alone when there is one sample); for reductions, the sample's elements.
    /// The flat point lists the first input's elements, then the second's.
    /// </summary>
    static Probe<T> Build<T>(OpEntry entry, double[][] samples) where T : IFloatingPointIeee754<T>
    {
        var tape = new Tape<T>();
        var constant = T.Zero;
        int x, y = -1, output;
        var inputs = new List<int>();
        if (entry.IsElementwise)
        {
            var scalar = samples.Length == 1;
            T[] Column(int k) => samples.Select(s => T.CreateChecked(s[k])).ToArray();
            x = tape.AddInput(Column(0), scalar, true);
            inputs.Add(x);
            if (entry.HoldsConstant) constant = T.CreateChecked(samples[0][1]);
            else if (entry.Arity == 2) inputs.Add(y = tape.AddInput(Column(1), scalar, true));
            output = tape.Record(entry.Op, x, y, constant);
            if (!scalar) output = tape.Record(Op.Sum, output);
        }
        else
        {
            var sample = samples[0];
            var half = entry.Shape == OpShape.Pairwise ? sample.Length / 2 : sample.Length;
            inputs.Add(x = tape.AddInput(sample[..half].Select(T.CreateChecked).ToArray(), false, true));
            if (entry.Shape == OpShape.Pairwise) inputs.Add(y = tape.AddInput(sample[half..].Select(T.CreateChecked).ToArray(), false, true));
            // x[2] for an element, x[2:3] for a run (the constant holds its length).
            if (entry.Shape == OpShape.Run) constant = T.CreateChecked(2);
            output = tape.Record(entry.Op, x, y, constant, index: entry.Shape is OpShape.Element or OpShape.Run ? 1 : 0);
            if (IsVectorValued(entry))
            {
                // A vector result is reduced by a dot product with fixed weights, so that every element counts.
                var weights = Enumerable.Range(0, tape[output].Length).Select(i => T.CreateChecked(Weight(i))).ToArray();
                output = tape.Record(Op.Dot, output, tape.AddInput(weights, false, false));
            }
        }
        return new Probe<T>(tape, inputs, output, samples.Length);
    }

    sealed class Probe<T>(Tape<T> tape, List<int> inputs, int output, int elements) where T : IFloatingPointIeee754<T>
    {
        int Length => inputs.Sum(id => tape[id].Length);

        public bool IsVariable(int j) => j < Length;

        public int Flat(int input, int element) => input * elements + element;

        public double[] Point() => inputs.SelectMany(id => tape[id].Value.Select(double.CreateChecked)).ToArray();

        void Set(double[] point)
        {
            var offset = 0;
            foreach (var id in inputs)
            {
                var values = tape[id].Value;
                for (var k = 0; k < values.Length; k++) values[k] = T.CreateChecked(point[offset++]);
            }
        }

        public double Value(double[] point)
        {
            Set(point);
            tape.Forward();
            return double.CreateChecked(tape[output].Value[0]);
        }

        public double[] Gradient(double[] point)
        {
            Set(point);
            tape.Forward();
            tape.Backward(output);
            return inputs.SelectMany(id => tape[id].Adjoint.Select(double.CreateChecked)).ToArray();
        }

        public double[] HessianColumn(double[] point, int j)
        {
            Set(point);
            tape.Forward();
            var offset = 0;
            foreach (var id in inputs)
            {
                var direction = tape.Direction(id);
                for (var k = 0; k < direction.Length; k++) direction[k] = offset + k == j ? T.One : T.Zero;
                offset += direction.Length;
            }
            tape.HessianVectorProduct(output);
            return inputs.SelectMany(id => tape.HessianVectorProductOf(id).ToArray().Select(double.CreateChecked)).ToArray();
        }

        public double[,] Hessian(double[] point)
        {
            var n = point.Length;
            var h = new double[n, n];
            for (var j = 0; j < n; j++)
            {
                var column = HessianColumn(point, j);
                for (var i = 0; i < n; i++) h[i, j] = column[i];
            }
            return h;
        }
    }

    static double[] Shift(double[] point, int j, double h)
    {
        var shifted = (double[])point.Clone();
        shifted[j] += h;
        return shifted;
    }

    static string Show(double[] point) => $"({string.Join(", ", point.Select(v => v.ToString("R")))})";
}
