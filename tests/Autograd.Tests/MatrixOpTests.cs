namespace Autograd.Tests;

/// <summary>
/// The registry walk for the matrix ops: each at its entry's samples, with the shapes
/// <see cref="OpRegistry.MatrixSampleShape"/> gives, value against the entry's plain-double reference, VJP against
/// central differences, JVP (the op node's tangent) against central differences along a direction, and the
/// second-order rule (a Hessian-vector product of a loss with curvature) against central differences of the gradient.
/// </summary>
public class MatrixOpTests
{
    public static TheoryData<string> MatrixOps()
    {
        var data = new TheoryData<string>();
        foreach (var entry in OpRegistry.Entries.Where(e => e.Shape == OpShape.Matrix)) data.Add(entry.Op.ToString());
        return data;
    }

    static double Weight(int i) => 1.5 - 0.75 * i;

    sealed class OpProbe
    {
        public readonly Tape<double> Tape = new();
        public readonly List<int> Inputs = [];
        public int Node, Value, Loss;

        public OpProbe(OpEntry entry, double[] sample)
        {
            var (rows, columns, yRows, yColumns) = OpRegistry.MatrixSampleShape(entry.Op);
            var xLength = rows * columns;
            Inputs.Add(entry.Op == Op.BroadcastRows
                ? Tape.AddInput(sample[..xLength], false, true)
                : Tape.AddMatrix(sample[..xLength], columns, true));
            var y = -1;
            if (yRows > 0)
            {
                var values = sample[xLength..];
                y = yColumns > 0 ? Tape.AddMatrix(values, yColumns, true) : Tape.AddInput(values, false, true);
                Inputs.Add(y);
            }
            Node = Tape.Record(entry.Op, Inputs[0], y, index: entry.Op == Op.BroadcastRows ? 2 : 0);
            var node = Tape[Node];
            var weights = Enumerable.Range(0, node.Length).Select(Weight).ToArray();
            var w = node.IsMatrix ? Tape.AddMatrix(weights, node.Columns, false) : Tape.AddInput(weights, node.IsScalar, false);
            Value = Tape.Record(Op.Dot, Node, w);
            // Squared, so that every op (linear ones too) has a Hessian and a second-order adjoint to check.
            Loss = Tape.Record(Op.Dot, Tape.Record(Op.Square, Node), w);
        }

        public double[] Point => Inputs.SelectMany(id => Tape[id].Value).ToArray();

        public void Set(double[] point)
        {
            var offset = 0;
            foreach (var id in Inputs)
            {
                point.AsSpan(offset, Tape[id].Length).CopyTo(Tape[id].Value);
                offset += Tape[id].Length;
            }
            Tape.Forward();
        }

        public double LossAt(double[] point)
        {
            Set(point);
            return Tape[Loss].Value[0];
        }

        public double[] NodeAt(double[] point)
        {
            Set(point);
            return (double[])Tape[Node].Value.Clone();
        }

        public double[] GradientAt(double[] point)
        {
            Set(point);
            Tape.Backward(Loss);
            return Inputs.SelectMany(id => Tape[id].Adjoint).ToArray();
        }

        /// <summary>H·v and, from the same sweep, the op node's tangent (its JVP along v).</summary>
        public (double[] Hv, double[] Jvp) HessianVectorProduct(double[] point, double[] direction)
        {
            Set(point);
            var offset = 0;
            foreach (var id in Inputs)
            {
                direction.AsSpan(offset, Tape[id].Length).CopyTo(Tape.Direction(id));
                offset += Tape[id].Length;
            }
            Tape.HessianVectorProduct(Loss);
            return (Inputs.SelectMany(id => Tape.HessianVectorProductOf(id).ToArray()).ToArray(), (double[])Tape[Node].Tangent!.Clone());
        }
    }

    static double[] Along(double[] point, double[] direction, double h) => point.Zip(direction, (p, v) => p + h * v).ToArray();

    static void Close(double expected, double actual, double tolerance, string what) =>
        Assert.True(Math.Abs(expected - actual) <= tolerance * (1 + Math.Abs(expected)), $"{what}: {actual:R}, expected {expected:R}");

    [Theory]
    [MemberData(nameof(MatrixOps))]
    public void ValueVjpJvpAndSecondOrderMatchReferenceAndCentralDifferences(string op)
    {
        var entry = OpRegistry.Of(Enum.Parse<Op>(op));
        Assert.True(entry.Samples.Length >= 2);
        foreach (var sample in entry.Samples)
        {
            var probe = new OpProbe(entry, sample);
            var (_, columns, yRows, yColumns) = OpRegistry.MatrixSampleShape(entry.Op);
            var xLength = OpRegistry.MatrixSampleShape(entry.Op).Rows * columns;
            var reference = entry.VectorReference!(sample[..xLength], sample[xLength..]);
            Assert.Equal(reference.Length, probe.Tape[probe.Node].Length);
            probe.Set(sample);
            for (var i = 0; i < reference.Length; i++) Close(reference[i], probe.Tape[probe.Node].Value[i], 1e-14, $"{op} value {i}");
            Close(reference.Select((v, i) => Weight(i) * v).Sum(), probe.Tape[probe.Value].Value[0], 1e-13, $"{op} weighted value");

            var gradient = probe.GradientAt(sample);
            for (var j = 0; j < sample.Length; j++)
            {
                var h = 1e-6 * Math.Max(1, Math.Abs(sample[j]));
                var unit = new double[sample.Length];
                unit[j] = 1;
                var fd = (probe.LossAt(Along(sample, unit, h)) - probe.LossAt(Along(sample, unit, -h))) / (2 * h);
                Close(fd, gradient[j], 1e-6, $"{op} VJP d/d{j}");
            }

            var direction = sample.Select((_, i) => Math.Sin(1.7 * i + 0.3)).ToArray();
            var (hv, jvp) = probe.HessianVectorProduct(sample, direction);
            const double step = 1e-5;
            var plus = probe.NodeAt(Along(sample, direction, step));
            var minus = probe.NodeAt(Along(sample, direction, -step));
            for (var i = 0; i < jvp.Length; i++) Close((plus[i] - minus[i]) / (2 * step), jvp[i], 1e-7, $"{op} JVP element {i}");
            var gPlus = probe.GradientAt(Along(sample, direction, step));
            var gMinus = probe.GradientAt(Along(sample, direction, -step));
            for (var i = 0; i < hv.Length; i++) Close((gPlus[i] - gMinus[i]) / (2 * step), hv[i], 1e-6, $"{op} second order (H v)[{i}]");
        }
    }

    [Theory]
    [InlineData(3, 2, 1)]
    [InlineData(1, 5, 4)]
    [InlineData(5, 150, 64)]   // several blocks of the right operand's rows
    [InlineData(7, 9, 700)]    // a block of fewer rows than the inner dimension, long rows
    public void BlockedProductMatchesTheTextbookLoops(int n, int k, int m)
    {
        var random = new Random(7);
        var x = Enumerable.Range(0, n * k).Select(_ => random.NextDouble() - 0.5).ToArray();
        var y = Enumerable.Range(0, k * m).Select(_ => random.NextDouble() - 0.5).ToArray();
        var g = Enumerable.Range(0, n * m).Select(_ => random.NextDouble() - 0.5).ToArray();
        var kernel = Kernels<double>.Of(Op.MatMul);
        var r = new double[n * m];
        kernel.Forward(x, y, 0, k, r);
        var gx = new double[n * k];
        var gy = new double[k * m];
        kernel.Backward(x, y, r, 0, k, g, gx, gy);
        for (var i = 0; i < n; i++)
            for (var j = 0; j < m; j++)
            {
                var sum = 0.0;
                for (var p = 0; p < k; p++) sum += x[i * k + p] * y[p * m + j];
                Close(sum, r[i * m + j], 1e-13, $"r[{i},{j}]");
            }
        for (var i = 0; i < n; i++)
            for (var p = 0; p < k; p++)
            {
                var sum = 0.0;
                for (var j = 0; j < m; j++) sum += g[i * m + j] * y[p * m + j];
                Close(sum, gx[i * k + p], 1e-13, $"gx[{i},{p}]");
            }
        for (var p = 0; p < k; p++)
            for (var j = 0; j < m; j++)
            {
                var sum = 0.0;
                for (var i = 0; i < n; i++) sum += x[i * k + p] * g[i * m + j];
                Close(sum, gy[p * m + j], 1e-13, $"gy[{p},{j}]");
            }
    }
}
