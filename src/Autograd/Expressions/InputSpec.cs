namespace Autograd.Expressions;

public enum InputKind
{
    /// <summary>A leaf that requires grad: the formula is differentiated with respect to it.</summary>
    Parameter,
    /// <summary>A fixed number or vector.</summary>
    Constant,
    /// <summary>A data column: a vector that does not require grad.</summary>
    Data,
}

/// <summary>A name a formula may use, with its kind and shape; its values are set on the compiled formula.</summary>
/// <param name="Columns">For a matrix (values row-major), its column count; 0 for a scalar or a vector.</param>
public sealed record InputSpec(string Name, InputKind Kind, int Length, bool IsScalar, int Columns = 0)
{
    public static InputSpec Matrix(string name, InputKind kind, int rows, int columns) => new(name, kind, rows * columns, false, columns);
    public bool IsMatrix => Columns > 0;
    public int Rows => Columns > 0 ? Length / Columns : Length;

    public static InputSpec Scalar(string name, InputKind kind) => new(name, kind, 1, true);
    public static InputSpec Vector(string name, InputKind kind, int length) => new(name, kind, length, false);
}
