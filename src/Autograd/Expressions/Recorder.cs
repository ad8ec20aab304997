using System.Numerics;

namespace Autograd.Expressions;

/// <summary>Binds a formula's names to inputs and records its postfix syntax onto a tape, with a loop and a stack.</summary>
internal sealed class Recorder<T> where T : IFloatingPointIeee754<T>
{
    // An operand on the stack: a tape node, or a literal number not yet on the tape (Node = -1), so that
    // x ^ 2 becomes one PowConstant node and -3 stays a literal.
    readonly record struct Operand(int Node, double Literal, string? Text, SourceSpan Span);

    static readonly Dictionary<string, Op> BinaryOps = new()
    {
        ["+"] = Op.Add, ["-"] = Op.Sub, ["*"] = Op.Mul, ["/"] = Op.Div, ["^"] = Op.Pow, ["%*%"] = Op.MatMul,
    };

    readonly IReadOnlyList<InputSpec> _inputs;
    readonly Dictionary<string, int> _slotByName = new(StringComparer.Ordinal);

    readonly long _maxElements;
    long _elements;

    public Recorder(IReadOnlyList<InputSpec> inputs, long maxElements = long.MaxValue)
    {
        _inputs = inputs;
        _maxElements = maxElements;
        InputNodes = new int[inputs.Count];
        for (var slot = 0; slot < inputs.Count; slot++)
        {
            var input = inputs[slot];
            if (!_slotByName.TryAdd(input.Name, slot))
                throw new ArgumentException($"The name '{input.Name}' is given twice.", nameof(inputs));
            InputNodes[slot] = input.IsMatrix
                ? Tape.AddMatrix(new T[input.Length], input.Columns, input.Kind == InputKind.Parameter, input.Name)
                : Tape.AddInput(new T[input.Length], input.IsScalar, input.Kind == InputKind.Parameter, input.Name);
        }
    }

    public Tape<T> Tape { get; } = new();
    public int[] InputNodes { get; }

    string _text = "";

    /// <summary>An operand's text: kept for names and numbers, cut from the formula for the rest (building it on the way would cost quadratic time).</summary>
    string TextOf(Operand operand) => operand.Text ?? _text.Substring(operand.Span.Column - 1, Math.Min(operand.Span.Length, 80));

    public int Record(Formula formula)
    {
        _text = formula.Text;
        var stack = new Stack<Operand>();
        foreach (var node in formula.Nodes)
        {
            switch (node.Kind)
            {
                case SyntaxKind.Number:
                    stack.Push(new Operand(-1, node.Number, node.Text, node.Span));
                    break;
                case SyntaxKind.Name:
                    stack.Push(ResolveName(node));
                    break;
                case SyntaxKind.Negate:
                    var operand = stack.Pop();
                    stack.Push(operand.Node < 0
                        ? operand with { Literal = -operand.Literal, Text = null, Span = node.Span }
                        : Apply(Op.Neg, node, operand));
                    break;
                case SyntaxKind.Binary:
                    var right = stack.Pop();
                    var left = stack.Pop();
                    stack.Push(node.Text == "^" ? Power(node, left, right) : Apply(BinaryOps[node.Text], node, left, right));
                    break;
                case SyntaxKind.Index:
                    stack.Push(Index(node, stack.Pop()));
                    break;
                case SyntaxKind.Slice:
                    stack.Push(Slice(node, stack.Pop()));
                    break;
                case SyntaxKind.Call:
                    stack.Push(Call(node, stack));
                    break;
                case SyntaxKind.Let:
                    Bind(node, stack.Pop());
                    break;
            }
        }
        var result = Materialize(stack.Pop());
        var output = Tape[result];
        if (output.Length != 1)
            throw new FormulaException(FormulaError.NotScalar,
                $"The formula gives a vector of {output.Length} elements, but a loss must be a single number: wrap it in sum() or mean()",
                new SourceSpan(1, formula.Text.Length));
        return result;
    }

    // Names bound by let statements: a node recorded once and shared by every use, or a literal kept as a number
    // (so that `k = 2; x^k` is one PowConstant node, as `x^2` is).
    readonly Dictionary<string, Operand> _bound = new(StringComparer.Ordinal);

    void Bind(SyntaxNode node, Operand value)
    {
        if (_slotByName.TryGetValue(node.Text, out var slot) || _bound.ContainsKey(node.Text))
        {
            var what = _bound.ContainsKey(node.Text) ? "an earlier let statement" : $"a {Describe(_inputs[slot].Kind)}";
            throw new FormulaException(FormulaError.DuplicateName,
                $"'{node.Text}' is already bound by {what}: a let statement may not rebind it; choose another name",
                node.TokenSpan, node.Text, "a new name");
        }
        if (value.Node >= 0 && Tape[value.Node].Op != Op.Input) Tape[value.Node].Name ??= node.Text;
        _bound[node.Text] = value with { Text = node.Text };
    }

    static string Describe(InputKind kind) => kind switch
    {
        InputKind.Parameter => "parameter",
        InputKind.Constant => "constant",
        InputKind.Data => "data column",
        _ => kind.ToString().ToLowerInvariant(),
    };

    Operand ResolveName(SyntaxNode node)
    {
        if (_slotByName.TryGetValue(node.Text, out var slot)) return new Operand(InputNodes[slot], 0, node.Text, node.Span);
        if (_bound.TryGetValue(node.Text, out var bound)) return bound with { Span = node.Span };
        if (Functions.Constants.TryGetValue(node.Text, out var value)) return new Operand(-1, value, node.Text, node.Span);
        var known = _inputs.Count == 0 ? "none" : string.Join(", ", _inputs.Select(i => i.Name));
        var hint = Functions.IsFunction(node.Text) ? $"; '{node.Text}' is a function: call it as {node.Text}(...)" : "";
        throw new FormulaException(FormulaError.UnknownName,
            $"Unknown name '{node.Text}': it is not a parameter, constant or data column (given: {known}) nor pi or e{hint}",
            node.Span, node.Text, "a parameter, constant or data column");
    }

    Operand Power(SyntaxNode node, Operand x, Operand y) =>
        y.Node < 0 ? Apply(Op.PowConstant, node, x, constant: y.Literal) : Apply(Op.Pow, node, x, y);

    Operand Index(SyntaxNode node, Operand vector)
    {
        var source = Tape[Materialize(vector)];
        if (source.IsMatrix || node.ColumnIndex > 0) return MatrixElement(node, vector, source);
        if (source.IsScalar || node.Index > source.Length)
        {
            var what = source.IsScalar ? $"'{TextOf(vector)}' is a scalar" : $"'{TextOf(vector)}' has {source.Length} element{(source.Length == 1 ? "" : "s")}";
            throw new FormulaException(FormulaError.IndexOutOfRange,
                $"Index {node.Index} is out of range: {what} (indices start at 1)", node.Span, node.Index.ToString(),
                source.IsScalar ? "a vector" : $"an index from 1 to {source.Length}");
        }
        return Apply(Op.Index, node, vector, index: node.Index - 1);
    }

    /// <summary>W[i, j], 1-based, row then column: one element of a row-major matrix.</summary>
    Operand MatrixElement(SyntaxNode node, Operand matrix, TapeNode<T> source)
    {
        var written = $"[{node.Index}, {node.ColumnIndex}]";
        if (!source.IsMatrix)
            throw new FormulaException(FormulaError.IndexOutOfRange,
                $"Index {written} needs a matrix, but '{TextOf(matrix)}' is {MatrixShapes.Describe(source)}", node.TokenSpan, written, "a single index such as [1]");
        if (node.ColumnIndex == 0)
            throw new FormulaException(FormulaError.IndexOutOfRange,
                $"'{TextOf(matrix)}' is {MatrixShapes.Describe(source)}: index it by row and column, as in [{node.Index}, 1]", node.TokenSpan, $"[{node.Index}]", "[row, column]");
        if (node.Index > source.Rows || node.ColumnIndex > source.Columns)
            throw new FormulaException(FormulaError.IndexOutOfRange,
                $"Index {written} is out of range: '{TextOf(matrix)}' is {MatrixShapes.Describe(source)} (indices start at 1)", node.TokenSpan, written,
                $"a row from 1 to {source.Rows} and a column from 1 to {source.Columns}");
        return Apply(Op.Index, node, matrix, index: (node.Index - 1) * source.Columns + node.ColumnIndex - 1);
    }

    /// <summary>cbind(u, v, ...): columns side by side, one Cbind node per further argument.</summary>
    Operand Cbind(SyntaxNode node, Operand[] arguments)
    {
        if (arguments.Length == 0)
            throw new FormulaException(FormulaError.WrongArity, "'cbind' takes at least 1 argument but was given 0", node.TokenSpan, "cbind", "at least 1 argument");
        var result = arguments[0];
        if (arguments.Length == 1)
        {
            var only = Tape[Materialize(result)];
            if (only.IsScalar)
                throw new FormulaException(FormulaError.ShapeMismatch, "cbind needs vectors or matrices, not a scalar", node.Span, node.Text);
            if (only.IsMatrix) return result;
            // One vector: a matrix of one column.
            return Apply(Op.Transpose, node, Apply(Op.Transpose, node, result));
        }
        for (var i = 1; i < arguments.Length; i++) result = Apply(Op.Cbind, node, result, arguments[i]);
        return result;
    }

    Operand Slice(SyntaxNode node, Operand vector)
    {
        var source = Tape[Materialize(vector)];
        var (from, to) = (node.Slice.From.Resolve(source.Length), node.Slice.To.Resolve(source.Length));
        var written = $"{node.Slice.From}:{node.Slice.To}";
        if (source.IsScalar)
            throw new FormulaException(FormulaError.IndexOutOfRange, $"Slice {written} needs a vector, but '{TextOf(vector)}' is a scalar",
                node.TokenSpan, written, "a vector");
        var range = $"'{TextOf(vector)}' has {source.Length} element{(source.Length == 1 ? "" : "s")}, so end is {source.Length}";
        if (from < 1 || to > source.Length)
            throw new FormulaException(FormulaError.IndexOutOfRange, $"Slice {written} is {from}:{to}, out of range: {range} (indices start at 1)",
                node.TokenSpan, written, $"bounds from 1 to {source.Length}");
        if (from > to)
            throw new FormulaException(FormulaError.IndexOutOfRange, $"Slice {written} is {from}:{to}, which is empty: {range}",
                node.TokenSpan, written, "a first bound no greater than the second");
        return Apply(Op.Slice, node, vector, constant: to - from + 1, index: from - 1);
    }

    Operand Call(SyntaxNode node, Stack<Operand> stack)
    {
        var arguments = new Operand[node.Operands];
        for (var i = node.Operands - 1; i >= 0; i--) arguments[i] = stack.Pop();
        if (node.Text == Functions.Cbind) return Cbind(node, arguments);
        if (Functions.IsForm(node.Text, node.Operands, node.TokenSpan)) return Form(node, arguments);
        var op = Functions.Resolve(node.Text, node.Operands, node.TokenSpan) ?? throw UnknownFunction(node);
        if (op == Op.Pow) return Power(node, arguments[0], arguments[1]);
        return arguments.Length == 1 ? Apply(op, node, arguments[0]) : Apply(op, node, arguments[0], arguments[1]);
    }

    static FormulaException UnknownFunction(SyntaxNode node)
    {
        var nearest = Functions.Nearest(node.Text, node.Operands);
        var hint = nearest is null ? "" : $" (did you mean {nearest}?)";
        return new FormulaException(FormulaError.UnknownFunction,
            $"Unknown function '{node.Text}'{hint}; the functions are {string.Join(", ", Functions.Names)}",
            node.TokenSpan, node.Text, nearest is null ? "a function name" : $"a function name such as {nearest}");
    }

    /// <summary>The functions that record no op of their own (<see cref="Functions.IsForm"/>).</summary>
    Operand Form(SyntaxNode node, Operand[] arguments)
    {
        switch (node.Text)
        {
            case "clamp":
                // PyTorch's order: the lower bound first, then the upper, so lo > hi gives hi everywhere.
                var low = Apply(Op.ClampLow, node, arguments[0], arguments[1]);
                return Apply(Op.ClampHigh, node, low, arguments[2]);
            case "length":
                return new Operand(-1, LengthOf(arguments[0]), null, node.Span);
            case "seq_along":
                var length = LengthOf(arguments[0]);
                if (arguments[0].Node < 0 || Tape[arguments[0].Node].IsScalar) return new Operand(-1, 1, null, node.Span);
                var sequence = new T[length];
                for (var i = 0; i < length; i++) sequence[i] = T.CreateChecked(i + 1);
                return new Operand(Tape.AddInput(sequence, false, false, TextOf(new Operand(-1, 0, null, node.Span)), node.Span), 0, null, node.Span);
            default:
                throw new InvalidOperationException($"'{node.Text}' is declared a form but has no recording.");
        }
    }

    int LengthOf(Operand operand) => operand.Node < 0 ? 1 : Tape[operand.Node].Length;

    // Every op is a pure function of its operands, so a vector or matrix subexpression written twice (the bce shorthand's
    // model, say) is recorded once and both uses share its node: one product X %*% w instead of two. Scalars are cheap to
    // recompute and keep one node per written occurrence, as the symbolic derivatives' texts show them.
    readonly Dictionary<(Op, int, int, double, int), int> _recorded = [];
    readonly Dictionary<(double, string), int> _literals = [];

    Operand Apply(Op op, SyntaxNode node, Operand x, Operand? y = null, double constant = 0, int index = 0)
    {
        var xNode = Materialize(x);
        var yNode = y is { } second ? Materialize(second) : -1;
        if (_recorded.TryGetValue((op, xNode, yNode, constant, index), out var existing)) return new Operand(existing, 0, null, node.Span);
        try
        {
            var before = Tape.Count;
            var id = Tape.Record(op, xNode, yNode, T.CreateChecked(constant), index, node.Span);
            // A vector broadcast over a matrix's rows adds a node of its own before this one.
            for (var added = before; added <= id; added++) _elements += Tape[added].Length;
            if (_elements > _maxElements)
                throw new FormulaException(FormulaError.TooLarge,
                    $"Recording the formula over these inputs would hold more than {_maxElements:N0} numbers (each vector operation keeps a vector of its length)",
                    node.Span, node.Text);
            if (Tape[id].Length > 1) _recorded[(op, xNode, yNode, constant, index)] = id;
            return new Operand(id, 0, null, node.Span);
        }
        catch (ShapeException e)
        {
            var at = e is MatrixShapeException && node.Kind == SyntaxKind.Binary ? node.TokenSpan : node.Span;
            throw new FormulaException(FormulaError.ShapeMismatch, e.Message.TrimEnd('.'), at, node.Text);
        }
    }

    int Materialize(Operand operand)
    {
        if (operand.Node >= 0) return operand.Node;
        var text = TextOf(operand);
        if (!_literals.TryGetValue((operand.Literal, text), out var id))
            _literals[(operand.Literal, text)] = id = Tape.AddLiteral(T.CreateChecked(operand.Literal), text, operand.Span);
        return id;
    }
}
