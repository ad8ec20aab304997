namespace Autograd;

/// <summary>What one tape node computes from its inputs; each op has one entry in <see cref="OpRegistry"/>.</summary>
public enum Op : byte
{
    /// <summary>A leaf: a parameter, a constant, a data column or a literal number.</summary>
    Input,

    // Elementwise, one input.
    Neg, Exp, Log, Sqrt, Abs, Sin, Cos, Tan, Tanh, Sigmoid, Relu, Softplus, Square,
    Atan, Asin, Acos, Sinh, Cosh, Asinh, Acosh, Atanh, Log1p, Expm1, Log2, Log10, Erf,
    /// <summary>x ^ c for a constant exponent c held by the node; never takes the log of x.</summary>
    PowConstant,

    // Elementwise, two inputs, a scalar broadcasts against a vector.
    Add, Sub, Mul, Div, Pow, Minimum, Maximum, Atan2, Hypot,
    /// <summary>max(x, lo), the lower half of clamp: at x == lo the gradient goes to x.</summary>
    ClampLow,
    /// <summary>min(x, hi), the upper half of clamp: at x == hi the gradient goes to x.</summary>
    ClampHigh,

    // Reductions and selection: the result is a scalar.
    Sum, Mean, Dot, Min, Max, Prod, LogSumExp,
    /// <summary>One element of a vector; the node holds the zero-based index.</summary>
    Index,

    // Vector to vector, not elementwise.
    /// <summary>Running sums, the same length.</summary>
    CumSum,
    /// <summary>Differences of neighbours, one element shorter.</summary>
    Diff,
    /// <summary>Elements Index .. Index + Constant - 1 of a vector (zero-based start, the length held as the constant).</summary>
    Slice,

    // Matrices (row-major; a node's Columns says it is one). See MatrixKernels.cs.
    /// <summary>R's %*%: matrix x matrix, matrix x vector, vector x matrix; the node's index holds the inner dimension.</summary>
    MatMul,
    /// <summary>t(A); the node's index holds the input's column count (a vector is one row).</summary>
    Transpose,
    /// <summary>Two blocks of columns side by side (cbind of two); the node's index holds the first block's column count.</summary>
    Cbind,
    /// <summary>A length-k vector repeated as every row of an n x k matrix: how a vector broadcasts over a matrix's rows.</summary>
    BroadcastRows,
    RowSums, ColSums, RowMeans, ColMeans,
}

/// <summary>Names of ops as the expression language and the recorded tape show them.</summary>
public static class OpNames
{
    public static string Of(Op op) => op switch
    {
        Op.Input => "input",
        Op.PowConstant => "pow",
        Op.Minimum => "min",
        Op.Maximum => "max",
        Op.ClampLow or Op.ClampHigh => "clamp",
        Op.MatMul => "%*%",
        Op.Transpose => "t",
        Op.Cbind => "cbind",
        Op.BroadcastRows => "broadcast",
        Op.RowSums => "rowSums",
        Op.ColSums => "colSums",
        Op.RowMeans => "rowMeans",
        Op.ColMeans => "colMeans",
        _ => op.ToString().ToLowerInvariant(),
    };
}
