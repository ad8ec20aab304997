using System.Numerics;

namespace Autograd;

// The derivative table: every elementwise op states its value and its first and second derivatives,
// side by side. The sweeps in Kernels derive everything else from these entries: the forward pass,
// the vector-Jacobian product of the backward pass, the tangent (Jacobian-vector product) and the
// second-order adjoint that makes Hessian-vector products exact.
//
// Names: x and y are the inputs, r the value already computed from them, c a constant the node holds.
// Slope is dr/dx and Curvature d²r/dx²; DX, DY, DXX, DXY, DYY are the partial derivatives of a
// two-input op. Reductions and selection (sum, mean, dot, min, max, index) are linear or bilinear
// and are spelled out directly in Kernels.
//
// Conventions at points where the derivative does not exist, as PyTorch chooses them:
//   abs'(0) = 0, relu'(0) = 0;
//   min(x, y) and max(x, y) with x == y send half the gradient to each input;
//   min(v) and max(v) of a vector share the gradient evenly among the elements that tie;
//   x ^ y: d/dy is 0 where x == 0 and y >= 0, d/dx is 0 where y == 0;
//   x ^ c with a constant exponent c never evaluates log(x), so negative x with integer c is fine.

internal interface IUnaryRule
{
    static abstract T Value<T>(T x, T c) where T : IFloatingPointIeee754<T>;
    static abstract T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>;
    static abstract T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>;
}

internal interface IBinaryRule
{
    static abstract T Value<T>(T x, T y) where T : IFloatingPointIeee754<T>;
    static abstract T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>;
    static abstract T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>;
    static abstract T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>;
    static abstract T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>;
    static abstract T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>;
}

internal static class Num<T> where T : IFloatingPointIeee754<T>
{
    public static readonly T Two = T.CreateChecked(2);
    public static readonly T Half = T.CreateChecked(0.5);
    public static readonly T Quarter = T.CreateChecked(0.25);

    /// <summary>
    /// log(1 + z), accurate for tiny z, where the generic LogP1 computes log(1 + z) and loses every digit:
    /// with u = 1 + z rounded, log(u)·z/(u - 1) cancels the rounding of u (Goldberg, 1991, theorem 4).
    /// </summary>
    public static T LogOnePlus(T z)
    {
        var u = T.One + z;
        return u == T.One ? z : T.Log(u) * z / (u - T.One);
    }
}

// ----- Elementwise, one input -----

internal readonly struct NegRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => -x;
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct ExpRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Exp(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
}

internal readonly struct LogRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Log(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / x;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One / (x * x);
}

internal readonly struct SqrtRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Sqrt(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => Num<T>.Half / r;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -Num<T>.Quarter / (r * r * r);
}

internal readonly struct AbsRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Abs(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> =>
        x > T.Zero ? T.One : x < T.Zero ? -T.One : T.Zero;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct SinRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Sin(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Cos(x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -r;
}

internal readonly struct CosRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Cos(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.Sin(x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -r;
}

internal readonly struct TanRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Tan(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One + r * r;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => Num<T>.Two * r * (T.One + r * r);
}

internal readonly struct TanhRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Tanh(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One - r * r;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -Num<T>.Two * r * (T.One - r * r);
}

internal readonly struct SigmoidRule : IUnaryRule
{
    // Both branches avoid exp of a large positive number, so the value never becomes inf/inf.
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T>
    {
        if (x >= T.Zero) return T.One / (T.One + T.Exp(-x));
        var e = T.Exp(x);
        return e / (T.One + e);
    }
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r * (T.One - r);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r * (T.One - r) * (T.One - Num<T>.Two * r);
}

internal readonly struct ReluRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Max(x, T.Zero);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => x > T.Zero ? T.One : T.Zero;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct SoftplusRule : IUnaryRule
{
    // log(1 + e^x) = max(x, 0) + log(1 + e^-|x|): exact for large |x| where the naive form overflows.
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> =>
        T.Max(x, T.Zero) + Num<T>.LogOnePlus(T.Exp(-T.Abs(x)));
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => SigmoidRule.Value(x, c);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = SigmoidRule.Value(x, c);
        return s * (T.One - s);
    }
}

internal readonly struct SquareRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => x * x;
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => x + x;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => Num<T>.Two;
}

internal readonly struct PowConstantRule : IUnaryRule
{
    // Small integer exponents are spelled out so that x^2 is exactly x*x, as in PyTorch's pow kernel.
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T>
    {
        if (c == Num<T>.Two) return x * x;
        if (c == T.One) return x;
        if (c == T.Zero) return T.One;
        return T.Pow(x, c);
    }
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        if (c == Num<T>.Two) return x + x;
        if (c == T.One) return T.One;
        if (c == T.Zero) return T.Zero;
        return c * T.Pow(x, c - T.One);
    }
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        if (c == Num<T>.Two) return Num<T>.Two;
        if (c == T.One || c == T.Zero) return T.Zero;
        return c * (c - T.One) * T.Pow(x, c - Num<T>.Two);
    }
}

// ----- Elementwise, two inputs -----

internal readonly struct AddRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => x + y;
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.One;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.One;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct SubRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => x - y;
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.One;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => -T.One;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct MulRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => x * y;
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => y;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => x;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.One;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct DivRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => x / y;
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.One / y;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => -r / y;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => -T.One / (y * y);
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => Num<T>.Two * r / (y * y);
}

internal readonly struct PowRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => T.Pow(x, y);
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> =>
        y == T.Zero ? T.Zero : y * T.Pow(x, y - T.One);
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> =>
        x == T.Zero && y >= T.Zero ? T.Zero : r * T.Log(x);
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> =>
        y == T.Zero || y == T.One ? T.Zero : y * (y - T.One) * T.Pow(x, y - Num<T>.Two);
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> =>
        x == T.Zero ? T.Zero : T.Pow(x, y - T.One) * (T.One + y * T.Log(x));
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T>
    {
        if (x == T.Zero) return T.Zero;
        var log = T.Log(x);
        return r * log * log;
    }
}

internal readonly struct MinimumRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => T.Min(x, y);
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => x < y ? T.One : x == y ? Num<T>.Half : T.Zero;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => y < x ? T.One : x == y ? Num<T>.Half : T.Zero;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct MaximumRule : IBinaryRule
{
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => T.Max(x, y);
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => x > y ? T.One : x == y ? Num<T>.Half : T.Zero;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => y > x ? T.One : x == y ? Num<T>.Half : T.Zero;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}
