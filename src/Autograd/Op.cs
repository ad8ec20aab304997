namespace Autograd;

/// <summary>What one tape node computes from its inputs; each op has one entry in <see cref="OpRegistry"/>.</summary>
public enum Op : byte
{
    /// <summary>A leaf: a parameter, a constant, a data column or a literal number.</summary>
    Input,

    // Elementwise, one input.
    Neg, Exp, Log, Sqrt, Abs, Sin, Cos, Tan, Tanh, Sigmoid, Relu, Softplus, Square,
    /// <summary>x ^ c for a constant exponent c held by the node; never takes the log of x.</summary>
    PowConstant,

    // Elementwise, two inputs, a scalar broadcasts against a vector.
    Add, Sub, Mul, Div, Pow, Minimum, Maximum,

    // Reductions and selection: the result is a scalar.
    Sum, Mean, Dot, Min, Max,
    /// <summary>One element of a vector; the node holds the zero-based index.</summary>
    Index,
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
        _ => op.ToString().ToLowerInvariant(),
    };
}
