using System.Linq.Expressions;
using System.Numerics;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Autograd;

/// <summary>
/// A tape of scalars (vector inputs read only element by element, as <c>x[1]</c>) turned into one
/// straight-line method: each node's value and adjoint is a local, so the forward and backward sweeps run
/// without dispatch on the op and without memory traffic beyond reading the inputs and writing the value and
/// the inputs' gradients. The method calls the same rules as the interpreter (<see cref="ScalarKernels{T}"/>)
/// in the same order, so its results are the interpreter's to the bit.
/// </summary>
/// <remarks>
/// Compiling costs about 2 ms for a small formula and 20-40 ms near <see cref="MaxSteps"/> (measured here), some
/// 40,000 replays' worth of interpreting. So <see cref="Tape{T}"/> compiles a tape only once it has been replayed
/// <see cref="CompileAfterReplays"/> times (a long run, or a formula a client keeps asking for), on a thread-pool
/// thread, and keeps interpreting until the method is ready.
/// </remarks>
internal sealed class CompiledScalarReplay<T> where T : IFloatingPointIeee754<T>
{
    public const int CompileAfterReplays = 2048;
    /// <summary>
    /// Larger tapes stay interpreted: past a few hundred nodes the method has so many locals that the JIT compiles
    /// it without optimising (measured here: 180 nodes replay 40x faster compiled, 900 nodes twice as slow).
    /// </summary>
    public const int MaxSteps = 200;

    static readonly MethodInfo ForwardRule = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.Forward))!;
    static readonly MethodInfo SlopeX = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.DX))!;
    static readonly MethodInfo SlopeY = typeof(ScalarKernels<T>).GetMethod(nameof(ScalarKernels<T>.DY))!;
    static readonly MethodInfo AccumulateRule = typeof(CompiledScalarReplay<T>).GetMethod(nameof(Accumulate), BindingFlags.NonPublic | BindingFlags.Static)!;
    static readonly MethodInfo LoadElement = typeof(CompiledScalarReplay<T>).GetMethod(nameof(Load), BindingFlags.NonPublic | BindingFlags.Static)!;
    static readonly MethodInfo StoreElement = typeof(CompiledScalarReplay<T>).GetMethod(nameof(Store), BindingFlags.NonPublic | BindingFlags.Static)!;

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Tape<T>.Step[] _steps;
    int _replays;
    int _compiling;
    volatile Method? _method;

    /// <summary>
    /// The compiled method and the arrays it reads and writes, handed to it as its argument: as constants of
    /// its closure, each would cost a cast.
    /// </summary>
    sealed record Method(Run Run, T[][] Arrays);

    /// <summary>
    /// The compiled forward and backward sweep. With <paramref name="fromPoint"/> it first copies the parameters from
    /// <paramref name="point"/> into their input arrays and at the end writes the gradient to <paramref name="gradient"/>
    /// as well as to the inputs' adjoints (the objective's copy in and copy out, done in the method itself); otherwise
    /// it reads the inputs as they are and neither reference is touched.
    /// </summary>
    internal delegate T Run(T[][] arrays, ref T point, ref T gradient, bool fromPoint);

    /// <summary>
    /// The parameters (the inputs that require grad, in node order, all their elements) that the method copies in
    /// from a point: past this many elements it does not, and the objective copies them itself.
    /// </summary>
    public const int MaxPointElements = 64;

    CompiledScalarReplay(IReadOnlyList<TapeNode<T>> nodes, Tape<T>.Step[] steps, int output)
    {
        // Copies, so that a compilation in the background never reads a tape that is being extended.
        _nodes = [.. nodes];
        _steps = [.. steps];
        Output = output;
        var parameters = 0L;
        foreach (var node in _nodes) if (IsParameter(node)) parameters += node.Length;
        PointLength = parameters <= MaxPointElements ? (int)parameters : -1;
    }

    static bool IsParameter(TapeNode<T> node) => node.Op == Op.Input && node.RequiresGrad && !node.IsLiteral;

    /// <summary>The node whose value and gradient the compiled method computes.</summary>
    public int Output { get; }

    /// <summary>True once the compiled method is ready; until then the tape is interpreted.</summary>
    public bool IsCompiled => _method is not null;

    /// <summary>Runs the compiled method: forward and backward, the output's value and the inputs' adjoints written.</summary>
    public bool TryReplay()
    {
        var method = _method;
        if (method is null) return false;
        method.Run(method.Arrays, ref Unsafe.NullRef<T>(), ref Unsafe.NullRef<T>(), false);
        return true;
    }

    /// <summary>
    /// The parameters' elements flattened in node order (the point <see cref="TryReplay(ReadOnlySpan{T}, Span{T}, out T)"/>
    /// takes), or -1 when there are more than <see cref="MaxPointElements"/>.
    /// </summary>
    public int PointLength { get; }

    /// <summary>
    /// Sets the parameters to <paramref name="point"/>, runs the compiled method and writes the gradient to
    /// <paramref name="gradient"/>: what <see cref="TryReplay()"/> does between copying the point in and the gradient
    /// out, with the copies inside the method. False (nothing done) until compiled or when the spans are too short.
    /// </summary>
    public bool TryReplay(ReadOnlySpan<T> point, Span<T> gradient, out T value)
    {
        var method = _method;
        if (method is null || PointLength < 0 || point.Length < PointLength || gradient.Length < PointLength)
        {
            value = default!;
            return false;
        }
        value = method.Run(method.Arrays, ref MemoryMarshal.GetReference(point), ref MemoryMarshal.GetReference(gradient), true);
        return true;
    }

    /// <summary>A compilable replay of <paramref name="nodes"/> up to the last one, or null when the tape holds computed vectors or is too long.</summary>
    public static CompiledScalarReplay<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, Tape<T>.Step[] steps)
    {
        // Without a JIT (native AOT) expression trees are interpreted, which is slower than the tape's own interpreter.
        if (!RuntimeFeature.IsDynamicCodeCompiled) return null;
        if (nodes.Count == 0 || nodes[^1].Length != 1 || steps.Length > MaxSteps) return null;
        foreach (ref readonly var step in steps.AsSpan())
        {
            if (step.Node.Length != 1) return null;
            var readsElement = step.Op == Op.Index && nodes[step.Node.X].Op == Op.Input;
            if (!step.Scalar && !readsElement) return null;
        }
        return new CompiledScalarReplay<T>(nodes, steps, nodes.Count - 1);
    }

    /// <summary>Counts an interpreted replay; the one that reaches the threshold starts compiling in the background.</summary>
    public void CountReplay()
    {
        if (_replays >= CompileAfterReplays || ++_replays < CompileAfterReplays) return;
        if (Interlocked.Exchange(ref _compiling, 1) == 0)
            ThreadPool.UnsafeQueueUserWorkItem(static self => self.TryCompile(), this, preferLocal: false);
    }

    /// <summary>Compiles on the calling thread, unless already done.</summary>
    public void CompileNow()
    {
        _compiling = 1;
        _method ??= Build();
    }

    void TryCompile()
    {
        try
        {
            _method = Build();
        }
        catch (Exception)
        {
            // A tape the compiler cannot take stays interpreted; the interpreter's answers are the same.
        }
    }

    Method Build()
    {
        var arraysUsed = new List<T[]>();
        var state = Expression.Parameter(typeof(T[][]), "arrays");
        var point = Expression.Parameter(typeof(T).MakeByRefType(), "point");
        var gradient = Expression.Parameter(typeof(T).MakeByRefType(), "gradient");
        var fromPoint = Expression.Parameter(typeof(bool), "fromPoint");
        var statements = new List<Expression>();
        var locals = new List<ParameterExpression>();
        var values = new Expression?[_nodes.Count];
        var arrays = new ParameterExpression?[_nodes.Count];
        var adjointArrays = new ParameterExpression?[_nodes.Count];
        var adjoints = new ParameterExpression?[_nodes.Count];
        var elementAdjoints = new Dictionary<(int Node, int Element), ParameterExpression>();
        var zero = Expression.Constant(T.Zero, typeof(T));

        ParameterExpression Local(Type type, string name)
        {
            var local = Expression.Variable(type, name);
            locals.Add(local);
            return local;
        }

        // Only the inputs and vector elements the steps read get locals. The adjoint of an element nothing reads is
        // never written by any sweep, so it stays zero without being written here.
        var read = new HashSet<int> { Output };
        var indexed = new SortedSet<(int Node, int Element)>();
        foreach (var step in _steps)
        {
            if (step.Id > Output) break;
            if (step.Op == Op.Index) indexed.Add((step.Node.X, step.Node.Index));
            else
            {
                read.Add(step.Node.X);
                if (step.Node.Y >= 0) read.Add(step.Node.Y);
            }
        }
        if (PointLength >= 0)
        {
            var copyIn = new List<Expression>();
            var offset = 0;
            foreach (var node in _nodes.Where(IsParameter))
            {
                var target = Local(typeof(T[]), $"point{offset}");
                copyIn.Add(Expression.Assign(target, ArrayArgument(node.Value)));
                for (var k = 0; k < node.Length; k++)
                    copyIn.Add(Expression.Assign(Expression.ArrayAccess(target, Expression.Constant(k)),
                        Expression.Call(LoadElement, point, Expression.Constant(offset++))));
            }
            if (copyIn.Count > 0) statements.Add(Expression.IfThen(fromPoint, Expression.Block(copyIn)));
        }
        for (var id = 0; id <= Output; id++)
        {
            var node = _nodes[id];
            var elements = indexed.GetViewBetween((id, 0), (id, int.MaxValue));
            if (node.Op != Op.Input || (!read.Contains(id) && elements.Count == 0)) continue;
            if (node.IsLiteral)
            {
                values[id] = Expression.Constant(node.Value[0], typeof(T));
                continue;
            }
            arrays[id] = Local(typeof(T[]), $"input{id}");
            statements.Add(Expression.Assign(arrays[id]!, ArrayArgument(node.Value)));
            if (read.Contains(id))
            {
                var value = Local(typeof(T), $"v{id}");
                values[id] = value;
                statements.Add(Expression.Assign(value, Expression.ArrayIndex(arrays[id]!, Expression.Constant(0))));
            }
            if (!node.RequiresGrad) continue;
            adjointArrays[id] = Local(typeof(T[]), $"adjoint{id}");
            statements.Add(Expression.Assign(adjointArrays[id]!, ArrayArgument(node.Adjoint)));
            foreach (var k in elements.Select(e => e.Element).Append(read.Contains(id) ? 0 : -1).Where(k => k >= 0).Distinct())
            {
                var element = elementAdjoints[(id, k)] = Local(typeof(T), $"g{id}_{k}");
                statements.Add(Expression.Assign(element, zero));
            }
            if (read.Contains(id)) adjoints[id] = elementAdjoints[(id, 0)];
        }

        foreach (var step in _steps)
        {
            if (step.Id > Output) break;
            var node = step.Node;
            var value = Local(typeof(T), $"v{step.Id}");
            values[step.Id] = value;
            Expression computed = step.Op == Op.Index
                ? Expression.ArrayIndex(arrays[node.X]!, Expression.Constant(node.Index))
                : Expression.Call(ForwardRule, Expression.Constant(step.Op), values[node.X]!,
                    node.Y >= 0 ? values[node.Y]! : zero, Expression.Constant(step.C, typeof(T)));
            statements.Add(Expression.Assign(value, computed));
            if (node.RequiresGrad)
            {
                adjoints[step.Id] = Local(typeof(T), $"g{step.Id}");
                statements.Add(Expression.Assign(adjoints[step.Id]!, zero));
            }
        }
        statements.Add(Expression.Assign(Expression.ArrayAccess(ArrayArgument(_nodes[Output].Value), Expression.Constant(0)), values[Output]!));

        if (_nodes[Output].RequiresGrad)
        {
            statements.Add(Expression.Assign(adjoints[Output]!, Expression.Constant(T.One, typeof(T))));
            for (var s = _steps.Length - 1; s >= 0; s--)
            {
                var step = _steps[s];
                var node = step.Node;
                if (step.Id > Output || !node.RequiresGrad) continue;
                var g = adjoints[step.Id]!;
                if (step.Op == Op.Index)
                {
                    var element = elementAdjoints[(node.X, node.Index)];
                    statements.Add(Expression.Assign(element, Expression.Add(element, g)));
                    continue;
                }
                var x = values[node.X]!;
                Expression y = node.Y >= 0 ? values[node.Y]! : zero;
                var r = values[step.Id]!;
                var op = Expression.Constant(step.Op);
                if (adjoints[node.X] is { } gx)
                    statements.Add(Expression.Assign(gx, Expression.Call(AccumulateRule, gx, g,
                        Expression.Call(SlopeX, op, x, y, r, Expression.Constant(step.C, typeof(T))))));
                if (node.Y >= 0 && adjoints[node.Y] is { } gy)
                    statements.Add(Expression.Assign(gy, Expression.Call(AccumulateRule, gy, g, Expression.Call(SlopeY, op, x, y, r))));
            }
        }

        foreach (var ((id, k), element) in elementAdjoints)
            statements.Add(Expression.Assign(Expression.ArrayAccess(adjointArrays[id]!, Expression.Constant(k)), element));
        if (PointLength >= 0)
        {
            // The gradient as the objective copied it from the adjoints: an element nothing reads has adjoint zero.
            var copyOut = new List<Expression>();
            var offset = 0;
            for (var id = 0; id < _nodes.Count; id++)
            {
                if (!IsParameter(_nodes[id])) continue;
                for (var k = 0; k < _nodes[id].Length; k++)
                    copyOut.Add(Expression.Call(StoreElement, gradient, Expression.Constant(offset++),
                        elementAdjoints.TryGetValue((id, k), out var element) ? element : zero));
            }
            if (copyOut.Count > 0) statements.Add(Expression.IfThen(fromPoint, Expression.Block(copyOut)));
        }
        statements.Add(values[Output]!);
        var lambda = Expression.Lambda<Run>(Expression.Block(typeof(T), locals, statements), state, point, gradient, fromPoint);
        var signature = Signature();
        if (!SharedMethods.TryGetValue(signature, out var run))
            run = SharedMethods.Count < MaxSharedMethods ? SharedMethods.GetOrAdd(signature, _ => lambda.Compile()) : lambda.Compile();
        return new Method(run, [.. arraysUsed]);

        Expression ArrayArgument(T[] array)
        {
            arraysUsed.Add(array);
            return Expression.ArrayIndex(state, Expression.Constant(arraysUsed.Count - 1));
        }
    }

    /// <summary>
    /// Everything the generated code depends on, node by node: op, operands, element index, exponent, whether it
    /// requires grad, and a literal's value. Copies of one formula (a pool holds up to 16 per formula) have the same
    /// signature, and the method takes its arrays as an argument, so one compiled method serves them all.
    /// </summary>
    string Signature()
    {
        var ops = new Op[Output + 1];
        for (var id = 0; id <= Output; id++) ops[id] = _nodes[id].Op;
        foreach (var step in _steps) if (step.Id <= Output) ops[step.Id] = step.Op;
        var signature = new System.Text.StringBuilder();
        for (var id = 0; id <= Output; id++)
        {
            var node = _nodes[id];
            signature.Append((int)ops[id]).Append(',').Append(node.X).Append(',').Append(node.Y).Append(',').Append(node.Index)
                .Append(',').Append(node.RequiresGrad ? 'g' : '-').Append(node.IsLiteral ? 'l' : '-')
                .Append(',').Append(Bits(node.Constant)).Append(',').Append(node.IsLiteral ? Bits(node.Value[0]) : "")
                .Append(',').Append(node.Op == Op.Input ? node.Length : 1).Append(';');
        }
        return signature.ToString();

        static string Bits(T value) => double.CreateTruncating(value) is var d && double.IsNaN(d) ? "NaN" : BitConverter.DoubleToInt64Bits(d).ToString("x");
    }

    const int MaxSharedMethods = 1024;
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Run> SharedMethods = new();

    /// <summary>The compiled method, for tests that check copies share it; null while interpreted.</summary>
    internal Run? CompiledMethod => _method?.Run;

    /// <summary>The interpreter's <c>adjoint += g * slope</c>, as one call so that both round alike.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Accumulate(T adjoint, T g, T slope) => adjoint + g * slope;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Load(ref T point, int index) => Unsafe.Add(ref point, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(ref T gradient, int index, T value) => Unsafe.Add(ref gradient, index) = value;
}
