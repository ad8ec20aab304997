using System.Numerics;
using System.Numerics.Tensors;

namespace Autograd;

/// <summary>
/// Replays a tape over n rows whose matrix ops are row-local, such as
/// <c>mean((y - (relu(cbind(x1, x2) %*% W1 + b1) %*% w2 + b2))^2)</c>, one block of rows at a time: each block goes
/// forward and straight back while its intermediates (a few rows of each n x k node) are in cache, instead of
/// materialising every n x k node. Row-local means: elementwise ops (a scalar broadcasts), a row node times a matrix or
/// vector that does not depend on the rows (X %*% W), a vector broadcast over the rows (the b1 of <c>A + b1</c>),
/// cbind and rowSums/rowMeans; the loss is sum or mean of a row node. Everything that does not depend on the rows
/// (parameters, and ops on them only) is computed once before the blocks and differentiated once after them.
/// <para>
/// The blocks are fixed by row index (<see cref="BlockRows"/> rows each, from the widest row node), and the gradient of
/// a node that does not depend on the rows (W1, b1, a scalar) is the sum of the blocks' parts in row order, so reruns,
/// warm and cold tapes and the one- and two-thread runs give the same bits. That sum is ordered differently from the
/// plain sweeps' whole-column sums, so the last bits may differ from <see cref="Tape{T}.Backward"/>'s.
/// </para>
/// </summary>
internal sealed class RowBlockedReplay<T> where T : IFloatingPointIeee754<T>
{
    const int MinimumRows = 64;
    /// <summary>Elements of the widest row node in one block: 32 KB of doubles, so a block's working set stays in L2.</summary>
    const int BlockElements = 4096;
    /// <summary>From this many row-node elements per replay (rows times summed widths), the rows are split between two threads.</summary>
    const long SplitElements = 1 << 20;

    enum Kind : byte { Outer, RowInput, Row, Reduce, After }

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Kind[] _kinds;
    readonly int[] _width;
    readonly int[] _slot;
    readonly int[] _accumulatorSlot;
    readonly Tape<T>.Step[] _rowSteps;
    readonly Tape<T>.Step[] _before;
    readonly Tape<T>.Step[] _after;
    readonly int _reduce;
    readonly int[] _rowInputsWithGrad;
    readonly int[] _biasBroadcast;
    readonly bool[] _unused;
    readonly int[] _accumulated;
    readonly int[] _cleared;
    readonly int _rows;
    readonly Worker[] _workers;

    public int Output { get; }

    /// <summary>Rows in one block; the last block of a worker's share may be shorter.</summary>
    public int BlockRows { get; }

    /// <summary>How many workers share the rows (1 or 2); fixed by the tape's shape, not by the threads available.</summary>
    public int Workers => _workers.Length;

    RowBlockedReplay(IReadOnlyList<TapeNode<T>> nodes, Kind[] kinds, int[] width, IReadOnlyList<Tape<T>.Step> steps, int rows, int reduce)
    {
        _reduce = reduce;
        _after = steps.Where(s => kinds[s.Id] == Kind.After).ToArray();
        _rowInputsWithGrad = Enumerable.Range(0, nodes.Count).Where(id => kinds[id] == Kind.RowInput && nodes[id].RequiresGrad).ToArray();
        _nodes = nodes;
        _kinds = kinds;
        _width = width;
        _rows = rows;
        Output = nodes.Count - 1;
        _rowSteps = steps.Where(s => kinds[s.Id] == Kind.Row).ToArray();
        _before = steps.Where(s => kinds[s.Id] == Kind.Outer).ToArray();
        _slot = new int[nodes.Count];
        for (var i = 0; i < _rowSteps.Length; i++) _slot[_rowSteps[i].Id] = i;
        // Nodes outside the rows that a row op sends gradient to: each worker sums its blocks' parts for them.
        _accumulated = Enumerable.Range(0, nodes.Count)
            .Where(id => kinds[id] == Kind.Outer && nodes[id].RequiresGrad && _rowSteps.Any(s => s.Node.X == id || s.Node.Y == id))
            .ToArray();
        _accumulatorSlot = new int[nodes.Count];
        for (var i = 0; i < _accumulated.Length; i++) _accumulatorSlot[_accumulated[i]] = i;
        _cleared = Enumerable.Range(0, nodes.Count)
            .Where(id => kinds[id] is Kind.Outer or Kind.RowInput or Kind.Reduce or Kind.After && nodes[id].RequiresGrad).ToArray();
        // A vector broadcast over the rows and added once (the b1 of A + b1) is added row by row instead of materialised.
        _biasBroadcast = _rowSteps.Select(s => BroadcastAddedOnce(nodes, kinds, s.Node)).ToArray();
        _unused = _rowSteps.Select(s => _biasBroadcast.Contains(s.Id)).ToArray();
        var widest = _rowSteps.Max(s => width[s.Id]);
        BlockRows = Math.Clamp(BlockElements / widest, 8, 2048);
        var elements = (long)rows * _rowSteps.Sum(s => width[s.Id]);
        _workers = [new Worker(this), .. elements >= SplitElements ? new[] { new Worker(this) } : []];
    }

    /// <summary>A row-blocked replay of the tape, or null when its shape does not allow one.</summary>
    public static RowBlockedReplay<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, IReadOnlyList<Tape<T>.Step> steps)
    {
        if (nodes.Count == 0 || nodes[^1].Length != 1) return null;
        // The rows are those of the longest input; an input with that many rows is data (or a parameter) per row.
        var rows = nodes.Where(n => n.Op == Op.Input && !n.IsScalar).Select(n => n.Rows).DefaultIfEmpty(0).Max();
        if (rows < MinimumRows) return null;
        var kinds = new Kind[nodes.Count];
        var width = new int[nodes.Count];
        var reduce = -1;
        for (var id = 0; id < nodes.Count; id++)
        {
            var node = nodes[id];
            if (node.Op == Op.Input)
            {
                var perRow = !node.IsScalar && node.Rows == rows;
                kinds[id] = perRow ? Kind.RowInput : Kind.Outer;
                width[id] = perRow ? Math.Max(node.Columns, 1) : 0;
                continue;
            }
            var x = nodes[node.X];
            var y = node.Y >= 0 ? nodes[node.Y] : null;
            bool xRow = kinds[node.X] is Kind.RowInput or Kind.Row, yRow = node.Y >= 0 && kinds[node.Y] is Kind.RowInput or Kind.Row;
            if (kinds[node.X] is Kind.Reduce or Kind.After || (node.Y >= 0 && kinds[node.Y] is Kind.Reduce or Kind.After))
            {
                // Scalar ops on the loss's one reduction over the rows, such as sum(...) / 1000.
                if (xRow || yRow || node.Length != 1 || (y is not null && y.Length != 1)) return null;
                kinds[id] = Kind.After;
                continue;
            }
            if (node.Op == Op.BroadcastRows && !xRow && node.Rows == rows)
            {
                (kinds[id], width[id]) = (Kind.Row, x.Length);
                continue;
            }
            if (!xRow && !yRow)
            {
                kinds[id] = Kind.Outer;
                continue;
            }
            if (node.Op is Op.Sum or Op.Mean && reduce < 0)
            {
                (kinds[id], reduce) = (Kind.Reduce, id);
                continue;
            }
            var w = RowWidth(node, x, y, xRow, yRow, width[node.X], y is null ? 0 : width[node.Y]);
            if (w <= 0 || node.Length != (long)rows * w) return null;
            (kinds[id], width[id]) = (Kind.Row, w);
        }
        if (kinds[^1] is not (Kind.Reduce or Kind.After)) return null;
        // A tape of elementwise ops only is FusedReplay's; this replay is for the ones with a matrix op across the rows.
        return steps.Any(s => kinds[s.Id] == Kind.Row && !OpRegistry.Of(s.Node.Op).IsElementwise)
            ? new RowBlockedReplay<T>(nodes, kinds, width, steps, rows, reduce)
            : null;
    }

    /// <summary>
    /// For x + broadcast(b) or broadcast(b) + x where that broadcast feeds nothing else: the broadcast's node, whose
    /// vector b is then added to each row; otherwise -1.
    /// </summary>
    static int BroadcastAddedOnce(IReadOnlyList<TapeNode<T>> nodes, Kind[] kinds, TapeNode<T> node)
    {
        if (node.Op != Op.Add || node.Y < 0) return -1;
        foreach (var side in new[] { node.Y, node.X })
        {
            var operand = nodes[side];
            var other = side == node.Y ? node.X : node.Y;
            if (operand.Op != Op.BroadcastRows || kinds[operand.X] != Kind.Outer || other == side) continue;
            var uses = 0;
            foreach (var n in nodes) uses += (n.X == side ? 1 : 0) + (n.Y == side ? 1 : 0);
            if (uses == 1) return side;
        }
        return -1;
    }

    /// <summary>The columns per row of a row-local op's result, or 0 when the op is not row-local.</summary>
    static int RowWidth(TapeNode<T> node, TapeNode<T> x, TapeNode<T>? y, bool xRow, bool yRow, int xWidth, int yWidth)
    {
        if (OpRegistry.Of(node.Op).IsElementwise)
        {
            // A scalar broadcasts; anything else that does not depend on the rows would not be row-local.
            if (xRow && yRow) return xWidth == yWidth ? xWidth : 0;
            var other = xRow ? y : x;
            return other is null || other.Length == 1 ? (xRow ? xWidth : yWidth) : 0;
        }
        switch (node.Op)
        {
            case Op.MatMul when xRow && !yRow && x.IsMatrix && xWidth == node.Index:
                return y!.IsMatrix ? y.Columns : 1;
            case Op.Cbind when xRow && yRow && node.Index == xWidth:
                return xWidth + yWidth;
            case Op.RowSums or Op.RowMeans when xRow && x.IsMatrix && node.Index == xWidth:
                return 1;
            default:
                return 0;
        }
    }

    public void Run(Tape<T> tape)
    {
        tape.RunForward(_before);
        foreach (var id in _cleared)
        {
            var adjoint = _nodes[id].Adjoint;
            if (adjoint.Length == 1) adjoint[0] = T.Zero;
            else adjoint.AsSpan().Clear();
        }

        // The split is at a block boundary fixed by the row count, so the blocks are the same with one worker or two.
        var blocks = (_rows + BlockRows - 1) / BlockRows;
        var half = _workers.Length == 1 ? _rows : Math.Min(_rows, (blocks + 1) / 2 * BlockRows);
        _workers[0].Prepare(0, half);
        if (_workers.Length == 2)
        {
            _workers[1].Prepare(half, _rows);
            ThreadPool.UnsafeQueueUserWorkItem(_workers[1], preferLocal: false);
        }
        _workers[0].Execute();
        // If no pool thread has taken the second share yet, this thread runs it: a request thread never blocks on a
        // work item queued behind it.
        if (_workers.Length == 2) _workers[1].Execute();
        foreach (var worker in _workers) worker.WaitQuietly();
        foreach (var worker in _workers) worker.ThrowIfFailed();

        var reduce = _nodes[_reduce];
        var sum = T.Zero;
        foreach (var worker in _workers) sum += worker.Sum;
        reduce.Value[0] = reduce.Op == Op.Mean ? sum / T.CreateChecked(_nodes[reduce.X].Length) : sum;
        tape.RunForward(_after);
        var root = _nodes[Output];
        if (!root.RequiresGrad) return;
        root.Adjoint[0] = T.One;
        tape.RunBackward(_after, Output);
        // The blocks went back from d(reduction) = 1; the ops after it scale that by d(loss)/d(reduction).
        var scale = reduce.Adjoint[0];
        for (var i = 0; i < _accumulated.Length; i++)
        {
            var adjoint = _nodes[_accumulated[i]].Adjoint;
            foreach (var worker in _workers)
                if (scale == T.One) TensorPrimitives.Add(adjoint, worker.Accumulators[i], adjoint);
                else TensorPrimitives.MultiplyAdd(worker.Accumulators[i], scale, adjoint, adjoint);
        }
        if (scale != T.One)
            foreach (var id in _rowInputsWithGrad) TensorPrimitives.Multiply(_nodes[id].Adjoint, scale, _nodes[id].Adjoint);
        tape.RunBackward(_before, Output);
    }

    /// <summary>
    /// One thread's share of the rows, with its own scratch (a block of each row node's values and adjoints) and its own
    /// sums of the gradients of the nodes outside the rows, added to theirs once every worker is done.
    /// </summary>
    sealed class Worker : IThreadPoolWorkItem
    {
        readonly RowBlockedReplay<T> _replay;
        readonly T[][] _values;
        readonly T[][] _adjoints;
        readonly DoneSignal _done = new();
        int _start, _end, _claimed;
        Exception? _failure;

        public Worker(RowBlockedReplay<T> replay)
        {
            _replay = replay;
            _values = replay._rowSteps.Select((s, i) => replay._unused[i] ? [] : new T[replay.BlockRows * replay._width[s.Id]]).ToArray();
            _adjoints = replay._rowSteps.Select((s, i) => s.RequiresGrad && !replay._unused[i] ? new T[replay.BlockRows * replay._width[s.Id]] : []).ToArray();
            Accumulators = replay._accumulated.Select(id => new T[replay._nodes[id].Length]).ToArray();
        }

        public T[][] Accumulators { get; }
        public T Sum { get; private set; } = T.Zero;

        public void Prepare(int start, int end)
        {
            _done.Reset();
            (_start, _end, _failure) = (start, end, null);
            Volatile.Write(ref _claimed, 0);
        }

        public void WaitQuietly() => _done.Wait();

        public void ThrowIfFailed()
        {
            if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        /// <summary>The worker's blocks, forward and back; only the first caller runs them, later ones return at once.</summary>
        public void Execute()
        {
            if (Interlocked.Exchange(ref _claimed, 1) != 0) return;
            try
            {
                foreach (var accumulator in Accumulators) accumulator.AsSpan().Clear();
                var reduce = _replay._nodes[_replay._reduce];
                var sum = T.Zero;
                for (var start = _start; start < _end; start += _replay.BlockRows)
                {
                    var count = Math.Min(_replay.BlockRows, _end - start);
                    Forward(start, count);
                    sum += TensorPrimitives.Sum(Values(reduce.X, start, count));
                    if (!reduce.RequiresGrad) continue;
                    Backward(reduce, start, count);
                }
                Sum = sum;
            }
            catch (Exception e)
            {
                _failure = e;
            }
            finally
            {
                _done.Set();
            }
        }

        void Forward(int start, int count)
        {
            var steps = _replay._rowSteps;
            for (var i = 0; i < steps.Length; i++)
            {
                if (_replay._unused[i]) continue;
                ref readonly var step = ref steps[i];
                var node = step.Node;
                var result = _values[i].AsSpan(0, count * _replay._width[step.Id]);
                if (_replay._biasBroadcast[i] is var broadcast and >= 0)
                {
                    ReadOnlySpan<T> values = _replay._nodes[_replay._nodes[broadcast].X].Value, rows = Values(Other(node, broadcast), start, count);
                    for (var row = 0; row < result.Length; row += values.Length)
                        RowOps<T>.Add(rows.Slice(row, values.Length), values, result.Slice(row, values.Length));
                    continue;
                }
                Kernels<T>.Forward(step.Op, Values(node.X, start, count), Values(node.Y, start, count), step.C, node.Index, result);
            }
        }

        /// <summary>The block's part of the gradient of the reduction (not yet of the loss, which may be a function of it).</summary>
        void Backward(TapeNode<T> reduce, int start, int count)
        {
            var steps = _replay._rowSteps;
            for (var i = 0; i < steps.Length; i++)
                if (steps[i].RequiresGrad && !_replay._unused[i]) _adjoints[i].AsSpan(0, count * _replay._width[steps[i].Id]).Clear();
            var seed = Adjoints(reduce.X, start, count);
            if (!seed.IsEmpty) TensorPrimitives.Add(seed, reduce.Op == Op.Mean ? T.One / T.CreateChecked(_replay._nodes[reduce.X].Length) : T.One, seed);
            for (var i = steps.Length - 1; i >= 0; i--)
            {
                ref readonly var step = ref steps[i];
                if (!step.RequiresGrad || _replay._unused[i]) continue;
                var node = step.Node;
                var length = count * _replay._width[step.Id];
                if (_replay._biasBroadcast[i] is var broadcast and >= 0)
                {
                    var g = _adjoints[i].AsSpan(0, length);
                    var rows = Adjoints(Other(node, broadcast), start, count);
                    if (!rows.IsEmpty) TensorPrimitives.Add(rows, g, rows);
                    var bias = _replay._nodes[broadcast].X;
                    if (_replay._nodes[bias].RequiresGrad)
                    {
                        var target = Accumulators[_replay._accumulatorSlot[bias]];
                        for (var row = 0; row < length; row += target.Length) RowOps<T>.Add(g.Slice(row, target.Length), target);
                    }
                    continue;
                }
                Kernels<T>.Backward(node.Op, Values(node.X, start, count), Values(node.Y, start, count), _values[i].AsSpan(0, length),
                    step.C, node.Index, _adjoints[i].AsSpan(0, length), Adjoints(node.X, start, count), Adjoints(node.Y, start, count));
            }
        }

        /// <summary>The operand of a bias add that is not the broadcast.</summary>
        static int Other(TapeNode<T> node, int broadcast) => node.Y == broadcast ? node.X : node.Y;

        ReadOnlySpan<T> Values(int id, int start, int count) => id < 0 ? default : _replay._kinds[id] switch
        {
            Kind.RowInput => _replay._nodes[id].Value.AsSpan(start * _replay._width[id], count * _replay._width[id]),
            Kind.Row => _values[_replay._slot[id]].AsSpan(0, count * _replay._width[id]),
            _ => _replay._nodes[id].Value,
        };

        Span<T> Adjoints(int id, int start, int count) => id < 0 || !_replay._nodes[id].RequiresGrad ? default : _replay._kinds[id] switch
        {
            Kind.RowInput => _replay._nodes[id].Adjoint.AsSpan(start * _replay._width[id], count * _replay._width[id]),
            Kind.Row => _adjoints[_replay._slot[id]].AsSpan(0, count * _replay._width[id]),
            _ => Accumulators[_replay._accumulatorSlot[id]],
        };
    }
}
