using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;

namespace Autograd;

/// <summary>
/// The rules of Derivatives.cs on a <see cref="Vector512{T}"/> of rows at once, for <see cref="VectorRowSweep{T}"/>:
/// the same formulas as <see cref="ScalarKernels{T}"/>, so that each row's value and slopes round as one row at a
/// time would (sin and cos are <see cref="Autograd.SinCos"/>, exp and log <see cref="ExpLog"/>, as in the chunk kernels). Like
/// ScalarKernels, the arms fold away when the op is a constant in the compiled loop.
/// </summary>
internal static class VectorRowKernels<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>The ops the vector row loop computes; a chain with any other op stays on the chunk kernels.</summary>
    public static bool Supports(TapeNode<T> node) => node.Op switch
    {
        Op.Neg or Op.Add or Op.Sub or Op.Mul or Op.Div or Op.Square or Op.Abs or Op.Minimum or Op.Maximum or Op.Relu => true,
        Op.Sin or Op.Cos or Op.Sqrt or Op.Exp or Op.Log => true,
        Op.PowConstant => node.Constant == T.CreateChecked(2),
        _ => false,
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Forward(Op op, Vector512<T> x, Vector512<T> y) => op switch
    {
        Op.Neg => -x,
        Op.Add => x + y,
        Op.Sub => x - y,
        Op.Mul => x * y,
        Op.Div => x / y,
        Op.Square => x * x,
        Op.Abs => Vector512.Abs(x),
        Op.Relu => Vector512.Max(x, Vector512<T>.Zero),
        Op.Minimum => Vector512.Min(x, y),
        Op.Maximum => Vector512.Max(x, y),
        Op.Sin => Sin(x),
        Op.Cos => Cos(x),
        Op.Sqrt => Vector512.Sqrt(x),
        Op.Exp => Exp(x),
        Op.Log => Log(x),
        _ => throw new NotSupportedException($"{op} has no vector row kernel."),
    };

    /// <summary>dr/dx (sin and cos take their slope from <see cref="SinCos"/> in the compiled loop).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> DX(Op op, Vector512<T> x, Vector512<T> y, Vector512<T> r) => op switch
    {
        Op.Mul => y,
        Op.Div => Vector512<T>.One / y,
        Op.Square => x + x,
        Op.Abs => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.LessThan(x, Vector512<T>.Zero), -Vector512<T>.One, Vector512<T>.Zero)),
        Op.Relu => Vector512.ConditionalSelect(Vector512.GreaterThan(x, Vector512<T>.Zero), Vector512<T>.One, Vector512<T>.Zero),
        Op.Minimum => Vector512.ConditionalSelect(Vector512.LessThan(x, y), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.Equals(x, y), Half, Vector512<T>.Zero)),
        Op.Maximum => Vector512.ConditionalSelect(Vector512.GreaterThan(x, y), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.Equals(x, y), Half, Vector512<T>.Zero)),
        Op.Sqrt => Half / r,
        Op.Exp => r,
        Op.Log => Vector512<T>.One / x,
        _ => throw new NotSupportedException($"{op} has no vector row slope."),
    };

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> DY(Op op, Vector512<T> x, Vector512<T> y, Vector512<T> r) => op switch
    {
        Op.Mul => x,
        Op.Div => -r / y,
        Op.Minimum => Vector512.ConditionalSelect(Vector512.LessThan(y, x), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.Equals(x, y), Half, Vector512<T>.Zero)),
        Op.Maximum => Vector512.ConditionalSelect(Vector512.GreaterThan(y, x), Vector512<T>.One,
            Vector512.ConditionalSelect(Vector512.Equals(x, y), Half, Vector512<T>.Zero)),
        _ => throw new NotSupportedException($"{op} has no vector row slope."),
    };

    static Vector512<T> Half => Vector512.Create(Num<T>.Half);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Load(T[] array, int row) =>
        Vector512.LoadUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)row);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Store(Vector512<T> value, T[] array, int row) =>
        value.StoreUnsafe(ref MemoryMarshal.GetArrayDataReference(array), (nuint)row);

    /// <summary>sum + g * slope, lane by lane (a multiply then an add, not fused: the chunk kernels round so too).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Accumulate(Vector512<T> sum, Vector512<T> g, Vector512<T> slope) => sum + g * slope;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Add(Vector512<T> sum, Vector512<T> term) => sum + term;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Subtract(Vector512<T> sum, Vector512<T> term) => sum - term;

    /// <summary>The lanes' total, in the fixed order of <see cref="Vector512.Sum{T}"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static T Total(Vector512<T> sum) => Vector512.Sum(sum);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Sin(Vector512<T> x) => SinCos(x).Sin;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Cos(Vector512<T> x) => SinCos(x).Cos;

    /// <summary>The chunk kernels' sin and cos (<see cref="Autograd.SinCos"/>): the same bits, row loop or chunks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static (Vector512<T> Sin, Vector512<T> Cos) SinCos(Vector512<T> x)
    {
        if (typeof(T) == typeof(double))
        {
            var (s, c) = Autograd.SinCos.Of(x.As<T, double>());
            return (s.As<double, T>(), c.As<double, T>());
        }
        var (sf, cf) = Autograd.SinCos.Of(x.As<T, float>());
        return (sf.As<float, T>(), cf.As<float, T>());
    }

    /// <summary>The chunk kernels' exp (<see cref="ExpLog"/>): the same bits, row loop or chunks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Exp(Vector512<T> x) => typeof(T) == typeof(double)
        ? ExpLog.Exp(x.As<T, double>()).As<double, T>()
        : ExpLog.Exp(x.As<T, float>()).As<float, T>();

    /// <summary>The chunk kernels' log (<see cref="ExpLog"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static Vector512<T> Log(Vector512<T> x) => typeof(T) == typeof(double)
        ? ExpLog.Log(x.As<T, double>()).As<double, T>()
        : ExpLog.Log(x.As<T, float>()).As<float, T>();
}
