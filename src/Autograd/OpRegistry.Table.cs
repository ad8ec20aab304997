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
        double[][] unit = [[-0.99], [-0.41], [-1e-3], [1e-10], [0.37], [0.9]];
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
            new UnaryEntry<AtanRule>(Op.Atan) { Names = ["atan"], Reference = (x, _) => Math.Atan(x), Samples = anyX },
            new UnaryEntry<AsinRule>(Op.Asin)
            {
                Names = ["asin"], Domain = "-1 < x < 1 (the derivative is infinite at ±1)", Reference = (x, _) => Math.Asin(x), Samples = unit,
            },
            new UnaryEntry<AcosRule>(Op.Acos)
            {
                Names = ["acos"], Domain = "-1 < x < 1 (the derivative is infinite at ±1)", Reference = (x, _) => Math.Acos(x), Samples = unit,
            },
            new UnaryEntry<SinhRule>(Op.Sinh) { Names = ["sinh"], Reference = (x, _) => Math.Sinh(x), Samples = anyX },
            new UnaryEntry<CoshRule>(Op.Cosh) { Names = ["cosh"], Reference = (x, _) => Math.Cosh(x), Samples = anyX },
            new UnaryEntry<AsinhRule>(Op.Asinh) { Names = ["asinh"], Reference = (x, _) => Math.Asinh(x), Samples = anyX },
            new UnaryEntry<AcoshRule>(Op.Acosh)
            {
                Names = ["acosh"], Domain = "x > 1 (the derivative is infinite at 1)", Reference = (x, _) => Math.Acosh(x),
                Samples = [[1.01], [1.37], [1.9], [7.25], [250]],
            },
            new UnaryEntry<AtanhRule>(Op.Atanh)
            {
                Names = ["atanh"], Domain = "-1 < x < 1 (infinite at ±1)", Reference = (x, _) => Math.Atanh(x), Samples = unit,
            },
            new UnaryEntry<Log1pRule>(Op.Log1p)
            {
                Names = ["log1p"], Domain = "x > -1", Samples = [[-0.9], [-0.41], [-1e-3], [1e-10], [-3e-17], [0.37], [1.9], [250]],
                // log(1 + x) keeps only the digits of x that survive 1 + x: the series below |x| = 1e-3.
                Reference = (x, _) => Math.Abs(x) < 2e-3 ? x - x * x / 2 + x * x * x / 3 - x * x * x * x / 4 + x * x * x * x * x / 5 : Math.Log(1 + x),
            },
            new UnaryEntry<Expm1Rule>(Op.Expm1)
            {
                Names = ["expm1"], Samples = [[-30], [-2.3], [-1e-3], [1e-10], [-3e-17], [0.37], [1.9], [25]],
                Reference = (x, _) => Math.Abs(x) < 2e-3 ? x + x * x / 2 + x * x * x / 6 + x * x * x * x / 24 + x * x * x * x * x / 120 : Math.Exp(x) - 1,
            },
            new UnaryEntry<Log2Rule>(Op.Log2) { Names = ["log2"], Domain = "x > 0", Reference = (x, _) => Math.Log2(x), Samples = positiveX },
            new UnaryEntry<Log10Rule>(Op.Log10) { Names = ["log10"], Domain = "x > 0", Reference = (x, _) => Math.Log10(x), Samples = positiveX },
            new UnaryEntry<ErfRule>(Op.Erf)
            {
                Names = ["erf"], Reference = (x, _) => SpecialFunctions.ErfTaylor(x),
                Samples = [[-2.3], [-0.41], [-1e-3], [1e-10], [0.37], [1.9], [2.5]],
            },
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

            new BinaryEntry<Atan2Rule>(Op.Atan2)
            {
                Names = ["atan2"], Domain = "(y, x) != (0, 0); the derivatives there are NaN, as in PyTorch",
                Reference = Math.Atan2, Samples = pairs,
            },
            new BinaryEntry<HypotRule>(Op.Hypot)
            {
                Names = ["hypot"], Domain = "(x, y) != (0, 0); the derivatives there are NaN, as in PyTorch",
                Reference = (x, y) => Math.Sqrt(x * x + y * y), Samples = pairs,
            },
            new BinaryEntry<ClampLowRule>(Op.ClampLow)
            {
                AtKinks = "at x == lo the gradient goes to x (PyTorch's clamp)", Reference = Math.Max, Samples = pairs,
                Kinks = [([1.5, 1.5], [1.0, 0.0])],
            },
            new BinaryEntry<ClampHighRule>(Op.ClampHigh)
            {
                AtKinks = "at x == hi the gradient goes to x (PyTorch's clamp)", Reference = Math.Min, Samples = pairs,
                Kinks = [([1.5, 1.5], [1.0, 0.0])],
            },

            // ----- Reductions and selection -----
            new KernelEntry(Op.Sum, OpShape.Reduction, 1, typeof(SumKernel<>))
            {
                Names = ["sum"], VectorReference = (x, _) => [x.Sum()], Samples = vectors,
            },
            new KernelEntry(Op.Mean, OpShape.Reduction, 1, typeof(MeanKernel<>))
            {
                Names = ["mean"], VectorReference = (x, _) => [x.Average()], Samples = vectors,
            },
            new KernelEntry(Op.Dot, OpShape.Pairwise, 2, typeof(DotKernel<>))
            {
                Names = ["dot"], VectorReference = (x, y) => [x.Zip(y, (a, b) => a * b).Sum()],
                Samples = [[0.3, -1.1, 2.4, 0.5, -1.25, 2.0], [-2.3, 0.37, 1.9, 7.25, -12.5, 1e-3]],
            },
            new KernelEntry(Op.Min, OpShape.Reduction, 1, typeof(MinKernel<>))
            {
                Names = ["min"], AtKinks = "tied smallest elements share the gradient evenly",
                VectorReference = (x, _) => [x.Min()], Samples = vectors, Kinks = [([1.0, 1.0, 2.0], [0.5, 0.5, 0.0])],
            },
            new KernelEntry(Op.Max, OpShape.Reduction, 1, typeof(MaxKernel<>))
            {
                Names = ["max"], AtKinks = "tied largest elements share the gradient evenly",
                VectorReference = (x, _) => [x.Max()], Samples = vectors, Kinks = [([1.0, 2.0, 2.0], [0.0, 0.5, 0.5])],
            },
            new KernelEntry(Op.Prod, OpShape.Reduction, 1, typeof(ProdKernel<>))
            {
                Names = ["prod"], AtKinks = "zeros are exact: the gradient is the product of the other elements",
                VectorReference = (x, _) => [x.Aggregate(1.0, (p, v) => p * v)],
                Samples = [.. vectors, [0.3, 0.0, 2.4], [0.0, -1.1, 0.0]],
                Kinks = [([0.3, 0.0, 2.4], [0.0, 0.3 * 2.4, 0.0]), ([0.0, -1.1, 0.0], [0.0, 0.0, 0.0])],
            },
            new KernelEntry(Op.LogSumExp, OpShape.Reduction, 1, typeof(LogSumExpKernel<>))
            {
                Names = ["logsumexp"], VectorReference = (x, _) => [Math.Log(x.Sum(Math.Exp))],
                Samples = [.. vectors, [700, 699, 698.5]],
            },
            new KernelEntry(Op.Index, OpShape.Element, 1, typeof(IndexKernel<>))
            {
                VectorReference = (x, _) => [x[1]], Samples = vectors,
            },

            // ----- Vector to vector -----
            new KernelEntry(Op.CumSum, OpShape.Scan, 1, typeof(CumSumKernel<>))
            {
                Names = ["cumsum"], Samples = vectors,
                VectorReference = (x, _) => x.Select((_, i) => x.Take(i + 1).Sum()).ToArray(),
            },
            new KernelEntry(Op.Diff, OpShape.Difference, 1, typeof(DiffKernel<>))
            {
                Names = ["diff"], Domain = "a vector of at least 2 elements", Samples = vectors,
                VectorReference = (x, _) => x.Skip(1).Select((v, i) => v - x[i]).ToArray(),
            },
            new KernelEntry(Op.Slice, OpShape.Run, 1, typeof(SliceKernel<>))
            {
                Domain = "1 <= a <= b <= length", Samples = vectors, VectorReference = (x, _) => x[1..3],
            },
        ];
    }
}
