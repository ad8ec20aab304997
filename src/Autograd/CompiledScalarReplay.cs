using System.Numerics;
using System.Reflection;
using System.Reflection.Emit;
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
    static readonly MethodInfo AddRule = typeof(CompiledScalarReplay<T>).GetMethod(nameof(Add), BindingFlags.NonPublic | BindingFlags.Static)!;

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Tape<T>.Step[] _steps;
    int _replays;
    int _compiling;
    volatile Func<T>? _replay;
    AtPoint? _atPoint;
    MethodInfo? _sharedMethod;

    /// <summary>
    /// The compiled sweeps from a point, bound to the arrays they read and write: copies the parameters from
    /// <paramref name="point"/> into their input arrays, replays, and writes the gradient to <paramref name="gradient"/>
    /// as well as to the inputs' adjoints (the objective's copy in and copy out, done in the method itself). The plain
    /// replay (a <see cref="Func{T}"/>) is the same method without the copies: two methods, so that neither branches.
    /// </summary>
    internal delegate T AtPoint(ref T point, ref T gradient);

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
    public bool IsCompiled => _replay is not null;

    /// <summary>The compiled method, once ready: forward and backward, the output's value and the inputs' adjoints written, the value returned.</summary>
    public Func<T>? Replay => _replay;

    /// <summary>
    /// The parameters' elements flattened in node order (the point <see cref="ReplayAtPoint"/> takes), or -1 when there are more than <see cref="MaxPointElements"/>.
    /// </summary>
    public int PointLength { get; }

    /// <summary>
    /// The compiled method from a point, once ready and when the parameters are at most <see cref="MaxPointElements"/>:
    /// sets them to the point's first <see cref="PointLength"/> elements, replays as <see cref="Replay"/> does and writes
    /// their gradient to as many elements of the gradient.
    /// </summary>
    public AtPoint? ReplayAtPoint => _atPoint;

    /// <summary>A compilable replay of <paramref name="nodes"/> up to the last one, or null when the tape holds computed vectors or is too long.</summary>
    public static CompiledScalarReplay<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, Tape<T>.Step[] steps)
    {
        // Without a JIT (native AOT) there is no emitted code to run; the tape's own interpreter serves.
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
        if (_replay is null) Publish();
    }

    void TryCompile()
    {
        try
        {
            Publish();
        }
        catch (Exception)
        {
            // A tape the compiler cannot take stays interpreted; the interpreter's answers are the same.
        }
    }

    /// <summary>
    /// Emits both methods (the JIT compiles each on its first call, so a tape only ever replayed from a point never
    /// compiles the other) and publishes them, the plain replay last.
    /// </summary>
    void Publish()
    {
        var signature = Signature();
        if (PointLength >= 0)
        {
            var (method, arrays) = Build(atPoint: true);
            _atPoint = (AtPoint)Shared(signature + "point", method).CreateDelegate(typeof(AtPoint), arrays);
        }
        var (replay, replayArrays) = Build(atPoint: false);
        var shared = Shared(signature, replay);
        _sharedMethod = shared;
        _replay = (Func<T>)shared.CreateDelegate(typeof(Func<T>), replayArrays);
    }

    /// <summary>The method that copies of this formula share (the first one compiled), or this one if it is the first.</summary>
    static DynamicMethod Shared(string signature, DynamicMethod method) =>
        SharedMethods.TryGetValue(signature, out var shared) ? shared
        : SharedMethods.Count < MaxSharedMethods ? SharedMethods.GetOrAdd(signature, method) : method;

    /// <summary>
    /// Emits the plain replay or the replay from a point (IL, so that it reads its arrays without bounds checks: every
    /// slot and element index below is checked here, once), with the arrays it is to be bound to.
    /// </summary>
    (DynamicMethod Method, T[][] Arrays) Build(bool atPoint)
    {
        var method = new DynamicMethod(atPoint ? "ScalarReplayAtPoint" : "ScalarReplay", typeof(T),
            atPoint ? [typeof(T[][]), typeof(T).MakeByRefType(), typeof(T).MakeByRefType()] : [typeof(T[][])],
            typeof(CompiledScalarReplay<T>).Module, skipVisibility: true);
        var il = method.GetILGenerator();
        // The arrays the method reads and writes, each at a slot fixed by the tape's shape alone (never shared between
        // nodes, even if two inputs were bound to one array), so that copies of a formula can share the method.
        var arrays = new List<T[]>();
        var slots = new Dictionary<(int Node, bool Adjoint), int>();
        var values = new Action?[_nodes.Count];
        var adjoints = new LocalBuilder?[_nodes.Count];
        var elementValues = new Dictionary<(int Node, int Element), LocalBuilder>();
        var elementAdjoints = new Dictionary<(int Node, int Element), LocalBuilder>();

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
        for (var id = 0; id <= Output; id++)
        {
            var node = _nodes[id];
            var elements = indexed.GetViewBetween((id, 0), (id, int.MaxValue)).Select(e => e.Element).ToList();
            if (read.Contains(id) && !elements.Contains(0)) elements.Insert(0, 0);
            if (node.Op != Op.Input || elements.Count == 0) continue;
            if (node.IsLiteral)
            {
                var literal = node.Value[0];
                values[id] = () => Constant(literal);
                continue;
            }
            foreach (var k in elements)
            {
                elementValues[(id, k)] = il.DeclareLocal(typeof(T));
                if (node.RequiresGrad) elementAdjoints[(id, k)] = Zeroed();
            }
            if (!read.Contains(id)) continue;
            var value = elementValues[(id, 0)];
            values[id] = () => il.Emit(OpCodes.Ldloc, value);
            if (node.RequiresGrad) adjoints[id] = elementAdjoints[(id, 0)];
        }

        // The inputs' elements into locals; from a point the parameters' come from the point and are stored in their
        // arrays on the way (all of them, read or not, as the objective's copy did).
        foreach (var ((id, k), local) in elementValues)
            if (!atPoint || !IsParameter(_nodes[id])) LoadInto(id, k, local);
        if (atPoint)
        {
            var offset = 0;
            for (var id = 0; id < _nodes.Count; id++)
            {
                if (!IsParameter(_nodes[id])) continue;
                for (var k = 0; k < _nodes[id].Length; k++, offset++)
                {
                    // Read before the array is touched, so that the JIT can fold the array's null check into the store.
                    if (!elementValues.TryGetValue((id, k), out var local)) local = il.DeclareLocal(typeof(T));
                    il.Emit(OpCodes.Ldarg_1);
                    il.Emit(OpCodes.Ldc_I4, offset);
                    il.Emit(OpCodes.Call, LoadElement);
                    il.Emit(OpCodes.Stloc, local);
                    ElementReference(id, false, k);
                    il.Emit(OpCodes.Ldloc, local);
                    il.Emit(OpCodes.Stobj, typeof(T));
                }
            }
        }

        foreach (var step in _steps)
        {
            if (step.Id > Output) break;
            var node = step.Node;
            if (step.Op == Op.Index)
            {
                // An element read is the local loaded above (a literal's, the number itself).
                if (elementValues.TryGetValue((node.X, node.Index), out var element)) values[step.Id] = () => il.Emit(OpCodes.Ldloc, element);
                else
                {
                    var literal = _nodes[node.X].Value[node.Index];
                    values[step.Id] = () => Constant(literal);
                }
            }
            else
            {
                var value = il.DeclareLocal(typeof(T));
                il.Emit(OpCodes.Ldc_I4, (int)step.Op);
                values[node.X]!();
                Operand(node.Y);
                Constant(step.C);
                il.Emit(OpCodes.Call, ForwardRule);
                il.Emit(OpCodes.Stloc, value);
                values[step.Id] = () => il.Emit(OpCodes.Ldloc, value);
            }
            if (node.RequiresGrad) adjoints[step.Id] = Zeroed();
        }
        ElementReference(Output, false, 0);
        values[Output]!();
        il.Emit(OpCodes.Stobj, typeof(T));

        if (_nodes[Output].RequiresGrad)
        {
            var untouched = elementAdjoints.Values.ToHashSet();
            Constant(T.One);
            il.Emit(OpCodes.Stloc, adjoints[Output]!);
            for (var s = _steps.Length - 1; s >= 0; s--)
            {
                var step = _steps[s];
                var node = step.Node;
                if (step.Id > Output || !node.RequiresGrad) continue;
                var g = adjoints[step.Id]!;
                if (step.Op == Op.Index)
                {
                    // The interpreter adds g to the element's adjoint. The first time, that adjoint is +0, and 0 + g is g
                    // to the bit: an adjoint is never -0 (it starts at +0, then 0 + a is not -0, and a sum is -0 only when
                    // both terms are), and a NaN stays the same NaN. So the first time, the add is left out.
                    var element = elementAdjoints[(node.X, node.Index)];
                    if (untouched.Remove(element)) il.Emit(OpCodes.Ldloc, g);
                    else
                    {
                        il.Emit(OpCodes.Ldloc, element);
                        il.Emit(OpCodes.Ldloc, g);
                        il.Emit(OpCodes.Call, AddRule);
                    }
                    il.Emit(OpCodes.Stloc, element);
                    continue;
                }
                if (adjoints[node.X] is { } gx)
                {
                    il.Emit(OpCodes.Ldloc, gx);
                    il.Emit(OpCodes.Ldloc, g);
                    il.Emit(OpCodes.Ldc_I4, (int)step.Op);
                    values[node.X]!();
                    Operand(node.Y);
                    values[step.Id]!();
                    Constant(step.C);
                    il.Emit(OpCodes.Call, SlopeX);
                    il.Emit(OpCodes.Call, AccumulateRule);
                    il.Emit(OpCodes.Stloc, gx);
                }
                if (node.Y >= 0 && adjoints[node.Y] is { } gy)
                {
                    il.Emit(OpCodes.Ldloc, gy);
                    il.Emit(OpCodes.Ldloc, g);
                    il.Emit(OpCodes.Ldc_I4, (int)step.Op);
                    values[node.X]!();
                    values[node.Y]!();
                    values[step.Id]!();
                    il.Emit(OpCodes.Call, SlopeY);
                    il.Emit(OpCodes.Call, AccumulateRule);
                    il.Emit(OpCodes.Stloc, gy);
                }
            }
        }

        foreach (var ((id, k), element) in elementAdjoints)
        {
            ElementReference(id, true, k);
            il.Emit(OpCodes.Ldloc, element);
            il.Emit(OpCodes.Stobj, typeof(T));
        }
        if (atPoint)
        {
            // The gradient as the objective copied it from the adjoints: an element nothing reads has adjoint zero.
            var offset = 0;
            for (var id = 0; id < _nodes.Count; id++)
            {
                if (!IsParameter(_nodes[id])) continue;
                for (var k = 0; k < _nodes[id].Length; k++, offset++)
                {
                    il.Emit(OpCodes.Ldarg_2);
                    il.Emit(OpCodes.Ldc_I4, offset);
                    if (elementAdjoints.TryGetValue((id, k), out var element)) il.Emit(OpCodes.Ldloc, element);
                    else Constant(T.Zero);
                    il.Emit(OpCodes.Call, StoreElement);
                }
            }
        }
        values[Output]!();
        il.Emit(OpCodes.Ret);
        return (method, arrays.ToArray());

        LocalBuilder Zeroed()
        {
            var local = il.DeclareLocal(typeof(T));
            Constant(T.Zero);
            il.Emit(OpCodes.Stloc, local);
            return local;
        }

        void Operand(int id)
        {
            if (id >= 0) values[id]!();
            else Constant(T.Zero);
        }

        void LoadInto(int id, int k, LocalBuilder local)
        {
            ElementReference(id, false, k);
            il.Emit(OpCodes.Ldobj, typeof(T));
            il.Emit(OpCodes.Stloc, local);
        }

        // Pushes a reference to element k of a node's value or adjoint array.
        void ElementReference(int id, bool adjoint, int k)
        {
            var array = adjoint ? _nodes[id].Adjoint : _nodes[id].Value;
            if ((uint)k >= (uint)array.Length) throw new InvalidOperationException($"Node {id} has no element {k}.");
            if (!slots.TryGetValue((id, adjoint), out var slot))
            {
                slots[(id, adjoint)] = slot = arrays.Count;
                arrays.Add(array);
            }
            ArrayElement(slot, k);
        }

        void ArrayElement(int slot, int k)
        {
            il.Emit(OpCodes.Ldarg_0);
            il.Emit(OpCodes.Ldc_I4, slot);
            il.Emit(OpCodes.Call, ArrayAtSlot);
            il.Emit(OpCodes.Ldc_I4, k);
            il.Emit(OpCodes.Call, ElementOf);
        }

        // double and float numbers are written into the code; any other type's are read from an array of their own.
        void Constant(T value)
        {
            if (typeof(T) == typeof(double)) il.Emit(OpCodes.Ldc_R8, (double)(object)value);
            else if (typeof(T) == typeof(float)) il.Emit(OpCodes.Ldc_R4, (float)(object)value);
            else
            {
                arrays.Add([value]);
                ArrayElement(arrays.Count - 1, 0);
                il.Emit(OpCodes.Ldobj, typeof(T));
            }
        }
    }

    /// <summary>
    /// Everything the generated code depends on, node by node: op, operands, element index, exponent, whether it
    /// requires grad, and a literal's value. Copies of one formula (a pool holds up to 16 per formula) have the same
    /// signature, and each binds the method to its own arrays, so one compiled method serves them all.
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
    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, DynamicMethod> SharedMethods = new();

    /// <summary>The compiled method, for tests that check copies share it; null while interpreted.</summary>
    internal MethodInfo? CompiledMethod => _replay is null ? null : _sharedMethod;

    /// <summary>The interpreter's <c>adjoint += g * slope</c>, as one call so that both round alike.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Accumulate(T adjoint, T g, T slope) => adjoint + g * slope;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Add(T adjoint, T g) => adjoint + g;

    // The compiled methods reach an array's elements without bounds checks (their slots and indices are checked when
    // emitted) and, where the runtime lays arrays out as RawArray says (64-bit), without null checks either: the JIT
    // folds those into the first access of a field, but not into MemoryMarshal.GetArrayDataReference.
    internal static readonly bool ArraysAreRaw = RawArraysWork();
    static readonly MethodInfo ArrayAtSlot = Helper(ArraysAreRaw ? nameof(RawArrayAt) : nameof(ArrayAt));
    static readonly MethodInfo ElementOf = Helper(ArraysAreRaw ? nameof(RawElementAt) : nameof(ElementAt));

    static MethodInfo Helper(string name) => typeof(CompiledScalarReplay<T>).GetMethod(name, BindingFlags.NonPublic | BindingFlags.Static)!;

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T[] ArrayAt(T[][] arrays, int slot) => Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(arrays), slot);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref T ElementAt(T[] array, int index) => ref Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(array), index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T[] RawArrayAt(T[][] arrays, int slot) => Unsafe.Add(ref Unsafe.As<byte, T[]>(ref Unsafe.As<RawArray>(arrays).Data), slot);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static ref T RawElementAt(T[] array, int index) => ref Unsafe.Add(ref Unsafe.As<byte, T>(ref Unsafe.As<RawArray>(array).Data), index);

    /// <summary>An array as the runtime lays it out on 64-bit: its length, padding, then the elements.</summary>
    [StructLayout(LayoutKind.Sequential)]
    sealed class RawArray
    {
        public uint Length;
        public uint Padding;
        public byte Data;
    }

    static bool RawArraysWork()
    {
        T[] values = [T.One, T.Zero];
        T[][] arrays = [values, []];
        return Unsafe.AreSame(ref RawElementAt(values, 1), ref values[1]) && ReferenceEquals(RawArrayAt(arrays, 0), values)
            && ReferenceEquals(RawArrayAt(arrays, 1), arrays[1]);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Load(ref T point, int index) => Unsafe.Add(ref point, index);

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Store(ref T gradient, int index, T value) => Unsafe.Add(ref gradient, index) = value;
}
