using System.Numerics;

namespace Autograd;

/// <summary>
/// The shape rules where a matrix takes part (row-major; PyTorch's broadcasting restricted to rank 2): a scalar
/// broadcasts everywhere, a length-k vector over the rows of an n x k matrix, two matrices combine elementwise only
/// at equal shapes; %*% needs the first operand's columns to equal the second's rows (a vector on the left is a
/// row, on the right a column). Errors name both shapes.
/// </summary>
internal static class MatrixShapes
{
    public static bool Applies<T>(Op op, TapeNode<T> a, TapeNode<T>? b) where T : IFloatingPointIeee754<T> =>
        a.IsMatrix || (b?.IsMatrix ?? false) || OpRegistry.Of(op).Shape == OpShape.Matrix;

    /// <summary>
    /// The operands (a broadcast vector replaced by its BroadcastRows node), the index the node holds, and the
    /// result's length, scalar flag and column count (0 unless a matrix).
    /// </summary>
    public static (int X, int Y, int Index, int Length, bool IsScalar, int Columns) Result<T>(Tape<T> tape, Op op, int x, int y, int index, SourceSpan span)
        where T : IFloatingPointIeee754<T>
    {
        var a = tape[x];
        var b = y >= 0 ? tape[y] : null;
        var name = OpNames.Of(op);
        switch (OpRegistry.Of(op).Shape)
        {
            case OpShape.Elementwise:
                return (x, y, index, a.Length, a.IsScalar, a.Columns);
            case OpShape.Reduction:
                return (x, y, index, 1, true, 0);
            case OpShape.Element:
                if (index < 0 || index >= a.Length)
                    throw new MatrixShapeException($"Index {index + 1} is out of range: {Describe(a)} has {a.Length} elements.");
                return (x, y, index, 1, true, 0);
            case OpShape.Pairwise:
                if (!SameShape(a, b!))
                    throw new MatrixShapeException($"{name} needs two operands of the same shape, not {Describe(a)} and {Describe(b!)}.");
                return (x, y, index, 1, true, 0);
            case OpShape.Broadcast:
                return Broadcast(tape, op, x, y, index, span);
            case OpShape.Matrix:
                return Matrix(op, a, b, x, y, index);
            default:
                throw new MatrixShapeException($"{name} needs a vector, not {Describe(a)}.");
        }
    }

    static (int, int, int, int, bool, int) Broadcast<T>(Tape<T> tape, Op op, int x, int y, int index, SourceSpan span)
        where T : IFloatingPointIeee754<T>
    {
        TapeNode<T> a = tape[x], b = tape[y];
        if (a.Length == 1) return (x, y, index, b.Length, b.IsScalar, b.Columns);
        if (b.Length == 1) return (x, y, index, a.Length, a.IsScalar, a.Columns);
        if (a.IsMatrix && b.IsMatrix && SameShape(a, b)) return (x, y, index, a.Length, false, a.Columns);
        var (matrix, other) = a.IsMatrix ? (a, b) : (b, a);
        // A vector, or a one-row matrix, of k elements broadcasts over the rows of an n x k matrix.
        var rowLike = !other.IsMatrix || (other.Rows == 1 && matrix.Rows != 1);
        if (!rowLike || other.Length != matrix.Columns)
        {
            var rule = other.IsMatrix
                ? "matrices combine elementwise only at the same shape, or a one-row matrix over every row"
                : $"a vector broadcasts over the rows of a matrix only when its length is the number of columns ({matrix.Columns})";
            throw new MatrixShapeException($"{OpNames.Of(op)} of {Describe(a)} and {Describe(b)}: {rule}.");
        }
        var tiled = tape.Record(Op.BroadcastRows, a.IsMatrix ? y : x, index: matrix.Rows, span: span);
        return a.IsMatrix ? (x, tiled, index, matrix.Length, false, matrix.Columns) : (tiled, y, index, matrix.Length, false, matrix.Columns);
    }

    static (int, int, int, int, bool, int) Matrix<T>(Op op, TapeNode<T> a, TapeNode<T>? b, int x, int y, int index)
        where T : IFloatingPointIeee754<T>
    {
        var name = OpNames.Of(op);
        switch (op)
        {
            case Op.MatMul:
            {
                if (a.IsScalar || b!.IsScalar)
                    throw new MatrixShapeException($"%*% needs matrices or vectors, not {Describe(a)} and {Describe(b!)}; scale by a number with *.");
                // A vector on the left is one row, on the right one column.
                int n = a.IsMatrix ? a.Rows : 1, k = a.IsMatrix ? a.Columns : a.Length;
                int rows = b.IsMatrix ? b.Rows : b.Length, m = b.IsMatrix ? b.Columns : 1;
                if (k != rows)
                    throw new MatrixShapeException($"%*% of {Describe(a)} and {Describe(b)}: the first has {k} column{S(k)} but the second has {rows} row{S(rows)}.");
                if (a.IsMatrix && b.IsMatrix) return (x, y, k, n * m, false, m);
                if (!a.IsMatrix && !b.IsMatrix) return (x, y, k, 1, true, 0);
                return (x, y, k, n * m, false, 0);
            }
            case Op.Transpose:
                if (a.IsScalar) throw new MatrixShapeException($"t needs a matrix or a vector, not {Describe(a)}.");
                return a.IsMatrix ? (x, y, a.Columns, a.Length, false, a.Rows) : (x, y, a.Length, a.Length, false, a.Length);
            case Op.Cbind:
            {
                if (a.IsScalar || b!.IsScalar)
                    throw new MatrixShapeException($"cbind needs vectors (or matrices) with the same number of rows, not {Describe(a)} and {Describe(b!)}.");
                if (a.Rows != b.Rows)
                    throw new MatrixShapeException($"cbind of {Describe(a)} and {Describe(b)}: the columns must have the same number of rows ({a.Rows} and {b.Rows}).");
                int left = Math.Max(a.Columns, 1), right = Math.Max(b.Columns, 1);
                return (x, y, left, a.Rows * (left + right), false, left + right);
            }
            case Op.BroadcastRows:
                if ((a.IsMatrix && a.Rows != 1) || index < 1) throw new MatrixShapeException($"broadcast repeats a vector over rows, not {Describe(a)}.");
                return (x, y, index, index * a.Length, false, a.Length);
            case Op.RowSums or Op.RowMeans:
                if (!a.IsMatrix) throw new MatrixShapeException($"{name} needs a matrix, not {Describe(a)}.");
                return (x, y, a.Columns, a.Rows, false, 0);
            case Op.ColSums or Op.ColMeans:
                if (!a.IsMatrix) throw new MatrixShapeException($"{name} needs a matrix, not {Describe(a)}.");
                return (x, y, a.Columns, a.Columns, false, 0);
            default:
                throw new InvalidOperationException($"Op {op} declares shape Matrix, which has no rule for it.");
        }
    }

    static bool SameShape<T>(TapeNode<T> a, TapeNode<T> b) where T : IFloatingPointIeee754<T> =>
        a.Length == b.Length && a.Columns == b.Columns;

    static string S(int n) => n == 1 ? "" : "s";

    /// <summary>"a scalar", "a vector of 5", "a 2x3 matrix".</summary>
    public static string Describe<T>(TapeNode<T> node) where T : IFloatingPointIeee754<T> =>
        node.IsMatrix ? $"a {node.Rows}x{node.Columns} matrix" : node.IsScalar ? "a scalar" : $"a vector of {node.Length}";
}

/// <summary>A shape error where a matrix takes part; a formula reports it at the operator (for %*%, the %*%).</summary>
public sealed class MatrixShapeException(string message) : ShapeException(message);
