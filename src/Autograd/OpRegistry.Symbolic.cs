using Autograd.Analysis;

namespace Autograd;

/// <summary>
/// What a symbolic derivative rule sees of one tape node: the graph to build in, the symbols of its inputs x, y and
/// of its result r, the constant and index it holds, the inputs' lengths, and x's values at the point (for the
/// branch of min(v) and max(v)).
/// </summary>
internal readonly record struct SymbolicStep(SymbolicGraph G, int X, int Y, int R, double C, int Index, int LengthX, int LengthY, double[] XValues);

/// <summary>The vector-Jacobian product written as expressions: given the adjoint g of the result, the contributions to x and y (-1 for none).</summary>
internal delegate (int Dx, int Dy) SymbolicRule(SymbolicStep s, int g);

// The symbolic derivative of every op, one rule per op, written with the same names as Derivatives.cs (g upstream,
// x and y the inputs, r the result, c the constant). Each rule says in the formula language what the op's VJP
// computes, so that /gradient can return the derivative as a formula. Piecewise ops use the step (1 + u/|u|)/2,
// which is undefined exactly at the kink (the service then says the text does not agree there); min(v) and max(v)
// send g to the elements that are extreme at the point.

internal static partial class OpRegistry
{
    public static SymbolicRule? SymbolicRuleOf(Op op) => op switch
    {
        // ----- Elementwise, one input -----
        Op.Neg => (SymbolicStep s, int g) => (s.G.Neg(g), -1),
        Op.Exp => (SymbolicStep s, int g) => (s.G.Times(g, s.R), -1),
        Op.Log => (SymbolicStep s, int g) => (s.G.Over(g, s.X), -1),
        Op.Sqrt => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Scale(2, s.R)), -1),
        Op.Abs => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Over(s.X, s.R)), -1),
        Op.Sin => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Cos, s.X)), -1),
        Op.Cos => (SymbolicStep s, int g) => (s.G.Neg(s.G.Times(g, s.G.Call(Op.Sin, s.X))), -1),
        Op.Tan => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Plus(s.G.Const(1), s.G.Power(s.R, 2))), -1),
        Op.Tanh => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Minus(s.G.Const(1), s.G.Power(s.R, 2))), -1),
        Op.Sigmoid => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Times(s.R, s.G.Minus(s.G.Const(1), s.R))), -1),
        Op.Relu => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Step(s.X)), -1),
        Op.Softplus => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Sigmoid, s.X)), -1),
        Op.Square => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Scale(2, s.X)), -1),
        Op.Atan => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Plus(s.G.Const(1), s.G.Power(s.X, 2))), -1),
        Op.Asin => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Call(Op.Sqrt, s.G.Minus(s.G.Const(1), s.G.Power(s.X, 2)))), -1),
        Op.Acos => (SymbolicStep s, int g) => (s.G.Neg(s.G.Over(g, s.G.Call(Op.Sqrt, s.G.Minus(s.G.Const(1), s.G.Power(s.X, 2))))), -1),
        Op.Sinh => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Cosh, s.X)), -1),
        Op.Cosh => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Sinh, s.X)), -1),
        Op.Asinh => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Call(Op.Sqrt, s.G.Plus(s.G.Const(1), s.G.Power(s.X, 2)))), -1),
        Op.Acosh => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Times(s.G.Call(Op.Sqrt, s.G.Minus(s.X, s.G.Const(1))), s.G.Call(Op.Sqrt, s.G.Plus(s.X, s.G.Const(1))))), -1),
        Op.Atanh => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Times(s.G.Minus(s.G.Const(1), s.X), s.G.Plus(s.G.Const(1), s.X))), -1),
        Op.Log1p => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Plus(s.G.Const(1), s.X)), -1),
        Op.Expm1 => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Exp, s.X)), -1),
        Op.Log2 => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Scale(Math.Log(2), s.X)), -1),
        Op.Log10 => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Scale(Math.Log(10), s.X)), -1),
        Op.Erf => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Scale(2 / Math.Sqrt(Math.PI), s.G.Call(Op.Exp, s.G.Neg(s.G.Power(s.X, 2))))), -1),
        Op.PowConstant => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Scale(s.C, s.G.Power(s.X, s.C - 1))), -1),

        // ----- Elementwise, two inputs -----
        Op.Add => (SymbolicStep s, int g) => (g, g),
        Op.Sub => (SymbolicStep s, int g) => (g, s.G.Neg(g)),
        Op.Mul => (SymbolicStep s, int g) => (s.G.Times(g, s.Y), s.G.Times(g, s.X)),
        Op.Div => (SymbolicStep s, int g) => (s.G.Over(g, s.Y), s.G.Neg(s.G.Over(s.G.Times(g, s.R), s.Y))),
        Op.Pow => (SymbolicStep s, int g) => (
            s.G.Times(g, s.G.Times(s.Y, s.G.Apply(Op.Pow, s.X, s.G.Minus(s.Y, s.G.Const(1))))),
            s.G.Times(g, s.G.Times(s.R, s.G.Call(Op.Log, s.X)))),
        Op.Minimum => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Step(s.G.Minus(s.Y, s.X), 0.5)), s.G.Times(g, s.G.Step(s.G.Minus(s.X, s.Y), 0.5))),
        Op.Maximum => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Step(s.G.Minus(s.X, s.Y), 0.5)), s.G.Times(g, s.G.Step(s.G.Minus(s.Y, s.X), 0.5))),
        Op.Atan2 => (SymbolicStep s, int g) =>
        {
            // atan2(y, x) with the node's first input y = s.X and second x = s.Y.
            var squares = s.G.Plus(s.G.Power(s.X, 2), s.G.Power(s.Y, 2));
            return (s.G.Over(s.G.Times(g, s.Y), squares), s.G.Neg(s.G.Over(s.G.Times(g, s.X), squares)));
        },
        Op.Hypot => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Over(s.X, s.R)), s.G.Times(g, s.G.Over(s.Y, s.R))),
        Op.ClampLow => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Step(s.G.Minus(s.X, s.Y), 1)), s.G.Times(g, s.G.Step(s.G.Minus(s.Y, s.X)))),
        Op.ClampHigh => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Step(s.G.Minus(s.Y, s.X), 1)), s.G.Times(g, s.G.Step(s.G.Minus(s.X, s.Y)))),

        // ----- Reductions and selection -----
        Op.Sum => (SymbolicStep s, int g) => (g, -1),
        Op.Mean => (SymbolicStep s, int g) => (s.G.Over(g, s.G.Const(s.LengthX)), -1),
        Op.Dot => (SymbolicStep s, int g) => (s.G.Times(g, s.Y), s.G.Times(g, s.X)),
        Op.Min or Op.Max => (SymbolicStep s, int g) => (s.G.Times(g, Extremes(s, op == Op.Min)), -1),
        Op.Prod => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Over(s.R, s.X)), -1),
        Op.LogSumExp => (SymbolicStep s, int g) => (s.G.Times(g, s.G.Call(Op.Exp, s.G.Minus(s.X, s.R))), -1),
        Op.Index => (SymbolicStep s, int g) => (s.G.Times(g, s.G.OneHot(s.X, s.LengthX, s.Index)), -1),

        // ----- Vector to vector -----
        // The adjoint of a running sum is the reversed running sum: sum(g) - cumsum(g) + g, or g·(n + 1 - seq_along(x)).
        Op.CumSum => (SymbolicStep s, int g) => (s.G.Length(g) == 1
            ? s.G.Times(g, s.G.Minus(s.G.Const(s.LengthX + 1), s.G.Sequence(s.X, s.LengthX)))
            : s.G.Plus(s.G.Minus(s.G.Apply(Op.Sum, g), s.G.Call(Op.CumSum, g)), g), -1),
        Op.Diff => (SymbolicStep s, int g) => (s.G.Minus(s.G.Scatter(g, 1, s.LengthX - 1, s.LengthX), s.G.Scatter(g, 0, s.LengthX - 1, s.LengthX)), -1),
        Op.Slice => (SymbolicStep s, int g) => (s.G.Scatter(g, s.Index, (int)s.C, s.LengthX), -1),
        _ => null,
    };

    /// <summary>The vector that shares 1 among the elements of x that are its minimum (maximum) at the point.</summary>
    static int Extremes(SymbolicStep s, bool minimum)
    {
        var extreme = minimum ? s.XValues.Min() : s.XValues.Max();
        var at = Enumerable.Range(0, s.XValues.Length).Where(i => s.XValues[i] == extreme).ToArray();
        if (s.LengthX == 1) return s.G.Const(1);
        var sum = s.G.Const(0);
        foreach (var i in at) sum = s.G.Plus(sum, s.G.OneHot(s.X, s.LengthX, i));
        return s.G.Over(sum, s.G.Const(at.Length));
    }
}
