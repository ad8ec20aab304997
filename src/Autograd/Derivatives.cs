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
        if (u == T.One || T.IsPositiveInfinity(u)) return u == T.One ? z : u;
        return T.Log(u) * z / (u - T.One);
    }

    /// <summary>
    /// exp(z) - 1, accurate for tiny z, where exp(z) - 1 keeps only the digits of z that survive 1 + z (and .NET's
    /// ExpM1 is no better): with u = exp(z) rounded, (u - 1)·z/log(u) cancels the rounding of u (Kahan's trick).
    /// </summary>
    public static T ExpMinusOne(T z)
    {
        var u = T.Exp(z);
        if (u == T.One) return z;
        var um1 = u - T.One;
        if (um1 == -T.One || T.IsPositiveInfinity(u)) return um1;
        return um1 * z / T.Log(u);
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
    /// <summary>The engine's own exp (<see cref="ExpLog"/>), the same bits as its vector lanes.</summary>
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => ExpLog.Exp(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
}

internal readonly struct LogRule : IUnaryRule
{
    /// <summary>The engine's own log (<see cref="ExpLog"/>), the same bits as its vector lanes.</summary>
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => ExpLog.Log(x);
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

// ----- Inverse trigonometric, hyperbolic, logarithms and erf -----
// PyTorch's conventions at the ends of a domain: the derivative is infinite or NaN where the formula says so
// (asin'(±1) = inf, acosh'(1) = inf, atanh'(±1) = inf, log'(0) = inf), never clipped.

internal readonly struct AtanRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Atan(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / (T.One + x * x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = T.One / (T.One + x * x);
        return -Num<T>.Two * x * s * s;
    }
}

internal readonly struct AsinRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Asin(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / T.Sqrt(T.One - x * x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = T.One / T.Sqrt(T.One - x * x);
        return x * s * s * s;
    }
}

internal readonly struct AcosRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Acos(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One / T.Sqrt(T.One - x * x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = T.One / T.Sqrt(T.One - x * x);
        return -x * s * s * s;
    }
}

internal readonly struct SinhRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Sinh(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Cosh(x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
}

internal readonly struct CoshRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Cosh(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Sinh(x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => r;
}

internal readonly struct AsinhRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Asinh(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / T.Sqrt(T.One + x * x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = T.One / T.Sqrt(T.One + x * x);
        return -x * s * s * s;
    }
}

internal readonly struct AcoshRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Acosh(x);
    // sqrt(x - 1) sqrt(x + 1), not sqrt(x² - 1): no cancellation near x = 1.
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / (T.Sqrt(x - T.One) * T.Sqrt(x + T.One));
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = Slope(x, r, c);
        return -x * s * s * s;
    }
}

internal readonly struct AtanhRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Atanh(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / ((T.One - x) * (T.One + x));
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T>
    {
        var s = Slope(x, r, c);
        return Num<T>.Two * x * s * s;
    }
}

internal readonly struct Log1pRule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => Num<T>.LogOnePlus(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / (T.One + x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One / ((T.One + x) * (T.One + x));
}

internal readonly struct Expm1Rule : IUnaryRule
{
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => Num<T>.ExpMinusOne(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Exp(x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.Exp(x);
}

internal readonly struct Log2Rule : IUnaryRule
{
    static T Ln2<T>() where T : IFloatingPointIeee754<T> => T.CreateChecked(0.6931471805599453);
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Log2(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / (x * Ln2<T>());
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One / (x * x * Ln2<T>());
}

internal readonly struct Log10Rule : IUnaryRule
{
    static T Ln10<T>() where T : IFloatingPointIeee754<T> => T.CreateChecked(2.302585092994046);
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.Log10(x);
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => T.One / (x * Ln10<T>());
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -T.One / (x * x * Ln10<T>());
}

internal readonly struct ErfRule : IUnaryRule
{
    static T TwoOverSqrtPi<T>() where T : IFloatingPointIeee754<T> => T.CreateChecked(1.1283791670955126);
    public static T Value<T>(T x, T c) where T : IFloatingPointIeee754<T> => T.CreateTruncating(SpecialFunctions.Erf(double.CreateTruncating(x)));
    public static T Slope<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => TwoOverSqrtPi<T>() * T.Exp(-x * x);
    public static T Curvature<T>(T x, T r, T c) where T : IFloatingPointIeee754<T> => -Num<T>.Two * x * Slope(x, r, c);
}

// ----- Two inputs: atan2, hypot, the halves of clamp -----

internal readonly struct Atan2Rule : IBinaryRule
{
    // atan2(y, x) with the language's argument order: the node's first input is y. At (0, 0) the derivatives are
    // NaN, as in PyTorch (0/0).
    public static T Value<T>(T y, T x) where T : IFloatingPointIeee754<T> => T.Atan2(y, x);
    public static T DX<T>(T y, T x, T r) where T : IFloatingPointIeee754<T> => x / (y * y + x * x);
    public static T DY<T>(T y, T x, T r) where T : IFloatingPointIeee754<T> => -y / (y * y + x * x);
    public static T DXX<T>(T y, T x, T r) where T : IFloatingPointIeee754<T>
    {
        var s = y * y + x * x;
        return -Num<T>.Two * x * y / (s * s);
    }
    public static T DXY<T>(T y, T x, T r) where T : IFloatingPointIeee754<T>
    {
        var s = y * y + x * x;
        return (y * y - x * x) / (s * s);
    }
    public static T DYY<T>(T y, T x, T r) where T : IFloatingPointIeee754<T>
    {
        var s = y * y + x * x;
        return Num<T>.Two * x * y / (s * s);
    }
}

internal readonly struct HypotRule : IBinaryRule
{
    // sqrt(x² + y²) without overflow; at (0, 0) the derivatives are NaN, as in PyTorch (x / r with r = 0).
    public static T Value<T>(T x, T y) where T : IFloatingPointIeee754<T> => T.Hypot(x, y);
    public static T DX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => x / r;
    public static T DY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => y / r;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => y * y / (r * r * r);
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => -x * y / (r * r * r);
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => x * x / (r * r * r);
}

internal readonly struct ClampLowRule : IBinaryRule
{
    // max(x, lo) with PyTorch's clamp convention: at x == lo the whole gradient goes to x, none to lo.
    public static T Value<T>(T x, T lo) where T : IFloatingPointIeee754<T> => T.IsNaN(x) ? x : T.Max(x, lo);
    public static T DX<T>(T x, T lo, T r) where T : IFloatingPointIeee754<T> => x >= lo ? T.One : T.Zero;
    public static T DY<T>(T x, T lo, T r) where T : IFloatingPointIeee754<T> => x < lo ? T.One : T.Zero;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}

internal readonly struct ClampHighRule : IBinaryRule
{
    // min(x, hi) with PyTorch's clamp convention: at x == hi the whole gradient goes to x, none to hi.
    public static T Value<T>(T x, T hi) where T : IFloatingPointIeee754<T> => T.IsNaN(x) ? x : T.Min(x, hi);
    public static T DX<T>(T x, T hi, T r) where T : IFloatingPointIeee754<T> => x <= hi ? T.One : T.Zero;
    public static T DY<T>(T x, T hi, T r) where T : IFloatingPointIeee754<T> => x > hi ? T.One : T.Zero;
    public static T DXX<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DXY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
    public static T DYY<T>(T x, T y, T r) where T : IFloatingPointIeee754<T> => T.Zero;
}
