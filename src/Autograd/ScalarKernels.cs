using System.Numerics;
using System.Runtime.CompilerServices;

namespace Autograd;

/// <summary>
/// The rules of Derivatives.cs applied to one element, for nodes whose operands are all single numbers:
/// no spans, no loops, so that small formulas replay at a few nanoseconds a node. The arms below are fast paths that
/// the JIT folds when the op is a constant (the compiled replays); every other op, and any op added later, goes to
/// its registered kernel (<see cref="OpRegistry"/>), and the registry walk checks each arm against that kernel bit
/// for bit.
/// </summary>
internal static class ScalarKernels<T> where T : IFloatingPointIeee754<T>
{
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Forward(Op op, T x, T y, T c) => op switch
    {
        Op.Neg => -x,
        Op.Exp => ExpRule.Value(x, c),
        Op.Log => LogRule.Value(x, c),
        Op.Sqrt => SqrtRule.Value(x, c),
        Op.Abs => AbsRule.Value(x, c),
        Op.Sin => SinRule.Value(x, c),
        Op.Cos => CosRule.Value(x, c),
        Op.Tan => TanRule.Value(x, c),
        Op.Tanh => TanhRule.Value(x, c),
        Op.Sigmoid => SigmoidRule.Value(x, c),
        Op.Relu => ReluRule.Value(x, c),
        Op.Softplus => SoftplusRule.Value(x, c),
        Op.Square => x * x,
        Op.PowConstant => PowConstantRule.Value(x, c),
        Op.Add => x + y,
        Op.Sub => x - y,
        Op.Mul => x * y,
        Op.Div => x / y,
        Op.Pow => PowRule.Value(x, y),
        Op.Minimum => MinimumRule.Value(x, y),
        Op.Maximum => MaximumRule.Value(x, y),
        Op.Sum or Op.Mean or Op.Min or Op.Max => x,
        Op.Dot => x * y,
        _ => RegisteredValue(op, x, y, c),
    };

    /// <summary>dr/dx of a one- or two-input op at one element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T DX(Op op, T x, T y, T r, T c) => op switch
    {
        Op.Neg => -T.One,
        Op.Exp => r,
        Op.Log => LogRule.Slope(x, r, c),
        Op.Sqrt => SqrtRule.Slope(x, r, c),
        Op.Abs => AbsRule.Slope(x, r, c),
        Op.Sin => SinRule.Slope(x, r, c),
        Op.Cos => CosRule.Slope(x, r, c),
        Op.Tan => TanRule.Slope(x, r, c),
        Op.Tanh => TanhRule.Slope(x, r, c),
        Op.Sigmoid => SigmoidRule.Slope(x, r, c),
        Op.Relu => ReluRule.Slope(x, r, c),
        Op.Softplus => SoftplusRule.Slope(x, r, c),
        Op.Square => x + x,
        Op.PowConstant => PowConstantRule.Slope(x, r, c),
        Op.Add or Op.Sub => T.One,
        Op.Mul or Op.Dot => y,
        Op.Div => DivRule.DX(x, y, r),
        Op.Pow => PowRule.DX(x, y, r),
        Op.Minimum => MinimumRule.DX(x, y, r),
        Op.Maximum => MaximumRule.DX(x, y, r),
        Op.Sum or Op.Mean or Op.Min or Op.Max => T.One,
        _ => RegisteredDX(op, x, y, r, c),
    };

    /// <summary>dr/dy of a two-input op at one element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T DY(Op op, T x, T y, T r) => op switch
    {
        Op.Add => T.One,
        Op.Sub => -T.One,
        Op.Mul or Op.Dot => x,
        Op.Div => DivRule.DY(x, y, r),
        Op.Pow => PowRule.DY(x, y, r),
        Op.Minimum => MinimumRule.DY(x, y, r),
        Op.Maximum => MaximumRule.DY(x, y, r),
        _ => RegisteredDY(op, x, y, r),
    };

    // The registry's kernels for the ops without an arm above. Not inlined, like a throw helper, so that the arms
    // stay as small as before for the JIT that inlines them into the compiled replays.
    [MethodImpl(MethodImplOptions.NoInlining)]
    static T RegisteredValue(Op op, T x, T y, T c) => Kernels<T>.Of(op).Value(x, y, c);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T RegisteredDX(Op op, T x, T y, T r, T c) => Kernels<T>.Of(op).DX(x, y, r, c);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T RegisteredDY(Op op, T x, T y, T r) => Kernels<T>.Of(op).DY(x, y, r);
}
