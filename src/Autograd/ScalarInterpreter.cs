using System.Diagnostics;
using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Autograd;

/// <summary>
/// The replay of a tape of scalars (vector inputs read only element by element, as <c>x[1]</c>) before it is compiled
/// (<see cref="CompiledScalarReplay{T}"/>), and for tapes too long to compile: a loop over a compact instruction array
/// whose operands are slots of one flat array of values and adjoints, instead of every node's own arrays. It applies
/// the same rules (<see cref="ScalarKernels{T}"/>) in the same order as the node-by-node sweeps, so its results are
/// theirs to the bit. Like the compiled replay it leaves only the output's value and the inputs' adjoints current on
/// the tape.
/// </summary>
/// <remarks>
/// What makes it fast: two consecutive steps among +, -, * and ^2 where the second reads the first (<c>0.2*x^2</c>,
/// <c>(x - c)^2</c>, <c>a*b + c</c>) are one instruction, the first's result and adjoint passed on in a register;
/// an element read by a single <c>x[i]</c> is that node's slot, with no instruction at all; an operand that takes no
/// gradient (a literal, data) gets no adjoint work; and no adjoint is cleared: the first contribution to each is
/// written (as 0 + it, the sweeps' bits), the later ones added. The instructions are made on the first replay, not
/// when the tape is prepared, so that a formula evaluated once (by the node-by-node sweeps) never pays for them.
/// </remarks>
internal sealed class ScalarInterpreter<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>
    /// What an instruction does: one step (<see cref="Other"/> any op through <see cref="ScalarKernels{T}"/>,
    /// <see cref="Copy"/> an element read by more than one step), or two steps, the first's result an operand of the second.
    /// </summary>
    enum Code : byte
    {
        Add, Sub, Mul, Square, Copy, Other,
        AddAdd, AddSub, AddMul, AddSquare,
        SubAdd, SubSub, SubMul, SubSquare,
        MulAdd, MulSub, MulMul, MulSquare,
        SquareAdd, SquareSub, SquareMul, SquareSquare,
    }

    /// <summary>What the backward sweep does with an operand's adjoint: nothing (it takes none), set it (the first contribution of the sweep) or add to it.</summary>
    enum AdjointWrite : byte { None, Set, Add }

    /// <summary>
    /// One instruction. The (first) step computes slot <see cref="R"/> from slots <see cref="X"/> and <see cref="Y"/>
    /// (a one-operand op reads the zero slot as Y); of two steps, the second computes slot <see cref="S"/> from R and
    /// slot <see cref="Z"/>, R its first operand when <see cref="FirstIsX"/>. GX, GY and GZ say what the backward sweep
    /// writes to those operands' adjoints.
    /// </summary>
    struct Instruction
    {
        public Code Code;
        public Op Op;
        public AdjointWrite GX, GY, GZ;
        public bool FirstIsX;
        public int X, Y, R, Z, S;
        public T C;
    }

    /// <summary>Copies an input value into its slot before the sweep (an element: Index of the array).</summary>
    readonly record struct Load(T[] Values, int Index, int Slot);

    /// <param name="Slots">The values of every slot, then their adjoints (from <paramref name="SlotCount"/> on).</param>
    /// <param name="Gradients">The adjoints written back after the sweep: <see cref="Load.Values"/> is the input's adjoint array.</param>
    /// <param name="VectorAdjoints">Adjoints of vectors read by element, cleared before their read elements are written.</param>
    sealed record Program(Instruction[] Forward, Instruction[] Backward, T[] Slots, int SlotCount, Load[] Loads, Load[] Gradients,
        T[][] VectorAdjoints, int Output, T[] OutputValue, bool OutputRequiresGrad);

    readonly IReadOnlyList<TapeNode<T>> _nodes;
    readonly Tape<T>.Step[] _steps;
    Program? _program;

    ScalarInterpreter(IReadOnlyList<TapeNode<T>> nodes, Tape<T>.Step[] steps)
    {
        _nodes = nodes;
        _steps = steps;
        Output = nodes.Count - 1;
    }

    /// <summary>The node whose value and gradient the replay computes: the tape's last.</summary>
    public int Output { get; }

    /// <summary>How many instructions the forward sweep runs; 0 before the first <see cref="Run"/> (tests).</summary>
    internal int ForwardInstructions => _program?.Forward.Length ?? 0;

    /// <summary>
    /// An interpreter for <paramref name="nodes"/> up to the last one, or null when a step computes or reads a whole vector.
    /// Cheap: the instructions are made on the first <see cref="Run"/>, from these nodes and steps, which the tape
    /// replaces (and this interpreter with them) whenever it changes.
    /// </summary>
    public static ScalarInterpreter<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, Tape<T>.Step[] steps)
    {
        if (steps.Length == 0 || nodes[^1].Length != 1 || steps[^1].Id != nodes.Count - 1) return null;
        foreach (ref readonly var step in steps.AsSpan())
        {
            if (step.Node.Length != 1) return null;
            var readsElement = step.Op == Op.Index && nodes[step.Node.X].Op == Op.Input;
            if (!step.Scalar && !readsElement) return null;
        }
        return new ScalarInterpreter<T>(nodes, steps);
    }

    /// <summary>The forward and backward sweep: writes the output's value and the inputs' adjoints.</summary>
    public void Run()
    {
        var program = _program ??= Build();
        // Every slot and element index was checked when the instructions were made: no bounds checks here.
        ref var v = ref MemoryMarshal.GetArrayDataReference(program.Slots);
        foreach (ref readonly var load in program.Loads.AsSpan())
            Unsafe.Add(ref v, load.Slot) = Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(load.Values), load.Index);
        ref var i = ref MemoryMarshal.GetArrayDataReference(program.Forward);
        ref var end = ref Unsafe.Add(ref i, program.Forward.Length);
        // The last instruction computes the output: its value is taken from the register, not from its slot.
        var value = T.Zero;
        for (; Unsafe.IsAddressLessThan(ref i, ref end); i = ref Unsafe.Add(ref i, 1)) value = Forward(ref v, in i);
        program.OutputValue[0] = value;
        ref var g = ref Unsafe.Add(ref v, program.SlotCount);
        if (program.OutputRequiresGrad)
        {
            i = ref MemoryMarshal.GetArrayDataReference(program.Backward);
            end = ref Unsafe.Add(ref i, program.Backward.Length);
            for (; Unsafe.IsAddressLessThan(ref i, ref end); i = ref Unsafe.Add(ref i, 1)) Backward(ref v, ref g, in i);
        }
        foreach (var adjoint in program.VectorAdjoints) adjoint.AsSpan().Clear();
        foreach (ref readonly var gradient in program.Gradients.AsSpan())
            Unsafe.Add(ref MemoryMarshal.GetArrayDataReference(gradient.Values), gradient.Index) = Unsafe.Add(ref g, gradient.Slot);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Forward(ref T v, in Instruction i)
    {
        switch (i.Code)
        {
            case Code.Add: return Forward<AddStep>(ref v, in i);
            case Code.Sub: return Forward<SubStep>(ref v, in i);
            case Code.Mul: return Forward<MulStep>(ref v, in i);
            case Code.Square: return Forward<SquareStep>(ref v, in i);
            case Code.Copy: return Unsafe.Add(ref v, i.R) = Unsafe.Add(ref v, i.X);
            case Code.Other: return ForwardOther(ref v, in i);
            case Code.AddAdd: return Forward<AddStep, AddStep>(ref v, in i);
            case Code.AddSub: return Forward<AddStep, SubStep>(ref v, in i);
            case Code.AddMul: return Forward<AddStep, MulStep>(ref v, in i);
            case Code.AddSquare: return Forward<AddStep, SquareStep>(ref v, in i);
            case Code.SubAdd: return Forward<SubStep, AddStep>(ref v, in i);
            case Code.SubSub: return Forward<SubStep, SubStep>(ref v, in i);
            case Code.SubMul: return Forward<SubStep, MulStep>(ref v, in i);
            case Code.SubSquare: return Forward<SubStep, SquareStep>(ref v, in i);
            case Code.MulAdd: return Forward<MulStep, AddStep>(ref v, in i);
            case Code.MulSub: return Forward<MulStep, SubStep>(ref v, in i);
            case Code.MulMul: return Forward<MulStep, MulStep>(ref v, in i);
            case Code.MulSquare: return Forward<MulStep, SquareStep>(ref v, in i);
            case Code.SquareAdd: return Forward<SquareStep, AddStep>(ref v, in i);
            case Code.SquareSub: return Forward<SquareStep, SubStep>(ref v, in i);
            case Code.SquareMul: return Forward<SquareStep, MulStep>(ref v, in i);
            case Code.SquareSquare: return Forward<SquareStep, SquareStep>(ref v, in i);
            default: throw new UnreachableException();
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Backward(ref T v, ref T g, in Instruction i)
    {
        switch (i.Code)
        {
            case Code.Add: Backward<AddStep>(ref v, ref g, in i, Unsafe.Add(ref g, i.R)); break;
            case Code.Sub: Backward<SubStep>(ref v, ref g, in i, Unsafe.Add(ref g, i.R)); break;
            case Code.Mul: Backward<MulStep>(ref v, ref g, in i, Unsafe.Add(ref g, i.R)); break;
            case Code.Square: Backward<SquareStep>(ref v, ref g, in i, Unsafe.Add(ref g, i.R)); break;
            case Code.Copy: Write(ref Unsafe.Add(ref g, i.X), i.GX, Unsafe.Add(ref g, i.R)); break;
            case Code.Other: BackwardOther(ref v, ref g, in i); break;
            case Code.AddAdd: Backward<AddStep, AddStep>(ref v, ref g, in i); break;
            case Code.AddSub: Backward<AddStep, SubStep>(ref v, ref g, in i); break;
            case Code.AddMul: Backward<AddStep, MulStep>(ref v, ref g, in i); break;
            case Code.AddSquare: Backward<AddStep, SquareStep>(ref v, ref g, in i); break;
            case Code.SubAdd: Backward<SubStep, AddStep>(ref v, ref g, in i); break;
            case Code.SubSub: Backward<SubStep, SubStep>(ref v, ref g, in i); break;
            case Code.SubMul: Backward<SubStep, MulStep>(ref v, ref g, in i); break;
            case Code.SubSquare: Backward<SubStep, SquareStep>(ref v, ref g, in i); break;
            case Code.MulAdd: Backward<MulStep, AddStep>(ref v, ref g, in i); break;
            case Code.MulSub: Backward<MulStep, SubStep>(ref v, ref g, in i); break;
            case Code.MulMul: Backward<MulStep, MulStep>(ref v, ref g, in i); break;
            case Code.MulSquare: Backward<MulStep, SquareStep>(ref v, ref g, in i); break;
            case Code.SquareAdd: Backward<SquareStep, AddStep>(ref v, ref g, in i); break;
            case Code.SquareSub: Backward<SquareStep, SubStep>(ref v, ref g, in i); break;
            case Code.SquareMul: Backward<SquareStep, MulStep>(ref v, ref g, in i); break;
            case Code.SquareSquare: Backward<SquareStep, SquareStep>(ref v, ref g, in i); break;
        }
    }

    /// <summary>
    /// Adds <paramref name="contribution"/> to an adjoint, or sets it to 0 + the contribution when it is the sweep's
    /// first: the bits of adding it to a cleared adjoint (-0 becomes +0), without clearing it first.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Write(ref T adjoint, AdjointWrite write, T contribution)
    {
        if (write == AdjointWrite.Add) adjoint += contribution;
        else if (write == AdjointWrite.Set) adjoint = T.Zero + contribution;
    }

    // ----- One step, and two steps whose first result is an operand of the second -----

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Forward<TFirst>(ref T v, in Instruction i) where TFirst : IStep
    {
        var r = TFirst.Value(Unsafe.Add(ref v, i.X), TFirst.Unary ? T.Zero : Unsafe.Add(ref v, i.Y));
        Unsafe.Add(ref v, i.R) = r;
        return r;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static T Forward<TFirst, TSecond>(ref T v, in Instruction i) where TFirst : IStep where TSecond : IStep
    {
        var r = Forward<TFirst>(ref v, in i);
        var z = TSecond.Unary ? T.Zero : Unsafe.Add(ref v, i.Z);
        return Unsafe.Add(ref v, i.S) = i.FirstIsX ? TSecond.Value(r, z) : TSecond.Value(z, r);
    }

    /// <summary>The first step's backward, given its result's adjoint <paramref name="gr"/>; the sweeps' order: X, then Y.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Backward<TFirst>(ref T v, ref T g, in Instruction i, T gr) where TFirst : IStep
    {
        T x = T.Zero, y = T.Zero, r = T.Zero;
        if (!TFirst.ConstantSlopes)
        {
            x = Unsafe.Add(ref v, i.X);
            y = TFirst.Unary ? T.Zero : Unsafe.Add(ref v, i.Y);
            r = TFirst.SlopesReadResult ? Unsafe.Add(ref v, i.R) : T.Zero;
        }
        if (i.GX != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.X), i.GX, gr * TFirst.DX(x, y, r));
        if (!TFirst.Unary && i.GY != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.Y), i.GY, gr * TFirst.DY(x, y, r));
    }

    /// <summary>
    /// The second step's backward, then the first's with the adjoint it leaves for the first result, kept in a register:
    /// only the second step writes that adjoint after the steps that read the result later (the pair's Z is never R),
    /// and until one of them does, it holds its initial zero.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    static void Backward<TFirst, TSecond>(ref T v, ref T g, in Instruction i) where TFirst : IStep where TSecond : IStep
    {
        T gs = Unsafe.Add(ref g, i.S), r = T.Zero, z = T.Zero, s = T.Zero, gr;
        if (!TSecond.ConstantSlopes)
        {
            r = Unsafe.Add(ref v, i.R);
            z = TSecond.Unary ? T.Zero : Unsafe.Add(ref v, i.Z);
            s = TSecond.SlopesReadResult ? Unsafe.Add(ref v, i.S) : T.Zero;
        }
        if (i.FirstIsX)
        {
            gr = Unsafe.Add(ref g, i.R) + gs * TSecond.DX(r, z, s);
            if (!TSecond.Unary && i.GZ != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.Z), i.GZ, gs * TSecond.DY(r, z, s));
        }
        else
        {
            if (i.GZ != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.Z), i.GZ, gs * TSecond.DX(z, r, s));
            gr = Unsafe.Add(ref g, i.R) + gs * TSecond.DY(z, r, s);
        }
        Backward<TFirst>(ref v, ref g, in i, gr);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T ForwardOther(ref T v, in Instruction i) =>
        Unsafe.Add(ref v, i.R) = ScalarKernels<T>.Forward(i.Op, Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y), i.C);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static void BackwardOther(ref T v, ref T g, in Instruction i)
    {
        T gr = Unsafe.Add(ref g, i.R), x = Unsafe.Add(ref v, i.X), y = Unsafe.Add(ref v, i.Y), r = Unsafe.Add(ref v, i.R);
        if (i.GX != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.X), i.GX, gr * ScalarKernels<T>.DX(i.Op, x, y, r, i.C));
        if (i.GY != AdjointWrite.None) Write(ref Unsafe.Add(ref g, i.Y), i.GY, gr * ScalarKernels<T>.DY(i.Op, x, y, r));
    }

    /// <summary>
    /// The rules of the ops that pair, as the sweeps call them (Square's constant is unused). An operand nothing reads
    /// is not loaded: through a reference, the JIT would load it anyway.
    /// </summary>
    interface IStep
    {
        /// <summary>One operand: Y is neither read nor given an adjoint.</summary>
        static abstract bool Unary { get; }
        /// <summary>The slopes do not depend on the operands (+, -): the rule's, computed once.</summary>
        static abstract bool ConstantSlopes { get; }
        /// <summary>Whether the slopes read the result r; when not, they get a zero.</summary>
        static abstract bool SlopesReadResult { get; }
        static abstract T Value(T x, T y);
        static abstract T DX(T x, T y, T r);
        static abstract T DY(T x, T y, T r);
    }

    readonly struct AddStep : IStep
    {
        static readonly T SlopeX = AddRule.DX(T.Zero, T.Zero, T.Zero), SlopeY = AddRule.DY(T.Zero, T.Zero, T.Zero);
        public static bool Unary => false;
        public static bool ConstantSlopes => true;
        public static bool SlopesReadResult => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Value(T x, T y) => AddRule.Value(x, y);
        public static T DX(T x, T y, T r) => SlopeX;
        public static T DY(T x, T y, T r) => SlopeY;
    }

    readonly struct SubStep : IStep
    {
        static readonly T SlopeX = SubRule.DX(T.Zero, T.Zero, T.Zero), SlopeY = SubRule.DY(T.Zero, T.Zero, T.Zero);
        public static bool Unary => false;
        public static bool ConstantSlopes => true;
        public static bool SlopesReadResult => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Value(T x, T y) => SubRule.Value(x, y);
        public static T DX(T x, T y, T r) => SlopeX;
        public static T DY(T x, T y, T r) => SlopeY;
    }

    readonly struct MulStep : IStep
    {
        public static bool Unary => false;
        public static bool ConstantSlopes => false;
        public static bool SlopesReadResult => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Value(T x, T y) => MulRule.Value(x, y);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T DX(T x, T y, T r) => MulRule.DX(x, y, r);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T DY(T x, T y, T r) => MulRule.DY(x, y, r);
    }

    readonly struct SquareStep : IStep
    {
        public static bool Unary => true;
        public static bool ConstantSlopes => false;
        public static bool SlopesReadResult => false;
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T Value(T x, T y) => SquareRule.Value(x, T.Zero);
        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static T DX(T x, T y, T r) => SquareRule.Slope(x, r, T.Zero);
        public static T DY(T x, T y, T r) => T.Zero;
    }

    // ----- Making the instructions -----

    Program Build()
    {
        var nodes = _nodes;
        var steps = _steps;
        // Slots: one per node, one per element of a longer vector that some step reads, then one that stays zero.
        var slotOf = new int[Output + 1];
        for (var id = 0; id <= Output; id++) slotOf[id] = id;
        var elementSlot = new Dictionary<(int Vector, int Index), int>();
        var readers = new Dictionary<int, int>();
        var slotCount = Output + 1;
        int SourceOf(TapeNode<T> index)
        {
            if (nodes[index.X].Length == 1) return index.X;
            if (!elementSlot.TryGetValue((index.X, index.Index), out var slot)) elementSlot[(index.X, index.Index)] = slot = slotCount++;
            return slot;
        }
        void Read(int slot) => readers[slot] = readers.GetValueOrDefault(slot) + 1;
        foreach (var step in steps)
        {
            if (step.Op == Op.Index) Read(SourceOf(step.Node));
            else
            {
                Read(step.Node.X);
                if (step.Node.Y >= 0) Read(step.Node.Y);
            }
        }
        var zero = slotCount++;
        // An element read by one step only is that step's slot: its adjoint (0 + the sum of what it collects) then has
        // the bits of the sweeps' (the step's adjoint, added to a cleared element).
        foreach (var step in steps)
            if (step.Op == Op.Index && step.Id != Output && readers[SourceOf(step.Node)] == 1) slotOf[step.Id] = SourceOf(step.Node);

        var slots = new T[2 * slotCount];
        // The output's adjoint, which no step writes.
        slots[slotCount + Output] = T.One;
        var loads = new List<Load>();
        var gradients = new List<Load>();
        var vectorAdjoints = new List<T[]>();
        for (var id = 0; id <= Output; id++)
        {
            var node = nodes[id];
            if (node.Op != Op.Input) continue;
            if (node.Length != 1)
            {
                if (node.RequiresGrad) vectorAdjoints.Add(node.Adjoint);
                continue;
            }
            if (node.IsLiteral) slots[id] = node.Value[0];
            else loads.Add(new Load(node.Value, 0, id));
            if (node.RequiresGrad) gradients.Add(new Load(node.Adjoint, 0, id));
        }
        foreach (var ((vector, index), slot) in elementSlot)
        {
            loads.Add(new Load(nodes[vector].Value, index, slot));
            if (nodes[vector].RequiresGrad) gradients.Add(new Load(nodes[vector].Adjoint, index, slot));
        }

        var forward = new List<Instruction>();
        var requiresGrad = new List<bool>();
        foreach (var step in steps)
        {
            var node = step.Node;
            if (step.Op == Op.Index)
            {
                var source = SourceOf(node);
                if (slotOf[step.Id] == source) continue;
                forward.Add(new Instruction { Code = Code.Copy, X = source, Y = zero, R = step.Id, GX = Takes(nodes[node.X].RequiresGrad) });
                requiresGrad.Add(step.RequiresGrad);
                continue;
            }
            var y = node.Y >= 0 ? nodes[node.Y] : null;
            var single = new Instruction
            {
                Code = Pairable(step.Op) is { } code ? code : Code.Other,
                Op = step.Op,
                C = step.C,
                X = slotOf[node.X],
                Y = y is null ? zero : slotOf[node.Y],
                R = step.Id,
                GX = Takes(nodes[node.X].RequiresGrad),
                GY = Takes(y?.RequiresGrad ?? false),
            };
            if (forward.Count > 0 && TryPair(forward[^1], requiresGrad[^1], single, step.RequiresGrad) is { } pair) forward[^1] = pair;
            else
            {
                forward.Add(single);
                requiresGrad.Add(step.RequiresGrad);
            }
        }
        var backward = new List<Instruction>();
        for (var s = forward.Count - 1; s >= 0; s--) if (requiresGrad[s]) backward.Add(forward[s]);
        // The sweep's first write to each adjoint sets it, the later ones add. An adjoint never written keeps its zero.
        var written = new bool[slotCount];
        written[Output] = true;
        AdjointWrite FirstSets(AdjointWrite write, int slot)
        {
            if (write == AdjointWrite.None || written[slot]) return write;
            written[slot] = true;
            return AdjointWrite.Set;
        }
        foreach (ref var instruction in CollectionsMarshal.AsSpan(backward))
        {
            // In the order Backward writes them.
            if (instruction.Code >= Code.AddAdd) instruction.GZ = FirstSets(instruction.GZ, instruction.Z);
            instruction.GX = FirstSets(instruction.GX, instruction.X);
            instruction.GY = FirstSets(instruction.GY, instruction.Y);
        }

        return new Program([.. forward], [.. backward], slots, slotCount, [.. loads], [.. gradients], [.. vectorAdjoints],
            Output, nodes[Output].Value, nodes[Output].RequiresGrad);
    }

    static AdjointWrite Takes(bool requiresGrad) => requiresGrad ? AdjointWrite.Add : AdjointWrite.None;

    static Code? Pairable(Op op) => op switch
    {
        Op.Add => Code.Add,
        Op.Sub => Code.Sub,
        Op.Mul => Code.Mul,
        Op.Square => Code.Square,
        _ => null,
    };

    /// <summary>
    /// <paramref name="first"/> and <paramref name="second"/> as one instruction, when both are single steps among the
    /// pairable ops, the second reads the first's result as exactly one of its operands, and both or neither take part
    /// in the backward sweep.
    /// </summary>
    static Instruction? TryPair(Instruction first, bool firstRequiresGrad, Instruction second, bool secondRequiresGrad)
    {
        if (first.Code > Code.Square || second.Code > Code.Square || firstRequiresGrad != secondRequiresGrad) return null;
        var unary = second.Code == Code.Square;
        bool readsAsX = second.X == first.R, readsAsY = !unary && second.Y == first.R;
        if (readsAsX == readsAsY) return null;
        var pair = first;
        pair.Code = (Code)((int)Code.AddAdd + 4 * (int)first.Code + (int)second.Code);
        pair.FirstIsX = readsAsX;
        pair.Z = readsAsX ? second.Y : second.X;
        pair.GZ = unary ? AdjointWrite.None : readsAsX ? second.GY : second.GX;
        pair.S = second.R;
        return pair;
    }
}
