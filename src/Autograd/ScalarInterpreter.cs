using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Autograd;

/// <summary>
/// The replay of a tape of scalars (vector inputs read only element by element, as <c>x[1]</c>) before it is compiled
/// (<see cref="CompiledScalarReplay{T}"/>), and for tapes too long to compile: a loop over a compact instruction array
/// whose operands are slots of two flat arrays, one of values and one of adjoints, instead of every node's own arrays.
/// It applies the same rules (<see cref="ScalarKernels{T}"/>) in the same order as the node-by-node sweeps, so its
/// results are theirs to the bit. Like the compiled replay it leaves only the output's value and the inputs' adjoints
/// current on the tape.
/// </summary>
internal sealed class ScalarInterpreter<T> where T : IFloatingPointIeee754<T>
{
    /// <summary>
    /// One step. <see cref="X"/>, <see cref="Y"/> and <see cref="R"/> are slots (node ids); for <see cref="Op.Index"/>,
    /// X is the vector's place in the table of vectors read by element and Y the element, or X the slot of a vector of
    /// one element and Y -1. GX and GY say whether the
    /// operands take an adjoint.
    /// </summary>
    readonly record struct Instruction(Op Op, int X, int Y, int R, T C, bool GX, bool GY);

    readonly Instruction[] _forward;
    readonly Instruction[] _backward;
    readonly T[] _values;
    readonly T[] _adjoints;
    readonly (int Slot, T[] Values)[] _scalarInputs;
    readonly (int Slot, T[] Adjoint)[] _scalarGradients;
    readonly T[][] _vectors;
    readonly T[][] _vectorAdjoints;
    readonly T[][] _vectorAdjointOf;
    readonly T[] _outputValue;
    readonly bool _outputRequiresGrad;

    ScalarInterpreter(IReadOnlyList<TapeNode<T>> nodes, ReadOnlySpan<Tape<T>.Step> steps)
    {
        Output = nodes.Count - 1;
        _values = new T[nodes.Count];
        _adjoints = new T[nodes.Count];
        var vectors = new List<T[]>();
        var vectorOf = new Dictionary<int, int>();
        var vectorAdjoints = new List<T[]>();
        var vectorAdjointOf = new List<T[]>();
        var scalarInputs = new List<(int, T[])>();
        var scalarGradients = new List<(int, T[])>();
        for (var id = 0; id < nodes.Count; id++)
        {
            var node = nodes[id];
            if (node.Op != Op.Input) continue;
            if (node.Length != 1)
            {
                if (node.RequiresGrad) vectorAdjoints.Add(node.Adjoint);
                continue;
            }
            if (node.IsLiteral) _values[id] = node.Value[0];
            else scalarInputs.Add((id, node.Value));
            if (node.RequiresGrad) scalarGradients.Add((id, node.Adjoint));
        }
        var forward = new Instruction[steps.Length];
        for (var s = 0; s < steps.Length; s++)
        {
            var step = steps[s];
            var node = step.Node;
            var x = nodes[node.X];
            if (step.Op == Op.Index && x.Length == 1)
            {
                // A vector of one element is loaded into its slot like a scalar, and its adjoint is written from there.
                forward[s] = new Instruction(Op.Index, node.X, -1, step.Id, step.C, x.RequiresGrad, false);
            }
            else if (step.Op == Op.Index)
            {
                if (!vectorOf.TryGetValue(node.X, out var vector))
                {
                    vector = vectorOf[node.X] = vectors.Count;
                    vectors.Add(x.Value);
                    vectorAdjointOf.Add(x.Adjoint);
                }
                forward[s] = new Instruction(Op.Index, vector, node.Index, step.Id, step.C, x.RequiresGrad, false);
            }
            else
            {
                var y = node.Y >= 0 ? nodes[node.Y] : null;
                forward[s] = new Instruction(step.Op, node.X, node.Y, step.Id, step.C, x.RequiresGrad, y?.RequiresGrad ?? false);
            }
        }
        _forward = forward;
        var backward = new List<Instruction>();
        for (var s = steps.Length - 1; s >= 0; s--) if (steps[s].RequiresGrad) backward.Add(forward[s]);
        _backward = [.. backward];
        _vectors = [.. vectors];
        _vectorAdjoints = [.. vectorAdjoints];
        _vectorAdjointOf = [.. vectorAdjointOf];
        _scalarInputs = [.. scalarInputs];
        _scalarGradients = [.. scalarGradients];
        _outputValue = nodes[Output].Value;
        _outputRequiresGrad = nodes[Output].RequiresGrad;
    }

    /// <summary>The node whose value and gradient the replay computes: the tape's last.</summary>
    public int Output { get; }

    /// <summary>An interpreter for <paramref name="nodes"/> up to the last one, or null when a step computes or reads a whole vector.</summary>
    public static ScalarInterpreter<T>? TryCreate(IReadOnlyList<TapeNode<T>> nodes, ReadOnlySpan<Tape<T>.Step> steps)
    {
        if (steps.Length == 0 || nodes[^1].Length != 1 || steps[^1].Id != nodes.Count - 1) return null;
        foreach (ref readonly var step in steps)
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
        // Every slot is a node id of this tape, checked when the instructions were made: no bounds checks here.
        ref var v = ref MemoryMarshal.GetArrayDataReference(_values);
        foreach (var (slot, values) in _scalarInputs) Unsafe.Add(ref v, slot) = values[0];
        // The commonest ops inline, as in the node-by-node sweeps; the rest go through the table, out of line so
        // that this loop stays small.
        foreach (ref readonly var i in _forward.AsSpan())
        {
            switch (i.Op)
            {
                case Op.Add:
                    Unsafe.Add(ref v, i.R) = AddRule.Value(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y));
                    break;
                case Op.Sub:
                    Unsafe.Add(ref v, i.R) = SubRule.Value(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y));
                    break;
                case Op.Mul:
                    Unsafe.Add(ref v, i.R) = MulRule.Value(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y));
                    break;
                case Op.Square:
                    Unsafe.Add(ref v, i.R) = SquareRule.Value(Unsafe.Add(ref v, i.X), i.C);
                    break;
                case Op.Index:
                    Unsafe.Add(ref v, i.R) = i.Y < 0 ? Unsafe.Add(ref v, i.X) : _vectors[i.X][i.Y];
                    break;
                default:
                    Unsafe.Add(ref v, i.R) = Forward(i.Op, Unsafe.Add(ref v, i.X), i.Y >= 0 ? Unsafe.Add(ref v, i.Y) : T.Zero, i.C);
                    break;
            }
        }
        _outputValue[0] = Unsafe.Add(ref v, Output);

        Array.Clear(_adjoints);
        ref var g = ref MemoryMarshal.GetArrayDataReference(_adjoints);
        foreach (var adjoint in _vectorAdjoints) adjoint.AsSpan().Clear();
        if (_outputRequiresGrad)
        {
            Unsafe.Add(ref g, Output) = T.One;
            foreach (ref readonly var i in _backward.AsSpan())
            {
                var gr = Unsafe.Add(ref g, i.R);
                switch (i.Op)
                {
                    case Op.Index:
                        if (!i.GX) break;
                        if (i.Y < 0) Unsafe.Add(ref g, i.X) += gr;
                        else _vectorAdjointOf[i.X][i.Y] += gr;
                        break;
                    case Op.Add:
                        if (i.GX) Unsafe.Add(ref g, i.X) += gr * AddRule.DX(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y), Unsafe.Add(ref v, i.R));
                        if (i.GY) Unsafe.Add(ref g, i.Y) += gr * AddRule.DY(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y), Unsafe.Add(ref v, i.R));
                        break;
                    case Op.Sub:
                        if (i.GX) Unsafe.Add(ref g, i.X) += gr * SubRule.DX(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y), Unsafe.Add(ref v, i.R));
                        if (i.GY) Unsafe.Add(ref g, i.Y) += gr * SubRule.DY(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.Y), Unsafe.Add(ref v, i.R));
                        break;
                    case Op.Mul:
                        {
                            T x = Unsafe.Add(ref v, i.X), y = Unsafe.Add(ref v, i.Y);
                            if (i.GX) Unsafe.Add(ref g, i.X) += gr * MulRule.DX(x, y, Unsafe.Add(ref v, i.R));
                            if (i.GY) Unsafe.Add(ref g, i.Y) += gr * MulRule.DY(x, y, Unsafe.Add(ref v, i.R));
                            break;
                        }
                    case Op.Square:
                        if (i.GX) Unsafe.Add(ref g, i.X) += gr * SquareRule.Slope(Unsafe.Add(ref v, i.X), Unsafe.Add(ref v, i.R), i.C);
                        break;
                    default:
                        {
                            T x = Unsafe.Add(ref v, i.X), y = i.Y >= 0 ? Unsafe.Add(ref v, i.Y) : T.Zero, r = Unsafe.Add(ref v, i.R);
                            if (i.GX) Unsafe.Add(ref g, i.X) += gr * DX(i.Op, x, y, r, i.C);
                            if (i.GY) Unsafe.Add(ref g, i.Y) += gr * DY(i.Op, x, y, r);
                            break;
                        }
                }
            }
        }
        foreach (var (slot, adjoint) in _scalarGradients) adjoint[0] = Unsafe.Add(ref g, slot);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T Forward(Op op, T x, T y, T c) => ScalarKernels<T>.Forward(op, x, y, c);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T DX(Op op, T x, T y, T r, T c) => ScalarKernels<T>.DX(op, x, y, r, c);

    [MethodImpl(MethodImplOptions.NoInlining)]
    static T DY(Op op, T x, T y, T r) => ScalarKernels<T>.DY(op, x, y, r);
}
