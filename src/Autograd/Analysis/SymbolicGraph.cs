using System.Globalization;

namespace Autograd.Analysis;

/// <summary>What a node of a <see cref="SymbolicGraph"/> is.</summary>
internal enum SymbolKind : byte
{
    /// <summary>A number.</summary>
    Constant,
    /// <summary>A named input: a parameter, constant or data column.</summary>
    Name,
    /// <summary>An op of the registry on earlier nodes, as the language writes it.</summary>
    Apply,
    /// <summary>The vector 1, 2, ..., Length: <c>seq_along(v)</c> of the node in A, or the given text.</summary>
    Sequence,
    /// <summary>
    /// A vector of Length zeros with node A written into elements Index .. Index + length(A) - 1: the adjoint of a slice.
    /// The language can write it only when A is a single number (times a mask).
    /// </summary>
    Scatter,
}

/// <summary>One node: children A and B are earlier nodes (or -1), so the list is in topological order.</summary>
/// <param name="Length">Elements of the value; 1 also stands for a vector whose elements are all equal (it broadcasts).</param>
internal readonly record struct Symbol(SymbolKind Kind, Op Op, int A, int B, double Constant, int Index, int Length, string? Text);

/// <summary>
/// A hash-consed expression DAG: building a node that exists returns the existing one, so common subexpressions are
/// shared by construction, and the builders fold constants and drop x*1, x+0, x*0 and --x on the way. Children
/// always precede parents, so every walk over it is a loop over ids, never recursion.
/// </summary>
internal sealed class SymbolicGraph
{
    readonly List<Symbol> _nodes = [];
    readonly Dictionary<Symbol, int> _ids = [];

    public int Count => _nodes.Count;
    public Symbol this[int id] => _nodes[id];

    int Add(Symbol symbol)
    {
        if (_ids.TryGetValue(symbol, out var id)) return id;
        _nodes.Add(symbol);
        _ids[symbol] = _nodes.Count - 1;
        return _nodes.Count - 1;
    }

    public int Const(double value) => Add(new Symbol(SymbolKind.Constant, Op.Input, -1, -1, value == 0 ? 0 : value, 0, 1, null));
    public int Name(string name, int length) => Add(new Symbol(SymbolKind.Name, Op.Input, -1, -1, 0, 0, length, name));
    public int Sequence(int of, int length, string? text = null) => Add(new Symbol(SymbolKind.Sequence, Op.Input, of, -1, 0, 0, length, text));

    /// <summary>A vector of <paramref name="length"/> zeros with the <paramref name="count"/> elements of value (one broadcast number, or a vector) from <paramref name="start"/>.</summary>
    public int Scatter(int value, int start, int count, int length) =>
        IsZero(value) ? value : Add(new Symbol(SymbolKind.Scatter, Op.Input, value, -1, count, start, length, null));

    public bool IsConst(int id, out double value)
    {
        var node = _nodes[id];
        value = node.Constant;
        return node.Kind == SymbolKind.Constant;
    }

    public bool IsZero(int id) => IsConst(id, out var v) && v == 0;
    bool IsOne(int id) => IsConst(id, out var v) && v == 1;
    public int Length(int id) => _nodes[id].Length;

    /// <summary>Records <paramref name="op"/> on a and b, folded and simplified where that is exact.</summary>
    public int Apply(Op op, int a, int b = -1, double constant = 0, int index = 0)
    {
        var entry = OpRegistry.Of(op);
        var elementwise = entry.IsElementwise;
        if (elementwise && IsConst(a, out var x) && (b < 0 || IsConst(b, out _)))
        {
            var y = b < 0 ? 0 : _nodes[b].Constant;
            return Const(ScalarKernels<double>.Forward(op, x, y, constant));
        }
        switch (op)
        {
            case Op.Neg:
                if (_nodes[a] is { Kind: SymbolKind.Apply, Op: Op.Neg } inner) return inner.A;
                break;
            case Op.Add:
                if (IsZero(a)) return b;
                if (IsZero(b)) return a;
                if (_nodes[b] is { Kind: SymbolKind.Apply, Op: Op.Neg } nb) return Apply(Op.Sub, a, nb.A);
                break;
            case Op.Sub:
                if (IsZero(b)) return a;
                if (IsZero(a)) return Apply(Op.Neg, b);
                if (a == b) return Const(0);
                if (_nodes[b] is { Kind: SymbolKind.Apply, Op: Op.Neg } sb) return Apply(Op.Add, a, sb.A);
                break;
            case Op.Mul:
                if (IsZero(a) || IsZero(b)) return Const(0);
                if (IsOne(a)) return b;
                if (IsOne(b)) return a;
                if (IsConst(b, out _)) return Apply(Op.Mul, b, a);
                if (IsConst(a, out var ca))
                {
                    if (ca == -1) return Apply(Op.Neg, b);
                    // c1 * (c2 * u) = (c1 c2) * u
                    if (_nodes[b] is { Kind: SymbolKind.Apply, Op: Op.Mul } mb && IsConst(mb.A, out var cb)) return Apply(Op.Mul, Const(ca * cb), mb.B);
                    if (_nodes[b] is { Kind: SymbolKind.Apply, Op: Op.Neg } nm) return Apply(Op.Mul, Const(-ca), nm.A);
                }
                if (_nodes[a] is { Kind: SymbolKind.Apply, Op: Op.Neg } na) return Apply(Op.Neg, Apply(Op.Mul, na.A, b));
                if (_nodes[b] is { Kind: SymbolKind.Apply, Op: Op.Neg } nb2) return Apply(Op.Neg, Apply(Op.Mul, a, nb2.A));
                break;
            case Op.Div:
                if (IsZero(a)) return Const(0);
                if (IsOne(b)) return a;
                break;
            case Op.PowConstant:
                if (constant == 1) return a;
                if (constant == 0) return Const(1);
                break;
            case Op.Sum:
                if (_nodes[a].Length == 1) return a;
                break;
        }
        var length = Shapes.Result(op, _nodes[a].Length, _nodes[a].Length == 1, b < 0 ? 0 : _nodes[b].Length, b < 0 || _nodes[b].Length == 1,
            index, op == Op.Slice ? (int)constant : 0).Length;
        return Add(new Symbol(SymbolKind.Apply, op, a, b, constant, index, length, null));
    }

    // Shorthands for the derivative rules.
    public int Neg(int a) => Apply(Op.Neg, a);
    public int Plus(int a, int b) => Apply(Op.Add, a, b);
    public int Minus(int a, int b) => Apply(Op.Sub, a, b);
    public int Times(int a, int b) => Apply(Op.Mul, a, b);
    public int Over(int a, int b) => Apply(Op.Div, a, b);
    public int Call(Op op, int a, int b = -1) => Apply(op, a, b);
    public int Power(int a, double c) => Apply(Op.PowConstant, a, constant: c);
    public int Scale(double c, int a) => Apply(Op.Mul, Const(c), a);

    /// <summary>The sum over <paramref name="length"/> elements of a; a broadcast number counts <paramref name="length"/> times.</summary>
    public int SumOver(int a, int length) => length == 1 ? a : Length(a) == 1 ? Times(Const(length), a) : Apply(Op.Sum, a);

    /// <summary>
    /// (1 + u/|u|)/2: 1 where u > 0, 0 where u < 0, undefined (NaN) at the kink u = 0. Where u is 0 identically
    /// (min(a, a)) the tie holds everywhere, so the op's convention at ties, <paramref name="tie"/>, is the derivative.
    /// </summary>
    public int Step(int u, double tie = 0) => IsZero(u) ? Const(tie) : Scale(0.5, Plus(Const(1), Over(u, Call(Op.Abs, u))));

    /// <summary>The vector of <paramref name="length"/> elements that is 1 at the 0-based <paramref name="index"/>: relu(1 - |seq_along(v) - i|).</summary>
    public int OneHot(int of, int length, int index) =>
        Call(Op.Relu, Minus(Const(1), Call(Op.Abs, Minus(Sequence(of, length), Const(index + 1)))));

    public static string Number(double value) => value.ToString("R", CultureInfo.InvariantCulture).Replace("E", "e");
}
