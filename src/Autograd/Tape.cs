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
    Step[]? _steps;

    /// <summary>
    /// One computed node, prepared for replay: its operands' arrays resolved, and whether every operand is a
    /// single number, in which case the sweeps use <see cref="ScalarKernels{T}"/> instead of span kernels.
    /// </summary>
    internal readonly record struct Step(int Id, Op Op, TapeNode<T> Node, T[] X, T[] Y, T[] GX, T[] GY, bool Scalar)
    {
        // Copied from the node so that the scalar sweeps read one struct, not the node as well.
        public T[] R { get; } = Node.Value;
        public T[] G { get; } = Node.Adjoint;
        public T C { get; } = Node.Constant;
        public bool RequiresGrad { get; } = Node.RequiresGrad;
    }

    static readonly T[] NoOperand = [T.Zero];
    T[][] _scalarAdjoints = [];
    T[][] _vectorAdjoints = [];
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

    /// <summary>Adds a matrix leaf of <paramref name="columns"/> columns, its values row-major.</summary>
    public int AddMatrix(T[] values, int columns, bool requiresGrad, string? name = null, SourceSpan span = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (columns < 1 || values.Length == 0 || values.Length % columns != 0)
            throw new ShapeException($"A matrix of {columns} column{(columns == 1 ? "" : "s")} cannot hold {values.Length} values.");
        var id = AddInput(values, false, requiresGrad, name, span);
        _nodes[id].Columns = columns;
        return id;
    }

    /// <summary>Adds a number written in the formula: a leaf that no caller overwrites, so a compiled replay may fold it in.</summary>
    internal int AddLiteral(T value, string? text, SourceSpan span)
    {
        _nodes.Add(new TapeNode<T>(Op.Input, -1, -1, T.Zero, 0, [value], true, false, span, text) { IsLiteral = true });
        return _nodes.Count - 1;
    }

    /// <summary>Records one op on earlier nodes and computes its value at once.</summary>
    public int Record(Op op, int x, int y = -1, T constant = default!, int index = 0, SourceSpan span = default)
    {
        var a = _nodes[x];
        var b = y >= 0 ? _nodes[y] : null;
        int length, columns = 0;
        bool isScalar;
        if (MatrixShapes.Applies(op, a, b))
        {
            // A vector broadcast over a matrix's rows first becomes a matrix itself (BroadcastRows), so that every
            // elementwise kernel sees operands of equal length or a single number.
            (x, y, index, length, isScalar, columns) = MatrixShapes.Result(this, op, x, y, index, span);
            a = _nodes[x];
            b = y >= 0 ? _nodes[y] : null;
        }
        else
        {
            var count = op == Op.Slice ? int.CreateSaturating(constant) : 0;
            (length, isScalar) = Shapes.Result(op, a.Length, a.IsScalar, b?.Length ?? 0, b?.IsScalar ?? true, index, count);
        }
        var requiresGrad = a.RequiresGrad || (b?.RequiresGrad ?? false);
        var node = new TapeNode<T>(op, x, y, constant ?? T.Zero, index, new T[length], isScalar, requiresGrad, span, null) { Columns = columns };
        Kernels<T>.Forward(op, a.Value, b is null ? default : b.Value, node.Constant, index, node.Value);
        _nodes.Add(node);
        _steps = null;
        return _nodes.Count - 1;
    }

    /// <summary>Forgets the prepared replay steps; call after an input node's array was replaced.</summary>
    internal void Invalidate() => _steps = null;

    Step[] Steps => _steps ??= Prepare();

    Step[] Prepare()
    {
        var steps = new List<Step>();
        for (var id = 0; id < _nodes.Count; id++)
        {
            var node = _nodes[id];
            if (node.Op == Op.Input) continue;
            var x = _nodes[node.X];
            var y = node.Y >= 0 ? _nodes[node.Y] : null;
            var scalar = node.Op != Op.Index && node.Length == 1 && x.Length == 1 && (y is null || y.Length == 1);
            // x ^ 2 is the commonest power; as Square it skips PowConstantRule's tests of the exponent.
            var op = node.Op == Op.PowConstant && node.Constant == T.CreateChecked(2) ? Op.Square : node.Op;
            steps.Add(new Step(id, op, node, x.Value, y?.Value ?? NoOperand, x.Adjoint, y?.Adjoint ?? [], scalar));
        }
        _scalarAdjoints = _nodes.Where(n => n.Adjoint.Length == 1).Select(n => n.Adjoint).ToArray();
        _vectorAdjoints = _nodes.Where(n => n.Adjoint.Length > 1).Select(n => n.Adjoint).ToArray();
        _fused = FusedReplay<T>.TryCreate(_nodes, steps);
        _rowBlocked = _fused is null ? RowBlockedReplay<T>.TryCreate(_nodes, steps) : null;
        Step[] prepared = [.. steps];
        _compiled = _fused is null && _rowBlocked is null ? CompiledScalarReplay<T>.TryCreate(_nodes, prepared) : null;
        _interpreter = _fused is null && _rowBlocked is null ? ScalarInterpreter<T>.TryCreate(_nodes, prepared) : null;
        return prepared;
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
        _steps = null;
        other._steps = null;
        other._nodes.Clear();
        other.Results.Clear();
        other.LeafNodes.Clear();
    }

    /// <summary>Recomputes every node from the current input values.</summary>
    public void Forward() => RunForward(Steps);

    /// <summary>
    /// Like <see cref="Forward"/> then <see cref="Backward"/>, but long elementwise chains run fused, chunk by
    /// chunk (<see cref="FusedReplay{T}"/>), and a tape of scalars replayed often runs as a compiled method
    /// (<see cref="CompiledScalarReplay{T}"/>). Afterwards only the inputs and the output are sure to hold their
    /// values and adjoints; intermediate nodes may be stale. For loops that need just the value and the gradient
    /// of the inputs; explain and diagnostics use the plain sweeps.
    /// </summary>
    public void ForwardBackwardFused(int output)
    {
        if (CompiledReplay(output) is { } replay) replay();
        else ForwardBackwardUncompiled(output);
    }

    /// <summary>Once the scalar replay of <paramref name="output"/> is compiled, the method (it returns the value); null before.</summary>
    internal Func<T>? CompiledReplay(int output) =>
        _steps is not null && _compiled is { } compiled && compiled.Output == output ? compiled.Replay : null;

    // Apart, so that the compiled path above stays small enough to inline.
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    void ForwardBackwardUncompiled(int output)
    {
        _ = Steps;
        if (_fused is not null && _fused.Output == output)
        {
            _fused.Run(this);
            return;
        }
        if (_rowBlocked is not null && _rowBlocked.Output == output)
        {
            _rowBlocked.Run(this);
            return;
        }
        if (_compiled is not null && _compiled.Output == output) _compiled.CountReplay();
        if (_interpreter is not null && _interpreter.Output == output)
        {
            _interpreter.Run();
            return;
        }
        Forward();
        Backward(output);
    }

    /// <summary>
    /// Once the scalar replay of <paramref name="output"/> is compiled, the method that sets the parameters (the inputs that
    /// require grad, in node order, flattened) to a point, replays as <see cref="ForwardBackwardFused"/> does and writes
    /// their gradient, with the copies inside the compiled method. Null before that, when the parameters are too many
    /// for it, or when they are more than <paramref name="length"/> elements (the point's and the gradient's).
    /// </summary>
    internal CompiledScalarReplay<T>.AtPoint? CompiledReplayAtPoint(int output, int length) =>
        _steps is not null && _compiled is { } compiled && compiled.Output == output && compiled.PointLength <= length ? compiled.ReplayAtPoint : null;

    /// <summary>
    /// Runs the compact interpreter <see cref="ForwardBackwardFused"/> uses before the compiled replay is ready, without
    /// counting towards compiling (benchmarks); false when the tape has none.
    /// </summary>
    internal bool RunScalarInterpreter(int output)
    {
        _ = Steps;
        if (_interpreter is null || _interpreter.Output != output) return false;
        _interpreter.Run();
        return true;
    }

    /// <summary>Compiles the scalar replay of <paramref name="output"/> now instead of after many replays; false when the tape does not allow one.</summary>
    internal bool CompileScalarReplay(int output)
    {
        _ = Steps;
        if (_compiled is null || _compiled.Output != output) return false;
        _compiled.CompileNow();
        return _compiled.IsCompiled;
    }

    /// <summary>Compiles the fused replay's loop over rows now instead of after many rows; false when the tape does not allow one.</summary>
    internal bool CompileRowSweep(int output)
    {
        _ = Steps;
        return _fused is not null && _fused.Output == output && _fused.CompileRowSweep();
    }

    internal bool IsRowSweepCompiled => _fused?.IsRowSweepCompiled ?? false;

    /// <summary>
    /// Forgets how many rows the fused replay has run and drops its compiled loop, so that the next user of a pooled
    /// tape switches to it at the same point as on a fresh one: the two loops round differently.
    /// </summary>
    internal void ResetRowSweep() => _fused?.ResetRowSweep();

    /// <summary>The fused replay's history (rows replayed), which decides when its loops switch; 0 without a fused replay.</summary>
    internal long ReplayHistory
    {
        get
        {
            _ = Steps;
            return _fused?.RowsReplayed ?? 0;
        }
        set
        {
            _ = Steps;
            if (_fused is not null) _fused.RowsReplayed = value;
        }
    }

    /// <summary>The compiled method the scalar replay runs, if any: copies of one formula share it.</summary>
    internal System.Reflection.MethodInfo? ScalarReplayMethod => _compiled?.CompiledMethod;

    /// <summary>Whether <see cref="ForwardBackwardFused"/> now runs a compiled method.</summary>
    internal bool IsScalarReplayCompiled => _compiled?.IsCompiled ?? false;

    FusedReplay<T>? _fused;
    RowBlockedReplay<T>? _rowBlocked;

    /// <summary>The row-blocked replay <see cref="ForwardBackwardFused"/> runs, if the tape's matrix ops allow one.</summary>
    internal RowBlockedReplay<T>? RowBlocked
    {
        get
        {
            _ = Steps;
            return _rowBlocked;
        }
    }
    CompiledScalarReplay<T>? _compiled;
    ScalarInterpreter<T>? _interpreter;

    /// <summary>The interpreter <see cref="ForwardBackwardFused"/> runs until the scalar replay is compiled, if any (tests).</summary>
    internal ScalarInterpreter<T>? Interpreter
    {
        get
        {
            _ = Steps;
            return _interpreter;
        }
    }

    internal void RunForward(ReadOnlySpan<Step> steps)
    {
        foreach (ref readonly var step in steps)
        {
            if (step.Scalar)
            {
                // The commonest ops inline; the rest go through the table.
                T x = step.X[0], y = step.Y[0];
                step.R[0] = step.Op switch
                {
                    Op.Add => AddRule.Value(x, y),
                    Op.Sub => SubRule.Value(x, y),
                    Op.Mul => MulRule.Value(x, y),
                    Op.Square => SquareRule.Value(x, step.C),
                    _ => ScalarKernels<T>.Forward(step.Op, x, y, step.C),
                };
            }
            else if (step.Op == Op.Index)
                step.R[0] = step.X[step.Node.Index];
            else
                Kernels<T>.Forward(step.Op, step.X, step.Y, step.C, step.Node.Index, step.R);
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
        ClearAdjoints();
        if (!root.RequiresGrad) return;
        root.Adjoint[0] = T.One;
        RunBackward(Steps, output);
    }

    internal void ClearAdjoints()
    {
        _ = Steps;
        foreach (var adjoint in _scalarAdjoints) adjoint[0] = T.Zero;
        foreach (var adjoint in _vectorAdjoints) adjoint.AsSpan().Clear();
    }

    internal void RunBackward(ReadOnlySpan<Step> steps, int output)
    {
        for (var s = steps.Length - 1; s >= 0; s--)
        {
            ref readonly var step = ref steps[s];
            if (step.Id > output || !step.RequiresGrad) continue;
            var g = step.G;
            if (step.Scalar)
            {
                T gr = g[0], x = step.X[0], y = step.Y[0], r = step.R[0];
                T[] gx = step.GX, gy = step.GY;
                // The commonest ops call their rules directly, so that the JIT inlines them; the rest go through the table.
                switch (step.Op)
                {
                    case Op.Add:
                        Accumulate<AddRule>(gx, gy, gr, x, y, r);
                        break;
                    case Op.Sub:
                        Accumulate<SubRule>(gx, gy, gr, x, y, r);
                        break;
                    case Op.Mul:
                        Accumulate<MulRule>(gx, gy, gr, x, y, r);
                        break;
                    case Op.Square:
                        if (gx.Length > 0) gx[0] += gr * SquareRule.Slope(x, r, step.C);
                        break;
                    default:
                        if (gx.Length > 0) gx[0] += gr * ScalarKernels<T>.DX(step.Op, x, y, r, step.C);
                        if (gy.Length > 0) gy[0] += gr * ScalarKernels<T>.DY(step.Op, x, y, r);
                        break;
                }
            }
            else if (step.Op == Op.Index)
            {
                if (step.GX.Length > 0) step.GX[step.Node.Index] += g[0];
            }
            else
            {
                Kernels<T>.Backward(step.Node.Op, step.X, step.Y, step.R, step.C, step.Node.Index, g, step.GX, step.GY);
            }
        }
    }

    static void Accumulate<TRule>(T[] gx, T[] gy, T g, T x, T y, T r) where TRule : IBinaryRule
    {
        if (gx.Length > 0) gx[0] += g * TRule.DX(x, y, r);
        if (gy.Length > 0) gy[0] += g * TRule.DY(x, y, r);
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
    ReadOnlySpan<T> TangentOf(int id) => id >= 0 && _nodes[id].RequiresGrad ? _nodes[id].Tangent : default;
    Span<T> AdjointTangentOf(int id) => id >= 0 && _nodes[id].RequiresGrad ? _nodes[id].AdjointTangent : default;
}
