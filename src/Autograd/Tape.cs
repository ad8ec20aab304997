using System.Numerics;

namespace Autograd;

/// <summary>
/// A Wengert list: nodes in the order they were recorded, which is a topological order, so every
/// sweep is a plain loop. Record once, then replay <see cref="Forward"/> and <see cref="Backward"/>
/// at new input values as often as needed; replaying allocates nothing.
/// </summary>
public sealed class Tape<T> where T : IFloatingPointIeee754<T>
{
    readonly List<TapeNode<T>> _nodes = [];
    internal readonly Dictionary<Tensor<T>, int> LeafNodes = new(ReferenceEqualityComparer.Instance);
    internal readonly List<Tensor<T>> Results = [];

    public int Count => _nodes.Count;
    public TapeNode<T> this[int id] => _nodes[id];
    public IReadOnlyList<TapeNode<T>> Nodes => _nodes;

    /// <summary>Adds a leaf whose values the caller may overwrite before each replay.</summary>
    public int AddInput(T[] values, bool isScalar, bool requiresGrad, string? name = null, SourceSpan span = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (isScalar && values.Length != 1) throw new ShapeException($"A scalar holds one value, not {values.Length}.");
        if (values.Length == 0) throw new ShapeException("A vector needs at least one element.");
        _nodes.Add(new TapeNode<T>(Op.Input, -1, -1, T.Zero, 0, values, isScalar, requiresGrad, span, name));
        return _nodes.Count - 1;
    }

    /// <summary>Records one op on earlier nodes and computes its value at once.</summary>
    public int Record(Op op, int x, int y = -1, T constant = default!, int index = 0, SourceSpan span = default)
    {
        var a = _nodes[x];
        var b = y >= 0 ? _nodes[y] : null;
        var (length, isScalar) = Shapes.Result(op, a.Length, a.IsScalar, b?.Length ?? 0, b?.IsScalar ?? true, index);
        var requiresGrad = a.RequiresGrad || (b?.RequiresGrad ?? false);
        var node = new TapeNode<T>(op, x, y, constant ?? T.Zero, index, new T[length], isScalar, requiresGrad, span, null);
        Kernels<T>.Forward(op, a.Value, b is null ? default : b.Value, node.Constant, index, node.Value);
        _nodes.Add(node);
        return _nodes.Count - 1;
    }

    /// <summary>
    /// Appends <paramref name="other"/>'s nodes to this tape and moves its tensors here, so that two graphs
    /// built separately can meet in one op.
    /// </summary>
    internal void Absorb(Tape<T> other)
    {
        var offset = _nodes.Count;
        foreach (var node in other._nodes)
        {
            if (node.X >= 0) node.X += offset;
            if (node.Y >= 0) node.Y += offset;
            _nodes.Add(node);
        }
        foreach (var (leaf, id) in other.LeafNodes) LeafNodes.TryAdd(leaf, id + offset);
        foreach (var tensor in other.Results) tensor.MoveTo(this, tensor.NodeId + offset);
        Results.AddRange(other.Results);
        other._nodes.Clear();
        other.Results.Clear();
        other.LeafNodes.Clear();
    }

    /// <summary>Recomputes every node from the current input values.</summary>
    public void Forward()
    {
        foreach (var node in _nodes)
        {
            if (node.Op == Op.Input) continue;
            Kernels<T>.Forward(node.Op, _nodes[node.X].Value, ValueOf(node.Y), node.Constant, node.Index, node.Value);
        }
    }

    /// <summary>
    /// Fills every node's <see cref="TapeNode{T}.Adjoint"/> with d(output)/d(node), walking the tape in reverse.
    /// Adjoints are reset first; accumulation across calls is the job of <see cref="Tensor{T}.Grad"/>.
    /// </summary>
    public void Backward(int output)
    {
        var root = _nodes[output];
        if (root.Length != 1)
            throw new ShapeException($"Backward needs a scalar output, but node {output} has {root.Length} elements: reduce it with sum or mean first.");
        for (var i = 0; i <= output; i++) _nodes[i].Adjoint.AsSpan().Clear();
        if (!root.RequiresGrad) return;
        root.Adjoint[0] = T.One;
        for (var i = output; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Op == Op.Input || !node.RequiresGrad) continue;
            var a = _nodes[node.X];
            Kernels<T>.Backward(node.Op, a.Value, ValueOf(node.Y), node.Value, node.Constant, node.Index,
                node.Adjoint, a.Adjoint, AdjointOf(node.Y));
        }
    }

    /// <summary>The direction buffer of a grad-requiring input: write v here before <see cref="HessianVectorProduct"/>.</summary>
    public Span<T> Direction(int input)
    {
        var node = _nodes[input];
        if (node.Op != Op.Input || !node.RequiresGrad)
            throw new ArgumentException($"Node {input} is not an input that requires grad.", nameof(input));
        return node.Tangent ??= new T[node.Length];
    }

    /// <summary>After <see cref="HessianVectorProduct"/>: the rows of H·v that belong to this input.</summary>
    public ReadOnlySpan<T> HessianVectorProductOf(int input) => _nodes[input].AdjointTangent;

    /// <summary>
    /// Forward-over-reverse: propagates the input directions forward as tangents, then runs the backward
    /// sweep and its tangent together, so each input's adjoint tangent is its part of H·v, exactly.
    /// Leaves ordinary adjoints as <see cref="Backward"/> would.
    /// </summary>
    public void HessianVectorProduct(int output)
    {
        for (var i = 0; i <= output; i++)
        {
            var node = _nodes[i];
            if (!node.RequiresGrad) continue;
            node.Tangent ??= new T[node.Length];
            node.AdjointTangent ??= new T[node.Length];
            node.AdjointTangent.AsSpan().Clear();
            if (node.Op == Op.Input) continue;
            var a = _nodes[node.X];
            Kernels<T>.Tangent(node.Op, a.Value, ValueOf(node.Y), node.Value, node.Constant, node.Index,
                TangentOf(node.X), TangentOf(node.Y), node.Tangent);
        }
        Backward(output);
        for (var i = output; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Op == Op.Input || !node.RequiresGrad) continue;
            var a = _nodes[node.X];
            Kernels<T>.SecondBackward(node.Op, a.Value, ValueOf(node.Y), node.Value, node.Constant, node.Index,
                TangentOf(node.X), TangentOf(node.Y), node.Adjoint, node.AdjointTangent!,
                AdjointTangentOf(node.X), AdjointTangentOf(node.Y));
        }
    }

    /// <summary>The first node, in recording order, whose value holds a NaN or an infinity; -1 if none.</summary>
    public int FirstNonFiniteValue(int output)
    {
        for (var i = 0; i <= output; i++)
            if (!AllFinite(_nodes[i].Value)) return i;
        return -1;
    }

    /// <summary>
    /// The node whose derivative rule first produced a non-finite adjoint in the backward sweep: its own
    /// adjoint is finite, an input's is not. -1 if every adjoint is finite.
    /// </summary>
    public int FirstNonFiniteDerivative(int output)
    {
        for (var i = output; i >= 0; i--)
        {
            var node = _nodes[i];
            if (node.Op == Op.Input || !node.RequiresGrad || !AllFinite(node.Adjoint)) continue;
            if (!AllFinite(_nodes[node.X].Adjoint) || (node.Y >= 0 && !AllFinite(_nodes[node.Y].Adjoint))) return i;
        }
        return -1;
    }

    static bool AllFinite(ReadOnlySpan<T> values)
    {
        foreach (var v in values) if (!T.IsFinite(v)) return false;
        return true;
    }

    ReadOnlySpan<T> ValueOf(int id) => id >= 0 ? _nodes[id].Value : default;
    Span<T> AdjointOf(int id) => id >= 0 ? _nodes[id].Adjoint : default;
    ReadOnlySpan<T> TangentOf(int id) => id >= 0 && _nodes[id].RequiresGrad ? _nodes[id].Tangent : default;
    Span<T> AdjointTangentOf(int id) => id >= 0 && _nodes[id].RequiresGrad ? _nodes[id].AdjointTangent : default;
}
