namespace Autograd;

// The registry's entries, one per op, in the order of Op. Value and derivative rules live in Derivatives.cs
// (elementwise ops) and OpKernels.cs (reductions); this table says what the language calls each op, how its
// shape is formed, what it does at kinks and where it is defined, and where the registry walk in the tests
// (OpRegistryWalkTests) checks it: Samples are argument tuples (x or x, y; x, c for an op holding a constant;
// the elements of x, then of y, for a reduction), Kinks pair a point with the gradient the convention gives.

internal static partial class OpRegistry
{
    // Locals, not static fields: this runs from the static initializer of Entries, before other fields of the
    // partial class are set.
    static OpEntry[] Declare()
    {
        double[][] anyX = [[-12.5], [-2.3], [-0.41], [1e-3], [0.37], [1.9], [7.25]];
        double[][] wideX = [[-30], [-2.3], [-1e-3], [0.37], [1.9], [25]];
        double[][] positiveX = [[1e-3], [0.37], [1.9], [7.25], [250]];
        double[][] pairs = [[0.37, 1.9], [-2.3, 0.8], [7.25, -0.41], [1e-3, -12.5], [-1.1, -3.7]];
        double[][] vectors = [[0.3, -1.1, 2.4], [-2.3, 0.37, 1.9], [7.25, -12.5, 1e-3]];

        return
        [
            // ----- Elementwise, one input -----
            new UnaryEntry<NegRule>(Op.Neg) { Reference = (x, _) => -x, Samples = anyX },
            new UnaryEntry<ExpRule>(Op.Exp) { Names = ["exp"], Reference = (x, _) => Math.Exp(x), Samples = wideX },
            new UnaryEntry<LogRule>(Op.Log)
            {
                Names = ["log"], Domain = "x > 0", Reference = (x, _) => Math.Log(x), Samples = positiveX,
            },
            new UnaryEntry<SqrtRule>(Op.Sqrt)
            {
                Names = ["sqrt"], Domain = "x > 0 (the derivative is infinite at 0)", Reference = (x, _) => Math.Sqrt(x), Samples = positiveX,
            },
            new UnaryEntry<AbsRule>(Op.Abs)
            {
                Names = ["abs"], AtKinks = "abs'(0) = 0", Reference = (x, _) => Math.Abs(x), Samples = anyX,
                Kinks = [([0.0], [0.0])],
            },
            new UnaryEntry<SinRule>(Op.Sin) { Names = ["sin"], Reference = (x, _) => Math.Sin(x), Samples = anyX },
            new UnaryEntry<CosRule>(Op.Cos) { Names = ["cos"], Reference = (x, _) => Math.Cos(x), Samples = anyX },
            new UnaryEntry<TanRule>(Op.Tan)
            {
                Names = ["tan"], Domain = "x not an odd multiple of pi/2", Reference = (x, _) => Math.Tan(x), Samples = anyX,
            },
            new UnaryEntry<TanhRule>(Op.Tanh) { Names = ["tanh"], Reference = (x, _) => Math.Tanh(x), Samples = wideX },
            new UnaryEntry<SigmoidRule>(Op.Sigmoid)
            {
                Names = ["sigmoid"], Reference = (x, _) => 1 / (1 + Math.Exp(-x)), Samples = wideX,
            },
            new UnaryEntry<ReluRule>(Op.Relu)
            {
                Names = ["relu"], AtKinks = "relu'(0) = 0", Reference = (x, _) => Math.Max(x, 0), Samples = anyX,
                Kinks = [([0.0], [0.0])],
            },
            new UnaryEntry<SoftplusRule>(Op.Softplus)
            {
                Names = ["softplus"], Samples = wideX,
                // log(1 + e^x) loses e^x's digits to the 1 below about x = -15, where e^x (1 - e^x / 2) is exact to 1e-14.
                Reference = (x, _) => x < -15 ? Math.Exp(x) * (1 - Math.Exp(x) / 2) : Math.Log(1 + Math.Exp(x)),
            },
            new UnaryEntry<SquareRule>(Op.Square) { Names = ["square"], Reference = (x, _) => x * x, Samples = anyX },
            new UnaryEntry<PowConstantRule>(Op.PowConstant)
            {
                HoldsConstant = true, Domain = "x > 0 unless c is an integer; x != 0 for c < 1 other than 0",
                Reference = Math.Pow,
                Samples = [[-2.3, 2], [0.37, 2], [-2.3, 3], [1.9, -1], [-0.41, -1], [0.37, 0.5], [7.25, 0.5], [-1.1, 0], [1.9, 1], [2.5, -1.5]],
            },

            // ----- Elementwise, two inputs -----
            new BinaryEntry<AddRule>(Op.Add) { Reference = (x, y) => x + y, Samples = pairs },
            new BinaryEntry<SubRule>(Op.Sub) { Reference = (x, y) => x - y, Samples = pairs },
            new BinaryEntry<MulRule>(Op.Mul) { Reference = (x, y) => x * y, Samples = pairs },
            new BinaryEntry<DivRule>(Op.Div) { Domain = "y != 0", Reference = (x, y) => x / y, Samples = pairs },
            new BinaryEntry<PowRule>(Op.Pow)
            {
                Names = ["pow"], Domain = "x > 0, or x = 0 with y >= 0",
                AtKinks = "d/dy is 0 where x == 0 and y >= 0; d/dx is 0 where y == 0",
                Reference = Math.Pow,
                Samples = [[0.37, 1.9], [1.9, -2.3], [7.25, 0.5], [1e-3, 1.9], [2.5, -1.3], [0.8, 0]],
                Kinks = [([0.0, 2.0], [0.0, 0.0]), ([0.0, 0.0], [0.0, 0.0])],
            },
            new BinaryEntry<MinimumRule>(Op.Minimum)
            {
                Names = ["min"], AtKinks = "min(x, y) with x == y sends half the gradient to each",
                Reference = Math.Min, Samples = pairs, Kinks = [([1.5, 1.5], [0.5, 0.5])],
            },
            new BinaryEntry<MaximumRule>(Op.Maximum)
            {
                Names = ["max"], AtKinks = "max(x, y) with x == y sends half the gradient to each",
                Reference = Math.Max, Samples = pairs, Kinks = [([1.5, 1.5], [0.5, 0.5])],
            },

            // ----- Reductions and selection -----
            new KernelEntry(Op.Sum, OpShape.Reduction, 1, typeof(SumKernel<>))
            {
                Names = ["sum"], VectorReference = (x, _) => x.Sum(), Samples = vectors,
            },
            new KernelEntry(Op.Mean, OpShape.Reduction, 1, typeof(MeanKernel<>))
            {
                Names = ["mean"], VectorReference = (x, _) => x.Average(), Samples = vectors,
            },
            new KernelEntry(Op.Dot, OpShape.Pairwise, 2, typeof(DotKernel<>))
            {
                Names = ["dot"], VectorReference = (x, y) => x.Zip(y, (a, b) => a * b).Sum(),
                Samples = [[0.3, -1.1, 2.4, 0.5, -1.25, 2.0], [-2.3, 0.37, 1.9, 7.25, -12.5, 1e-3]],
            },
            new KernelEntry(Op.Min, OpShape.Reduction, 1, typeof(MinKernel<>))
            {
                Names = ["min"], AtKinks = "tied smallest elements share the gradient evenly",
                VectorReference = (x, _) => x.Min(), Samples = vectors, Kinks = [([1.0, 1.0, 2.0], [0.5, 0.5, 0.0])],
            },
            new KernelEntry(Op.Max, OpShape.Reduction, 1, typeof(MaxKernel<>))
            {
                Names = ["max"], AtKinks = "tied largest elements share the gradient evenly",
                VectorReference = (x, _) => x.Max(), Samples = vectors, Kinks = [([1.0, 2.0, 2.0], [0.0, 0.5, 0.5])],
            },
            new KernelEntry(Op.Index, OpShape.Element, 1, typeof(IndexKernel<>))
            {
                VectorReference = (x, _) => x[1], Samples = vectors,
            },
        ];
    }
}
