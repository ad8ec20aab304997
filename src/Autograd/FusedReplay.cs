using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// Replays a tape whose long vectors (all of one length n) flow through elementwise ops into sum, mean or
/// dot, such as <c>mean((y - (b0 + b1*x))^2)</c>, one chunk of rows at a time. Intermediate vectors live in
/// chunk-sized scratch that stays in cache instead of in full-length buffers, so a sweep reads the data
/// columns once; the backward sweep recomputes each chunk's forward values rather than storing them.
/// The rules are those of <see cref="Kernels{T}"/>, applied to slices.
/// </summary>
internal sealed class FusedReplay<T> where T : IFloatingPointIeee754<T>
{
    const int MinimumLength = 4096;
    const int ChunkLength = 4096;

    enum Kind : byte { Scalar, VectorInput, Lane, Reduce, AfterReduce }

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Kind[] _kinds;
    readonly int[] _laneOf;
    readonly int[] _lanes;
    readonly int[] _reduces;
    readonly Tape<T>.Step[] _before;
    readonly Tape<T>.Step[] _after;
    readonly T[][] _laneValues;
    readonly T[][] _laneAdjoints;
    readonly T[] _sums;
    readonly T[][] _vectorInputAdjoints;
    readonly T[][] _scalarAdjoints;
    readonly int _length;

    FusedReplay(IReadOnlyList<TapeNode<T>> nodes, Kind[] kinds, Tape<T>.Step[] steps, int length)
    {
        _nodes = nodes;
        _kinds = kinds;
        _length = length;
        Output = nodes.Count - 1;
        _lanes = Enumerable.Range(0, nodes.Count).Where(i => kinds[i] == Kind.Lane).ToArray();
        _reduces = Enumerable.Range(0, nodes.Count).Where(i => kinds[i] == Kind.Reduce).ToArray();
        _laneOf = new int[nodes.Count];
        for (var lane = 0; lane < _lanes.Length; lane++) _laneOf[_lanes[lane]] = lane;
        _before = steps.Where(s => kinds[s.Id] == Kind.Scalar).ToArray();
        _after = steps.Where(s => kinds[s.Id] == Kind.AfterReduce).ToArray();
        _laneValues = _lanes.Select(_ => new T[ChunkLength]).ToArray();
        _laneAdjoints = _lanes.Select(_ => new T[ChunkLength]).ToArray();
        _sums = new T[nodes.Count];
        _vectorInputAdjoints = nodes.Where((n, i) => kinds[i] == Kind.VectorInput && n.RequiresGrad).Select(n => n.Adjoint).ToArray();
        _scalarAdjoints = nodes.Where((n, i) => kinds[i] != Kind.VectorInput && kinds[i] != Kind.Lane && n.RequiresGrad).Select(n => n.Adjoint).ToArray();
    }

    public int Output { get; }

    /// <summary>A fused replay of the tape, or null when its shape does not allow one.</summary>
    public static FusedReplay<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, IReadOnlyList<Tape<T>.Step> steps)
    {
        if (nodes.Count == 0 || nodes[^1].Length != 1) return null;
        var length = nodes.Max(n => n.Length);
        if (length < MinimumLength) return null;
        var kinds = new Kind[nodes.Count];
        for (var id = 0; id < nodes.Count; id++)
        {
            var node = nodes[id];
            var operands = node.Op == Op.Input ? [] : node.Y >= 0 ? new[] { node.X, node.Y } : [node.X];
            var vectorOperand = operands.Any(o => kinds[o] is Kind.Lane or Kind.VectorInput);
            var laneOperand = operands.Any(o => kinds[o] == Kind.Lane);
            if (node.Length > 1 || !node.IsScalar)
            {
                if (node.Length != length || operands.Any(o => kinds[o] is Kind.Reduce or Kind.AfterReduce)) return null;
                kinds[id] = node.Op == Op.Input ? Kind.VectorInput : Kind.Lane;
            }
            else if (laneOperand)
            {
                if (node.Op is not (Op.Sum or Op.Mean or Op.Dot) || !operands.All(o => kinds[o] is Kind.Lane or Kind.VectorInput)) return null;
                kinds[id] = Kind.Reduce;
            }
            else
            {
                kinds[id] = operands.Any(o => kinds[o] is Kind.Reduce or Kind.AfterReduce) ? Kind.AfterReduce : Kind.Scalar;
                if (vectorOperand && kinds[id] == Kind.AfterReduce) return null;
            }
        }
        return kinds.Contains(Kind.Lane) ? new FusedReplay<T>(nodes, kinds, [.. steps], length) : null;
    }

    public void Run(Tape<T> tape)
    {
        tape.RunForward(_before);
        foreach (var id in _reduces) _sums[id] = T.Zero;
        for (var start = 0; start < _length; start += ChunkLength)
        {
            var count = Math.Min(ChunkLength, _length - start);
            ForwardLanes(start, count);
            foreach (var id in _reduces)
            {
                var node = _nodes[id];
                var x = Values(node.X, start, count);
                _sums[id] += node.Op == Op.Dot ? TensorPrimitives.Dot(x, Values(node.Y, start, count)) : TensorPrimitives.Sum(x);
            }
        }
        foreach (var id in _reduces)
            _nodes[id].Value[0] = _nodes[id].Op == Op.Mean ? _sums[id] / T.CreateChecked(_length) : _sums[id];
        tape.RunForward(_after);

        foreach (var adjoint in _scalarAdjoints) adjoint[0] = T.Zero;
        foreach (var adjoint in _vectorInputAdjoints) adjoint.AsSpan().Clear();
        var root = _nodes[Output];
        if (!root.RequiresGrad) return;
        root.Adjoint[0] = T.One;
        tape.RunBackward(_after, Output);
        for (var start = 0; start < _length; start += ChunkLength)
        {
            var count = Math.Min(ChunkLength, _length - start);
            ForwardLanes(start, count);
            foreach (var adjoint in _laneAdjoints) adjoint.AsSpan(0, count).Clear();
            foreach (var id in _reduces) ReduceBackward(_nodes[id], start, count);
            for (var lane = _lanes.Length - 1; lane >= 0; lane--)
            {
                var node = _nodes[_lanes[lane]];
                if (!node.RequiresGrad) continue;
                Kernels<T>.Backward(node.Op, Values(node.X, start, count), Values(node.Y, start, count),
                    _laneValues[lane].AsSpan(0, count), node.Constant, node.Index, _laneAdjoints[lane].AsSpan(0, count),
                    Adjoints(node.X, start, count), Adjoints(node.Y, start, count));
            }
        }
        tape.RunBackward(_before, Output);
    }

    void ForwardLanes(int start, int count)
    {
        for (var lane = 0; lane < _lanes.Length; lane++)
        {
            var node = _nodes[_lanes[lane]];
            Kernels<T>.Forward(node.Op, Values(node.X, start, count), Values(node.Y, start, count), node.Constant,
                node.Index, _laneValues[lane].AsSpan(0, count));
        }
    }

    void ReduceBackward(TapeNode<T> node, int start, int count)
    {
        if (!node.RequiresGrad) return;
        var g = node.Adjoint[0];
        if (node.Op == Op.Dot)
        {
            var gx = Adjoints(node.X, start, count);
            var gy = Adjoints(node.Y, start, count);
            if (!gx.IsEmpty) TensorPrimitives.MultiplyAdd(Values(node.Y, start, count), g, gx, gx);
            if (!gy.IsEmpty) TensorPrimitives.MultiplyAdd(Values(node.X, start, count), g, gy, gy);
            return;
        }
        var target = Adjoints(node.X, start, count);
        if (!target.IsEmpty) TensorPrimitives.Add(target, node.Op == Op.Mean ? g / T.CreateChecked(_length) : g, target);
    }

    ReadOnlySpan<T> Values(int id, int start, int count) => id < 0 ? default : _kinds[id] switch
    {
        Kind.VectorInput => _nodes[id].Value.AsSpan(start, count),
        Kind.Lane => _laneValues[_laneOf[id]].AsSpan(0, count),
        _ => _nodes[id].Value,
    };

    Span<T> Adjoints(int id, int start, int count) => id < 0 || !_nodes[id].RequiresGrad ? default : _kinds[id] switch
    {
        Kind.VectorInput => _nodes[id].Adjoint.AsSpan(start, count),
        Kind.Lane => _laneAdjoints[_laneOf[id]].AsSpan(0, count),
        _ => _nodes[id].Adjoint,
    };
}
