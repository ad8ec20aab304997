using System.Numerics;

namespace Autograd;

/// <summary>How an op's result shape follows from its operands' (see <see cref="Shapes"/>).</summary>
internal enum OpShape
{
    /// <summary>One input; the result has its shape.</summary>
    Elementwise,
    /// <summary>Two inputs; a scalar broadcasts against a vector, two vectors need equal lengths.</summary>
    Broadcast,
    /// <summary>One vector (or scalar) in, one number out.</summary>
    Reduction,
    /// <summary>Two vectors of equal length in, one number out.</summary>
    Pairwise,
    /// <summary>One element of a vector, at the index the node holds.</summary>
    Element,
    /// <summary>A vector of the same length, each element depending on several of the input's.</summary>
    Scan,
    /// <summary>A vector one element shorter; the input needs at least two.</summary>
    Difference,
    /// <summary>A run of a vector's elements: from the node's index, as many as its constant says.</summary>
    Run,
    /// <summary>A matrix op (MatrixShapes.cs): the shapes of both operands, not just their lengths, decide the result.</summary>
    Matrix,
}

/// <summary>
/// One op, declared once: its names in the formula language, arity, shape rule, kernels (value, first and second
/// derivatives, through <see cref="Kernel{T}"/>), convention at kinks, domain, and the points at which the
/// registry walk in the tests checks it.
/// </summary>
internal abstract class OpEntry(Op op, OpShape shape, int arity)
{
    public Op Op => op;
    public OpShape Shape => shape;
    public int Arity => arity;

    /// <summary>Names the formula language calls it by; empty for ops reached through operators or the recorder.</summary>
    public string[] Names { get; init; } = [];

    /// <summary>The derivative chosen where the true one does not exist; empty for a smooth op.</summary>
    public string AtKinks { get; init; } = "";

    /// <summary>Where the op is real-valued and differentiable, in words.</summary>
    public string Domain { get; init; } = "all real numbers";

    /// <summary>The value in plain double arithmetic, as the tests compare against; null where no simpler form exists.</summary>
    public Func<double, double, double>? Reference { get; init; }

    /// <summary>The value of a reduction or vector op from the elements of x (and y), in plain double arithmetic.</summary>
    public Func<double[], double[], double[]>? VectorReference { get; init; }

    /// <summary>Whether the node holds a constant (the exponent of x ^ c): its samples are (x, c).</summary>
    public bool HoldsConstant { get; init; }

    /// <summary>Argument tuples (x, or x and y) inside the domain at which the walk checks value and derivatives.</summary>
    public double[][] Samples { get; init; } = [];

    /// <summary>Points at a kink and the first derivatives (d/dx, d/dy) the convention gives there.</summary>
    public (double[] At, double[] Gradient)[] Kinks { get; init; } = [];

    /// <summary>Whether every result element depends only on the same element of the operands: the fused replay may chunk it.</summary>
    public bool IsElementwise => shape is OpShape.Elementwise or OpShape.Broadcast;

    public abstract OpKernel<T> Kernel<T>() where T : IFloatingPointIeee754<T>;

    public override string ToString() => Names.Length > 0 ? Names[0] : OpNames.Of(op);
}

internal sealed class UnaryEntry<TRule>(Op op) : OpEntry(op, OpShape.Elementwise, 1) where TRule : IUnaryRule
{
    public override OpKernel<T> Kernel<T>() => new UnaryKernel<T, TRule>();
}

internal sealed class BinaryEntry<TRule>(Op op) : OpEntry(op, OpShape.Broadcast, 2) where TRule : IBinaryRule
{
    public override OpKernel<T> Kernel<T>() => new BinaryKernel<T, TRule>();
}

/// <summary>An op whose kernel is written out by hand: a generic kernel type definition such as <c>typeof(SumKernel&lt;&gt;)</c>.</summary>
internal sealed class KernelEntry(Op op, OpShape shape, int arity, Type kernel) : OpEntry(op, shape, arity)
{
    public override OpKernel<T> Kernel<T>() => (OpKernel<T>)Activator.CreateInstance(kernel.MakeGenericType(typeof(T)))!;
}

/// <summary>
/// The op registry: every op of <see cref="Op"/> has exactly one entry here, and everything that dispatches on an
/// op (the span sweeps, the scalar sweeps' fallback, the shape rules, the language's function table and the
/// registry walk in the tests) reads it. <see cref="Validate"/> refuses a registry that misses an op, so a
/// forgotten entry fails the first use of any op, not a request that happens to reach it.
/// </summary>
internal static partial class OpRegistry
{
    public static IReadOnlyList<OpEntry> Entries { get; } = [.. Declare(), .. DeclareMatrices()];

    static readonly OpEntry[] ByOp = Validate(Entries);

    public static OpEntry Of(Op op) => ByOp[(int)op];

    /// <summary>The entries indexed by op; throws when an op has no entry or two, or an entry contradicts itself.</summary>
    public static OpEntry[] Validate(IEnumerable<OpEntry> entries)
    {
        var byOp = new OpEntry?[Enum.GetValues<Op>().Length];
        foreach (var entry in entries)
        {
            if (entry.Op == Op.Input) throw new InvalidOperationException("Op Input is a leaf and takes no registry entry.");
            if (byOp[(int)entry.Op] is not null) throw new InvalidOperationException($"Op {entry.Op} is registered twice.");
            if (entry.Arity is < 1 or > 2) throw new InvalidOperationException($"Op {entry.Op} declares arity {entry.Arity}; nodes take 1 or 2 inputs.");
            byOp[(int)entry.Op] = entry;
        }
        var missing = Enum.GetValues<Op>().Where(op => op != Op.Input && byOp[(int)op] is null).ToList();
        if (missing.Count > 0)
            throw new InvalidOperationException($"Op{(missing.Count == 1 ? "" : "s")} {string.Join(", ", missing)} ha{(missing.Count == 1 ? "s" : "ve")} no registry entry: declare {(missing.Count == 1 ? "it" : "them")} in OpRegistry.");
        return byOp!;
    }

    /// <summary>One kernel per op for the element type T, indexed by op (Input's slot is null).</summary>
    public static OpKernel<T>[] Kernels<T>(IEnumerable<OpEntry> entries) where T : IFloatingPointIeee754<T>
    {
        var byOp = Validate(entries);
        var kernels = new OpKernel<T>[byOp.Length];
        for (var op = 0; op < byOp.Length; op++) kernels[op] = byOp[op]?.Kernel<T>()!;
        return kernels;
    }
}

/// <summary>The registry's kernels for one element type, built once.</summary>
internal static class OpTable<T> where T : IFloatingPointIeee754<T>
{
    public static readonly OpKernel<T>[] Kernels = OpRegistry.Kernels<T>(OpRegistry.Entries);
}
