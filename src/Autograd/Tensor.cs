using System.Numerics;

namespace Autograd;

/// <summary>
/// A scalar, vector or matrix (row-major) with torch's autograd surface: results of ops on tensors that require grad are
/// recorded on a tape and require grad too; <see cref="Backward"/> accumulates into each leaf's <see cref="Grad"/>.
/// </summary>
public sealed class Tensor<T> where T : IFloatingPointIeee754<T>
{
    readonly T[] _values;
    Tape<T>? _tape;

    Tensor(T[] values, bool isScalar, bool requiresGrad, Tape<T>? tape, int nodeId)
    {
        _values = values;
        IsScalar = isScalar;
        RequiresGrad = requiresGrad;
        _tape = tape;
        NodeId = nodeId;
    }

    public static Tensor<T> Scalar(T value, bool requiresGrad = false) => new([value], true, requiresGrad, null, -1);

    public static Tensor<T> Vector(ReadOnlySpan<T> values, bool requiresGrad = false)
    {
        if (values.IsEmpty) throw new ShapeException("A vector needs at least one element.");
        return new(values.ToArray(), false, requiresGrad, null, -1);
    }

    /// <summary>A matrix of <paramref name="rows"/> x <paramref name="columns"/> from its values in row-major order.</summary>
    public static Tensor<T> Matrix(ReadOnlySpan<T> values, int rows, int columns, bool requiresGrad = false)
    {
        if (rows < 1 || columns < 1 || values.Length != rows * columns)
            throw new ShapeException($"A {rows}x{columns} matrix holds {Math.Max(rows, 0) * Math.Max(columns, 0)} values, not {values.Length}.");
        return new(values.ToArray(), false, requiresGrad, null, -1) { Columns = columns };
    }

    /// <summary>A matrix from rows of equal length, as <c>torch.tensor([[1, 2], [3, 4]])</c>.</summary>
    public static Tensor<T> Matrix(T[][] rows, bool requiresGrad = false)
    {
        ArgumentNullException.ThrowIfNull(rows);
        if (rows.Length == 0 || rows[0].Length == 0) throw new ShapeException("A matrix needs at least one row and one column.");
        if (rows.Any(r => r.Length != rows[0].Length)) throw new ShapeException("Every row of a matrix needs the same number of columns.");
        return Matrix(rows.SelectMany(r => r).ToArray(), rows.Length, rows[0].Length, requiresGrad);
    }

    public bool RequiresGrad { get; }
    public bool IsScalar { get; }
    /// <summary>The column count of a matrix; 0 for a scalar or a vector.</summary>
    public int Columns { get; private init; }
    public bool IsMatrix => Columns > 0;
    public int Rows => Columns > 0 ? Length / Columns : Length;
    public int Length => _values.Length;
    public ReadOnlySpan<T> Values => _values;
    /// <summary>A leaf is a tensor no recorded op produced: its gradient lands in <see cref="Grad"/>.</summary>
    public bool IsLeaf => _tape is null;
    /// <summary>The sum of d(output)/d(this) over every <see cref="Backward"/> so far; null before the first.</summary>
    public Tensor<T>? Grad { get; private set; }
    /// <summary>The tape that recorded this tensor, or null for a leaf.</summary>
    public Tape<T>? Tape => _tape;
    internal int NodeId { get; private set; }

    public T Item() => Length == 1
        ? _values[0]
        : throw new ShapeException($"Item() needs a single element; this tensor has {Length}.");

    public T[] ToArray() => (T[])_values.Clone();

    /// <summary>Reverse-mode sweep from this scalar: adds d(this)/d(leaf) to the <see cref="Grad"/> of every leaf that requires grad.</summary>
    public void Backward()
    {
        if (!RequiresGrad)
            throw new InvalidOperationException("This tensor does not require grad: create a leaf with requiresGrad: true and compute from it.");
        if (Length != 1)
            throw new ShapeException($"Backward needs a scalar, but this tensor has {Length} elements: reduce it with Sum() or Mean() first.");
        if (_tape is null)
        {
            AccumulateGrad([T.One]);
            return;
        }
        _tape.Backward(NodeId);
        for (var i = 0; i <= NodeId; i++)
        {
            var node = _tape[i];
            if (node.Leaf is { } leaf && node.RequiresGrad) leaf.AccumulateGrad(node.Adjoint);
        }
    }

    /// <summary>Sets <see cref="Grad"/> to zeros, as torch's <c>grad$zero_()</c>.</summary>
    public void ZeroGrad() => Grad?._values.AsSpan().Clear();

    /// <summary>The same values as a new leaf that does not require grad.</summary>
    public Tensor<T> Detach() => new(ToArray(), IsScalar, false, null, -1) { Columns = Columns };

    /// <summary>this -= other in place, as torch's <c>sub_</c>; on a leaf that requires grad only inside <see cref="GradMode.NoGrad"/>.</summary>
    public void SubtractInPlace(Tensor<T> other)
    {
        ArgumentNullException.ThrowIfNull(other);
        if (RequiresGrad && GradMode.IsEnabled)
            throw new InvalidOperationException("A tensor that requires grad can be updated in place only inside GradMode.NoGrad().");
        var (length, _) = Shapes.Result(Op.Sub, Length, IsScalar, other.Length, other.IsScalar, 0);
        if (length != Length) throw new ShapeException($"Cannot subtract {other.Length} elements from {Length} in place.");
        var stride = other.Length == Length ? 1 : 0;
        for (var i = 0; i < _values.Length; i++) _values[i] -= other._values[i * stride];
    }

    internal void AccumulateGrad(ReadOnlySpan<T> adjoint)
    {
        Grad ??= new Tensor<T>(new T[Length], IsScalar, false, null, -1) { Columns = Columns };
        var grad = Grad._values;
        for (var i = 0; i < grad.Length; i++) grad[i] += adjoint[i];
    }

    internal void MoveTo(Tape<T> tape, int nodeId)
    {
        _tape = tape;
        NodeId = nodeId;
    }

    // ----- Ops -----

    public static Tensor<T> operator +(Tensor<T> x, Tensor<T> y) => Apply(Op.Add, x, y);
    public static Tensor<T> operator -(Tensor<T> x, Tensor<T> y) => Apply(Op.Sub, x, y);
    public static Tensor<T> operator *(Tensor<T> x, Tensor<T> y) => Apply(Op.Mul, x, y);
    public static Tensor<T> operator /(Tensor<T> x, Tensor<T> y) => Apply(Op.Div, x, y);
    public static Tensor<T> operator +(Tensor<T> x, T y) => Apply(Op.Add, x, Scalar(y));
    public static Tensor<T> operator -(Tensor<T> x, T y) => Apply(Op.Sub, x, Scalar(y));
    public static Tensor<T> operator *(Tensor<T> x, T y) => Apply(Op.Mul, x, Scalar(y));
    public static Tensor<T> operator /(Tensor<T> x, T y) => Apply(Op.Div, x, Scalar(y));
    public static Tensor<T> operator +(T x, Tensor<T> y) => Apply(Op.Add, Scalar(x), y);
    public static Tensor<T> operator -(T x, Tensor<T> y) => Apply(Op.Sub, Scalar(x), y);
    public static Tensor<T> operator *(T x, Tensor<T> y) => Apply(Op.Mul, Scalar(x), y);
    public static Tensor<T> operator /(T x, Tensor<T> y) => Apply(Op.Div, Scalar(x), y);
    public static Tensor<T> operator -(Tensor<T> x) => Apply(Op.Neg, x, null);

    public Tensor<T> Exp() => Apply(Op.Exp, this, null);
    public Tensor<T> Log() => Apply(Op.Log, this, null);
    public Tensor<T> Sqrt() => Apply(Op.Sqrt, this, null);
    public Tensor<T> Abs() => Apply(Op.Abs, this, null);
    public Tensor<T> Sin() => Apply(Op.Sin, this, null);
    public Tensor<T> Cos() => Apply(Op.Cos, this, null);
    public Tensor<T> Tan() => Apply(Op.Tan, this, null);
    public Tensor<T> Tanh() => Apply(Op.Tanh, this, null);
    public Tensor<T> Sigmoid() => Apply(Op.Sigmoid, this, null);
    public Tensor<T> Relu() => Apply(Op.Relu, this, null);
    public Tensor<T> Softplus() => Apply(Op.Softplus, this, null);
    public Tensor<T> Square() => Apply(Op.Square, this, null);
    public Tensor<T> Pow(T exponent) => Apply(Op.PowConstant, this, null, exponent);
    public Tensor<T> Pow(Tensor<T> exponent) => Apply(Op.Pow, this, exponent);
    public Tensor<T> Minimum(Tensor<T> other) => Apply(Op.Minimum, this, other);
    public Tensor<T> Maximum(Tensor<T> other) => Apply(Op.Maximum, this, other);
    public Tensor<T> Sum() => Apply(Op.Sum, this, null);
    public Tensor<T> Mean() => Apply(Op.Mean, this, null);
    public Tensor<T> Min() => Apply(Op.Min, this, null);
    public Tensor<T> Max() => Apply(Op.Max, this, null);
    public Tensor<T> Dot(Tensor<T> other) => Apply(Op.Dot, this, other);
    /// <summary>The element at a zero-based index, as a scalar.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public Tensor<T> this[int index] => Apply(Op.Index, this, null, index: index);

    /// <summary>The element of a matrix at a zero-based row and column, as a scalar.</summary>
    [System.Runtime.CompilerServices.IndexerName("Element")]
    public Tensor<T> this[int row, int column] => IsMatrix && row >= 0 && row < Rows && column >= 0 && column < Columns
        ? Apply(Op.Index, this, null, index: row * Columns + column)
        : throw new ShapeException($"Element ({row}, {column}) is not in {Describe()} (indices start at 0).");

    /// <summary>The matrix product, as <c>torch.matmul</c> for rank 1 and 2 (R's <c>%*%</c>).</summary>
    public Tensor<T> MatMul(Tensor<T> other) => Apply(Op.MatMul, this, other);
    /// <summary>The transpose; a vector becomes one row.</summary>
    public Tensor<T> Transpose() => Apply(Op.Transpose, this, null);
    public Tensor<T> RowSums() => Apply(Op.RowSums, this, null);
    public Tensor<T> ColSums() => Apply(Op.ColSums, this, null);
    public Tensor<T> RowMeans() => Apply(Op.RowMeans, this, null);
    public Tensor<T> ColMeans() => Apply(Op.ColMeans, this, null);

    /// <summary>The columns side by side: equal-length vectors (or matrices with as many rows), as R's <c>cbind</c>.</summary>
    public static Tensor<T> Cbind(params Tensor<T>[] columns)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Length < 2) throw new ShapeException("Cbind needs at least two columns.");
        var result = Apply(Op.Cbind, columns[0], columns[1]);
        for (var i = 2; i < columns.Length; i++) result = Apply(Op.Cbind, result, columns[i]);
        return result;
    }

    string Describe() => IsMatrix ? $"a {Rows}x{Columns} matrix" : IsScalar ? "a scalar" : $"a vector of {Length}";

    static Tensor<T> Apply(Op op, Tensor<T> x, Tensor<T>? y, T constant = default!, int index = 0)
    {
        ArgumentNullException.ThrowIfNull(x);
        constant ??= T.Zero;
        var record = GradMode.IsEnabled && (x.RequiresGrad || (y?.RequiresGrad ?? false));
        if (!record && (x.IsMatrix || (y?.IsMatrix ?? false) || OpRegistry.Of(op).Shape == OpShape.Matrix))
        {
            // Matrix shapes (and a vector broadcast over rows) follow the tape's rules: record on a throwaway tape.
            var scratch = new Tape<T>();
            var node = scratch[scratch.Record(op, x.NodeOn(scratch), y?.NodeOn(scratch) ?? -1, constant, index)];
            return new Tensor<T>(node.Value, node.IsScalar, false, null, -1) { Columns = node.Columns };
        }
        if (!record)
        {
            var (length, isScalar) = Shapes.Result(op, x.Length, x.IsScalar, y?.Length ?? 0, y?.IsScalar ?? true, index);
            var values = new T[length];
            Kernels<T>.Forward(op, x._values, y is null ? default : y._values, constant, index, values);
            return new Tensor<T>(values, isScalar, false, null, -1);
        }

        var tape = TapeFor(x, y);
        var xId = x.NodeOn(tape);
        var yId = y?.NodeOn(tape) ?? -1;
        var id = tape.Record(op, xId, yId, constant, index);
        var result = new Tensor<T>(tape[id].Value, tape[id].IsScalar, true, tape, id) { Columns = tape[id].Columns };
        tape.Results.Add(result);
        return result;
    }

    static Tape<T> TapeFor(Tensor<T> x, Tensor<T>? y)
    {
        var tape = x._tape ?? y?._tape ?? new Tape<T>();
        if (y?._tape is { } other && other != tape) tape.Absorb(other);
        return tape;
    }

    int NodeOn(Tape<T> tape)
    {
        if (_tape == tape) return NodeId;
        if (tape.LeafNodes.TryGetValue(this, out var id)) return id;
        id = IsMatrix ? tape.AddMatrix(_values, Columns, RequiresGrad) : tape.AddInput(_values, IsScalar, RequiresGrad);
        tape[id].Leaf = this;
        tape.LeafNodes.Add(this, id);
        return id;
    }
}
