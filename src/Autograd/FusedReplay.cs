using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;

namespace Autograd;

/// <summary>
/// Replays a tape whose long vectors (all of one length n) flow through elementwise ops into sum, mean or
/// dot, such as <c>mean((y - (b0 + b1*x))^2)</c>, one chunk of rows at a time. Intermediate vectors live in
/// chunk-sized scratch that stays in cache instead of in full-length buffers. When the loss is the reduction
/// itself, each chunk goes forward and straight back in one pass over the data, and long data is split
/// between two threads. The rules are those of <see cref="Kernels{T}"/>, applied to slices.
/// </summary>
internal sealed class FusedReplay<T> where T : IFloatingPointIeee754<T>
{
    const int MinimumLength = 64;
    const int ChunkLength = 2048;
    /// <summary>From this length on, the one-pass sweep splits the rows in two halves, one per thread.</summary>
    const int SplitLength = 1 << 17;
    /// <summary>
    /// A chain with a transcendental op (sin, exp, log, ...) costs several times more per row than arithmetic, so the
    /// halves pay for the second thread's hand-over from this length on.
    /// </summary>
    const int SplitLengthTranscendental = 1 << 15;

    enum Kind : byte { Scalar, VectorInput, Lane, Reduce, AfterReduce }

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Kind[] _kinds;
    readonly int[] _laneOf;
    readonly int[] _lanes;
    readonly int[] _reduces;
    readonly Tape<T>.Step[] _before;
    readonly Tape<T>.Step[] _after;
    readonly T[] _sums;
    readonly T[][] _vectorInputAdjoints;
    readonly int[] _scalarsWithGrad;
    /// <summary>The adjoints of <see cref="_scalarsWithGrad"/>, and the output node, read without the list's interface calls.</summary>
    readonly T[][] _scalarAdjoints;
    readonly TapeNode<T> _root;
    readonly int _length;
    readonly Worker[] _workers;

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
        _sums = new T[nodes.Count];
        _vectorInputAdjoints = nodes.Where((n, i) => kinds[i] == Kind.VectorInput && n.RequiresGrad).Select(n => n.Adjoint).ToArray();
        _scalarsWithGrad = Enumerable.Range(0, nodes.Count)
            .Where(i => kinds[i] is not (Kind.VectorInput or Kind.Lane) && nodes[i].RequiresGrad).ToArray();
        _scalarAdjoints = _scalarsWithGrad.Select(id => nodes[id].Adjoint).ToArray();
        _root = nodes[Output];
        var onePass = _reduces.Length == 1 && _reduces[0] == Output;
        var arithmetic = _lanes.All(id => CompiledRowSweep<T>.IsArithmetic(nodes[id]));
        var split = onePass && length >= (arithmetic ? SplitLength : SplitLengthTranscendental);
        _workers = [new Worker(this), .. split ? new[] { new Worker(this) } : []];
        _onePassOnOneThread = onePass && !split;
        _rowSweepVectorised = VectorRowSweep<T>.IsSupported && _lanes.All(id => VectorRowKernels<T>.Supports(nodes[id]));
        _rowSweepPossible = onePass && RuntimeFeature.IsDynamicCodeCompiled && _lanes.Length <= CompiledRowSweep<T>.MaxLanes
            && (arithmetic || _rowSweepVectorised);
    }

    /// <summary>
    /// A row sweep is compiled once the rows replayed so far cost about what compiling does (some milliseconds), and on
    /// the calling thread, so that a run switches to it at the same replay every time and reruns stay bit-identical.
    /// </summary>
    const long RowsBeforeCompiling = 1 << 22;
    bool _rowSweepPossible;
    /// <summary>The row sweep runs a <see cref="VectorRowSweep{T}"/> over whole groups of rows (the rest on the chunk kernels).</summary>
    readonly bool _rowSweepVectorised;
    long _rowsReplayed;
    CompiledRowSweep<T>.Sweep? _rowSweep;
    T[][] _rowSweepArrays = [];

    /// <summary>Whether the one-pass sweep now runs as a compiled loop over rows.</summary>
    public bool IsRowSweepCompiled => _rowSweep is not null;

    /// <summary>Compiles the row sweep now, if the tape allows one; false if not.</summary>
    public bool CompileRowSweep()
    {
        if (!_rowSweepPossible) return false;
        if (_rowSweep is not null) return true;
        try
        {
            var (sweep, arrays) = _rowSweepVectorised
                ? VectorRowSweep<T>.Compile(_nodes, _lanes, id => _kinds[id] == Kind.VectorInput, Output, _length)
                : CompiledRowSweep<T>.Compile(_nodes, _lanes, id => _kinds[id] == Kind.VectorInput, Output, _length);
            (_rowSweep, _rowSweepArrays) = (sweep, arrays);
            return true;
        }
        catch (Exception)
        {
            // A chain the compiler cannot take stays on the chunk kernels, which give the same answers.
            _rowSweepPossible = false;
            return false;
        }
    }

    public void ResetRowSweep()
    {
        (_rowSweep, _rowSweepArrays, _rowsReplayed) = (null, [], 0);
    }

    /// <summary>
    /// Rows replayed so far, which decide when the compiled row sweep takes over; setting it puts the replay where a
    /// tape with that history would be (compiled past <see cref="RowsBeforeCompiling"/>), so that a run resumed on a
    /// fresh tape switches loops at the same replay as the run it continues.
    /// </summary>
    public long RowsReplayed
    {
        get => _rowsReplayed;
        set
        {
            ResetRowSweep();
            _rowsReplayed = value;
            if (_rowSweepPossible && value >= RowsBeforeCompiling) CompileRowSweep();
        }
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
                // Chunks are independent only when each element depends on the same element of the operands.
                if (node.Op != Op.Input && !OpRegistry.Of(node.Op).IsElementwise) return null;
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
        if (_rowSweep is { } sweep && _onePassOnOneThread)
        {
            RunRowSweepHere(tape, sweep);
            return;
        }
        if (_rowSweepPossible && _rowSweep is null && (_rowsReplayed += _length) >= RowsBeforeCompiling) CompileRowSweep();
        tape.RunForward(_before);
        foreach (var adjoint in _scalarAdjoints) adjoint[0] = T.Zero;
        foreach (var adjoint in _vectorInputAdjoints) adjoint.AsSpan().Clear();
        if (_reduces.Length == 1 && _reduces[0] == Output) RunOnePass(tape);
        else RunTwoPasses(tape);
    }

    /// <summary>The one-pass sweep on the calling thread alone: <see cref="RunRowSweepHere"/> once the row sweep is compiled.</summary>
    readonly bool _onePassOnOneThread;

    /// <summary>
    /// <see cref="RunOnePass"/> with its one worker and the compiled row sweep, the same operations in the same order
    /// (so the same bits) without the general path's calls and loops, which are most of a short vector's cost. The
    /// worker's scalar adjoints need no clearing: the compiled sweep assigns every entry that the chunk kernels add
    /// the last rows' share to, and nothing writes the other entries.
    /// </summary>
    void RunRowSweepHere(Tape<T> tape, CompiledRowSweep<T>.Sweep sweep)
    {
        if (_before.Length > 0) tape.RunForward(_before);
        foreach (var adjoint in _vectorInputAdjoints) adjoint.AsSpan().Clear();
        var root = _root;
        var scalarAdjoints = _scalarAdjoints;
        if (!root.RequiresGrad) foreach (var adjoint in scalarAdjoints) adjoint[0] = T.Zero;
        else root.Adjoint[0] = T.One;
        var worker = _workers[0];
        var rows = _rowSweepVectorised ? _length / VectorRowSweep<T>.Width * VectorRowSweep<T>.Width : _length;
        var total = sweep(_rowSweepArrays, 0, rows, worker.ScalarAdjoints);
        var sum = T.Zero + (rows < _length ? total + worker.SweepChunks(root, rows, _length) : total);
        root.Value[0] = root.Op == Op.Mean ? sum / T.CreateChecked(_length) : sum;
        if (!root.RequiresGrad) return;
        // The general path zeroes these adjoints, sets the output's (the last) to 1 and adds the worker's share,
        // none for the output: zero plus the share gives the same bits.
        var (ids, shares) = (_scalarsWithGrad, worker.ScalarAdjoints);
        for (var k = 0; k < ids.Length - 1; k++) scalarAdjoints[k][0] = T.Zero + shares[ids[k]];
        if (_before.Length > 0) tape.RunBackward(_before, Output);
    }

    /// <summary>
    /// The loss is the reduction itself (mean(...), sum(...), dot(...)), so its adjoint is 1 before anything is
    /// computed: each chunk goes forward and straight back while it is in cache.
    /// </summary>
    void RunOnePass(Tape<T> tape)
    {
        var root = _root;
        if (root.RequiresGrad) root.Adjoint[0] = T.One;
        if (_workers.Length == 1) _workers[0].RunHere(0, _length);
        else
        {
            var half = _length / 2 / ChunkLength * ChunkLength;
            _workers[0].Prepare(0, half);
            _workers[1].Prepare(half, _length);
            ThreadPool.UnsafeQueueUserWorkItem(_workers[1], preferLocal: false);
            _workers[0].Execute();
            // If no pool thread has taken the second half yet, this thread runs it: a request thread never blocks on a
            // work item queued behind it, however busy the pool is.
            _workers[1].Execute();
            foreach (var worker in _workers) worker.WaitQuietly();
            foreach (var worker in _workers) worker.ThrowIfFailed();
        }

        var sum = T.Zero;
        foreach (var worker in _workers) sum += worker.Sum;
        root.Value[0] = root.Op == Op.Mean ? sum / T.CreateChecked(_length) : sum;
        if (!root.RequiresGrad) return;
        for (var k = 0; k < _scalarsWithGrad.Length; k++)
            foreach (var worker in _workers) _scalarAdjoints[k][0] += worker.ScalarAdjoints[_scalarsWithGrad[k]];
        tape.RunBackward(_before, Output);
    }

    /// <summary>Reductions feed further scalar ops: a forward pass for their values, then a backward pass that recomputes each chunk.</summary>
    void RunTwoPasses(Tape<T> tape)
    {
        var worker = _workers[0];
        foreach (var id in _reduces) _sums[id] = T.Zero;
        for (var start = 0; start < _length; start += ChunkLength)
        {
            var count = Math.Min(ChunkLength, _length - start);
            worker.ForwardLanes(start, count);
            foreach (var id in _reduces)
            {
                var node = _nodes[id];
                var x = worker.Values(node.X, start, count);
                _sums[id] += node.Op == Op.Dot ? TensorPrimitives.Dot(x, worker.Values(node.Y, start, count)) : TensorPrimitives.Sum(x);
            }
        }
        foreach (var id in _reduces)
            _nodes[id].Value[0] = _nodes[id].Op == Op.Mean ? _sums[id] / T.CreateChecked(_length) : _sums[id];
        tape.RunForward(_after);

        var root = _nodes[Output];
        if (!root.RequiresGrad) return;
        root.Adjoint[0] = T.One;
        tape.RunBackward(_after, Output);
        worker.ScalarAdjoints.AsSpan().Clear();
        for (var start = 0; start < _length; start += ChunkLength)
        {
            var count = Math.Min(ChunkLength, _length - start);
            worker.ForwardLanes(start, count);
            worker.ClearLaneAdjoints(count);
            foreach (var id in _reduces) worker.ReduceBackward(_nodes[id], start, count);
            worker.BackwardLanes(start, count);
        }
        foreach (var id in _scalarsWithGrad) _nodes[id].Adjoint[0] += worker.ScalarAdjoints[id];
        tape.RunBackward(_before, Output);
    }

    /// <summary>
    /// One thread's share of the rows, with its own scratch: lane values and adjoints for one chunk, and its own
    /// sums of scalar adjoints, added to the nodes' adjoints once every worker is done.
    /// </summary>
    sealed class Worker(FusedReplay<T> replay) : IThreadPoolWorkItem
    {
        readonly T[][] _laneValues = replay._lanes.Select(_ => new T[ChunkLength]).ToArray();
        readonly T[][] _laneAdjoints = replay._lanes.Select(_ => new T[ChunkLength]).ToArray();
        readonly DoneSignal _done = new();
        int _start, _end;
        Exception? _failure;

        public T[] ScalarAdjoints { get; } = new T[replay._nodes.Count];
        public T Sum { get; private set; } = T.Zero;

        int _claimed;

        public void Prepare(int start, int end)
        {
            // A work item queued by an earlier run and not yet started may claim these rows as soon as _claimed is 0,
            // so everything else is ready first.
            _done.Reset();
            (_start, _end, _failure) = (start, end, null);
            Volatile.Write(ref _claimed, 0);
        }

        /// <summary>Waits until the worker's rows are done, whichever thread ran them.</summary>
        public void WaitQuietly() => _done.Wait();

        /// <summary>An exception on the worker's thread is rethrown here rather than ending the process.</summary>
        public void ThrowIfFailed()
        {
            if (_failure is { } failure) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }

        /// <summary>The one-pass sweep over this worker's rows; only the first caller runs it, later ones return at once.</summary>
        public void Execute()
        {
            if (Interlocked.Exchange(ref _claimed, 1) != 0) return;
            try
            {
                SweepRows();
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

        /// <summary>All of the rows on the calling thread, without the hand-over a second thread needs.</summary>
        public void RunHere(int start, int end)
        {
            (_start, _end) = (start, end);
            SweepRows();
        }

        void SweepRows()
        {
            var root = replay._root;
            ScalarAdjoints.AsSpan().Clear();
            if (replay._rowSweep is { } sweep)
            {
                if (!replay._rowSweepVectorised)
                {
                    Sum = sweep(replay._rowSweepArrays, _start, _end, ScalarAdjoints);
                    return;
                }
                // Whole groups in the vector loop (a worker's first row is 0 or a multiple of the chunk, so the groups
                // and their accumulators are fixed by row index), the last few rows of the data on the chunk kernels.
                var groups = _start + (_end - _start) / VectorRowSweep<T>.Width * VectorRowSweep<T>.Width;
                var total = groups > _start ? sweep(replay._rowSweepArrays, _start, groups, ScalarAdjoints) : T.Zero;
                Sum = groups < _end ? total + SweepChunks(root, groups, _end) : total;
                return;
            }
            Sum = SweepChunks(root, _start, _end);
        }

        /// <summary>Rows [from, to) forward and back a chunk at a time; adds into the scalar adjoints, returns the reduction's sum.</summary>
        public T SweepChunks(TapeNode<T> root, int from, int to)
        {
            var sum = T.Zero;
            for (var start = from; start < to; start += ChunkLength)
            {
                var count = Math.Min(ChunkLength, to - start);
                ForwardLanes(start, count);
                var x = Values(root.X, start, count);
                sum += root.Op == Op.Dot ? TensorPrimitives.Dot(x, Values(root.Y, start, count)) : TensorPrimitives.Sum(x);
                if (!root.RequiresGrad) continue;
                ClearLaneAdjoints(count);
                ReduceBackward(root, start, count);
                BackwardLanes(start, count);
            }
            return sum;
        }

        public void ClearLaneAdjoints(int count)
        {
            foreach (var adjoint in _laneAdjoints) adjoint.AsSpan(0, count).Clear();
        }

        public void ForwardLanes(int start, int count)
        {
            var nodes = replay._nodes;
            for (var lane = 0; lane < _laneValues.Length; lane++)
            {
                var node = nodes[replay._lanes[lane]];
                Kernels<T>.Forward(node.Op, Values(node.X, start, count), Values(node.Y, start, count), node.Constant,
                    node.Index, _laneValues[lane].AsSpan(0, count));
            }
        }

        public void BackwardLanes(int start, int count)
        {
            var nodes = replay._nodes;
            for (var lane = _laneValues.Length - 1; lane >= 0; lane--)
            {
                var node = nodes[replay._lanes[lane]];
                if (!node.RequiresGrad) continue;
                Kernels<T>.Backward(node.Op, Values(node.X, start, count), Values(node.Y, start, count),
                    _laneValues[lane].AsSpan(0, count), node.Constant, node.Index, _laneAdjoints[lane].AsSpan(0, count),
                    Adjoints(node.X, start, count), Adjoints(node.Y, start, count));
            }
        }

        public void ReduceBackward(TapeNode<T> node, int start, int count)
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
            if (!target.IsEmpty) TensorPrimitives.Add(target, node.Op == Op.Mean ? g / T.CreateChecked(replay._length) : g, target);
        }

        public ReadOnlySpan<T> Values(int id, int start, int count) => id < 0 ? default : replay._kinds[id] switch
        {
            Kind.VectorInput => replay._nodes[id].Value.AsSpan(start, count),
            Kind.Lane => _laneValues[replay._laneOf[id]].AsSpan(0, count),
            _ => replay._nodes[id].Value,
        };

        Span<T> Adjoints(int id, int start, int count) => id < 0 || !replay._nodes[id].RequiresGrad ? default : replay._kinds[id] switch
        {
            Kind.VectorInput => replay._nodes[id].Adjoint.AsSpan(start, count),
            Kind.Lane => _laneAdjoints[replay._laneOf[id]].AsSpan(0, count),
            _ => ScalarAdjoints.AsSpan(id, 1),
        };
    }
}
