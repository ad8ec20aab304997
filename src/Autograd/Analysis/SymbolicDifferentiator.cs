using System.Numerics;
using System.Text;
using Autograd.Expressions;

namespace Autograd.Analysis;

/// <summary>One parameter's derivative as text: one formula for a scalar, one per element for a vector; or why there is none.</summary>
/// <param name="Texts">Null when no verified-or-not text could be written (see <paramref name="Note"/>).</param>
/// <param name="Verified">True when every text, evaluated by the service at the point, agrees with the tape's gradient.</param>
public sealed record SymbolicResult(string Parameter, bool IsScalar, string[]? Texts, bool Verified, double? MaxRelativeError, string? Note);

/// <summary>
/// Derives each parameter's derivative as a formula of the language: the tape is replayed symbolically (primal
/// symbols forward, then the adjoints backward through each op's rule in <see cref="OpRegistry.SymbolicRuleOf"/>),
/// simplified as it is built (<see cref="SymbolicGraph"/>), split into elements for a vector parameter, printed with
/// let statements for shared subexpressions, and verified by parsing, recording and evaluating the text at the
/// point. Every walk is a loop over node ids or an explicit stack.
/// </summary>
public static class SymbolicDifferentiator
{
    /// <summary>A vector parameter gets one formula per element, up to this many elements.</summary>
    public const int MaxElements = 64;

    public static SymbolicResult[] Derive<T>(CompiledFormula<T> formula, FormulaLimits limits) where T : IFloatingPointIeee754<T>
    {
        formula.EvaluateWithGradient();
        var tape = formula.Tape;
        var output = formula.Output;
        var graph = new SymbolicGraph();
        var slots = formula.Inputs.Select((_, slot) => (Node: formula.InputNode(slot), Slot: slot)).ToDictionary(p => p.Node, p => p.Slot);
        var symbol = new int[output + 1];
        for (var id = 0; id <= output; id++)
        {
            var node = tape[id];
            if (node.Op != Op.Input)
                symbol[id] = graph.Apply(node.Op, symbol[node.X], node.Y >= 0 ? symbol[node.Y] : -1, double.CreateChecked(node.Constant), node.Index);
            else if (slots.TryGetValue(id, out var slot))
                symbol[id] = graph.Name(formula.Inputs[slot].Name, node.Length);
            else if (node.IsLiteral)
                symbol[id] = graph.Const(double.CreateChecked(node.Value[0]));
            else
                // The only other leaves the recorder makes are seq_along(v): the constant 1..n, written as the call was.
                symbol[id] = graph.Sequence(-1, node.Length, node.Name);
        }

        var adjoint = Enumerable.Repeat(-1, output + 1).ToArray();
        adjoint[output] = graph.Const(1);
        string? missing = null;
        for (var id = output; id >= 0 && missing is null; id--)
        {
            var node = tape[id];
            if (node.Op == Op.Input || !node.RequiresGrad || adjoint[id] < 0) continue;
            if (OpRegistry.SymbolicRuleOf(node.Op) is not { } rule)
            {
                missing = $"the op {OpNames.Of(node.Op)} has no symbolic derivative rule";
                break;
            }
            var x = tape[node.X];
            var y = node.Y >= 0 ? tape[node.Y] : null;
            var step = new SymbolicStep(graph, symbol[node.X], node.Y >= 0 ? symbol[node.Y] : -1, symbol[id], double.CreateChecked(node.Constant),
                node.Index, x.Length, y?.Length ?? 0, x.Value.Select(double.CreateChecked).ToArray());
            var (dx, dy) = rule(step, adjoint[id]);
            var elementwise = OpRegistry.Of(node.Op).IsElementwise;
            Accumulate(node.X, dx);
            if (node.Y >= 0) Accumulate(node.Y, dy);

            void Accumulate(int input, int contribution)
            {
                if (contribution < 0 || !tape[input].RequiresGrad) return;
                // A scalar broadcast over a vector result receives the sum of the elements' contributions.
                if (elementwise && tape[input].Length == 1 && node.Length > 1) contribution = graph.SumOver(contribution, node.Length);
                adjoint[input] = adjoint[input] < 0 ? contribution : graph.Plus(adjoint[input], contribution);
            }
        }

        var names = new HashSet<string>(formula.Inputs.Select(i => i.Name), StringComparer.Ordinal);
        var results = new List<SymbolicResult>();
        for (var slot = 0; slot < formula.Inputs.Count; slot++)
        {
            var spec = formula.Inputs[slot];
            if (spec.Kind != InputKind.Parameter) continue;
            if (missing is not null)
            {
                results.Add(new SymbolicResult(spec.Name, spec.IsScalar, null, false, null, missing));
                continue;
            }
            if (!spec.IsScalar && spec.Length > MaxElements)
            {
                results.Add(new SymbolicResult(spec.Name, false, null, false, null,
                    $"'{spec.Name}' has {spec.Length:N0} elements; the derivative is written element by element up to {MaxElements}"));
                continue;
            }
            var root = adjoint[formula.InputNode(slot)];
            root = root < 0 ? graph.Const(0) : Lower(graph, root);
            var elements = spec.IsScalar ? [root] : Enumerable.Range(0, spec.Length).Select(k => Element(graph, root, k)).ToArray();
            var texts = new string[elements.Length];
            string? note = null;
            for (var k = 0; k < elements.Length && note is null; k++)
            {
                (var written, note) = SymbolicPrinter.Print(graph, elements[k], names, limits.MaxLength);
                texts[k] = written ?? "";
            }
            if (note is not null)
            {
                results.Add(new SymbolicResult(spec.Name, spec.IsScalar, null, false, null, note));
                continue;
            }
            var gradient = formula.GradientOf(slot).ToArray().Select(double.CreateChecked).ToArray();
            results.Add(Verify(formula, spec, texts, gradient, limits));
        }
        formula.EvaluateWithGradient();
        return [.. results];
    }

    static SymbolicResult Verify<T>(CompiledFormula<T> formula, InputSpec spec, string[] texts, double[] gradient, FormulaLimits limits)
        where T : IFloatingPointIeee754<T>
    {
        var tolerance = typeof(T) == typeof(float) ? 1e-4 : 1e-9;
        var worst = 0.0;
        for (var k = 0; k < texts.Length; k++)
        {
            double value;
            try
            {
                var check = CompiledFormula<double>.Compile(Formula.Parse(texts[k], limits), formula.Inputs);
                for (var slot = 0; slot < formula.Inputs.Count; slot++)
                    check.SetInput(slot, formula.InputValues(slot).ToArray().Select(double.CreateChecked).ToArray());
                value = check.Evaluate();
            }
            catch (FormulaException e)
            {
                return new SymbolicResult(spec.Name, spec.IsScalar, texts, false, null, $"the derivative text does not record: {e.Message}");
            }
            var difference = Math.Abs(value - gradient[k]);
            var scale = Math.Max(Math.Abs(value), Math.Abs(gradient[k]));
            var relative = difference == 0 ? 0 : scale == 0 || double.IsNaN(difference) ? double.PositiveInfinity : difference / scale;
            worst = Math.Max(worst, relative);
            if (!(difference <= tolerance * scale + tolerance * 1e-5))
            {
                var element = spec.IsScalar ? spec.Name : $"{spec.Name}[{k + 1}]";
                return new SymbolicResult(spec.Name, spec.IsScalar, null, false, double.IsFinite(worst) ? worst : null,
                    $"the text for {element} evaluates to {value} at this point, the tape's gradient is {gradient[k]}: not returned (the text is undefined at a kink, where its step (1 + u/|u|)/2 divides 0 by 0, and prod's r/x at a zero element)");
            }
        }
        return new SymbolicResult(spec.Name, spec.IsScalar, texts, true, worst, null);
    }

    /// <summary>
    /// Rewrites sums over vectors that hold a scattered slice or diff adjoint (which the language cannot write) as sums
    /// of their elements, where the vector has at most <see cref="MaxElements"/>; a loop over ids in order.
    /// </summary>
    internal static int Lower(SymbolicGraph graph, int root)
    {
        var mapped = new int[root + 1];
        var scattered = new bool[root + 1];
        for (var id = 0; id <= root; id++)
        {
            var symbol = graph[id];
            int a = symbol.A >= 0 ? mapped[symbol.A] : -1, b = symbol.B >= 0 ? mapped[symbol.B] : -1;
            scattered[id] = symbol.Kind == SymbolKind.Scatter || (symbol.A >= 0 && scattered[symbol.A]) || (symbol.B >= 0 && scattered[symbol.B]);
            if (symbol.Kind == SymbolKind.Apply && symbol.Op is Op.Sum or Op.Mean && scattered[id] && graph.Length(a) <= MaxElements)
            {
                var sum = Element(graph, a, 0);
                for (var k = 1; k < graph.Length(a); k++) sum = graph.Plus(sum, Element(graph, a, k));
                mapped[id] = symbol.Op == Op.Sum ? sum : graph.Over(sum, graph.Const(graph.Length(a)));
                scattered[id] = false;
            }
            else if (symbol.Kind == SymbolKind.Apply)
                mapped[id] = graph.Apply(symbol.Op, a, b, symbol.Constant, symbol.Index);
            else if (symbol.Kind == SymbolKind.Scatter)
                mapped[id] = graph.Scatter(a, symbol.Index, (int)symbol.Constant, symbol.Length);
            else if (symbol.Kind == SymbolKind.Sequence)
                mapped[id] = graph.Sequence(a, symbol.Length, symbol.Text);
            else
                mapped[id] = id;
        }
        return mapped[root];
    }

    /// <summary>Element <paramref name="k"/> (0-based) of a vector symbol, pushed through elementwise ops down to indexed names; an explicit stack.</summary>
    internal static int Element(SymbolicGraph graph, int root, int k)
    {
        var memo = new Dictionary<(int, int), int>();
        var stack = new Stack<(int Id, int K)>();
        stack.Push((root, k));
        var needed = new List<(int, int)>();
        while (stack.Count > 0)
        {
            var (id, at) = stack.Peek();
            if (memo.ContainsKey((id, at))) { stack.Pop(); continue; }
            var symbol = graph[id];
            if (symbol.Length == 1) { memo[(id, at)] = id; stack.Pop(); continue; }
            needed.Clear();
            Needs(graph, symbol, at, needed);
            var ready = true;
            foreach (var need in needed)
                if (!memo.ContainsKey(need)) { stack.Push(need); ready = false; }
            if (!ready) continue;
            stack.Pop();
            memo[(id, at)] = Combine(graph, id, symbol, at, memo);
        }
        return memo[(root, k)];
    }

    static void Needs(SymbolicGraph graph, Symbol symbol, int k, List<(int, int)> needed)
    {
        switch (symbol.Kind)
        {
            case SymbolKind.Scatter:
                if (k >= symbol.Index && k < symbol.Index + (int)symbol.Constant) needed.Add((symbol.A, k - symbol.Index));
                return;
            case SymbolKind.Apply:
                switch (OpRegistry.Of(symbol.Op).Shape)
                {
                    case OpShape.Elementwise or OpShape.Broadcast:
                        needed.Add((symbol.A, k));
                        if (symbol.B >= 0) needed.Add((symbol.B, k));
                        return;
                    case OpShape.Scan:
                        for (var j = 0; j <= k; j++) needed.Add((symbol.A, j));
                        return;
                    case OpShape.Difference:
                        needed.Add((symbol.A, k + 1));
                        needed.Add((symbol.A, k));
                        return;
                    case OpShape.Run:
                        needed.Add((symbol.A, symbol.Index + k));
                        return;
                }
                return;
        }
    }

    static int Combine(SymbolicGraph graph, int id, Symbol symbol, int k, Dictionary<(int, int), int> memo)
    {
        switch (symbol.Kind)
        {
            case SymbolKind.Name:
                return graph.Apply(Op.Index, id, index: k);
            case SymbolKind.Sequence:
                return graph.Const(k + 1);
            case SymbolKind.Scatter:
                return k >= symbol.Index && k < symbol.Index + (int)symbol.Constant ? memo[(symbol.A, k - symbol.Index)] : graph.Const(0);
        }
        switch (OpRegistry.Of(symbol.Op).Shape)
        {
            case OpShape.Elementwise or OpShape.Broadcast:
                return graph.Apply(symbol.Op, memo[(symbol.A, k)], symbol.B >= 0 ? memo[(symbol.B, k)] : -1, symbol.Constant, symbol.Index);
            case OpShape.Scan:
                var sum = memo[(symbol.A, 0)];
                for (var j = 1; j <= k; j++) sum = graph.Plus(sum, memo[(symbol.A, j)]);
                return sum;
            case OpShape.Difference:
                return graph.Minus(memo[(symbol.A, k + 1)], memo[(symbol.A, k)]);
            case OpShape.Run:
                return memo[(symbol.A, symbol.Index + k)];
            default:
                throw new InvalidOperationException($"{symbol.Op} of {symbol.Length} elements has no element rule.");
        }
    }
}

/// <summary>Prints a symbol as a formula: shared subexpressions become let statements; a loop over ids, no recursion.</summary>
internal static class SymbolicPrinter
{
    /// <returns>The text, or null and the reason it cannot be written in the language.</returns>
    public static (string? Text, string? Note) Print(SymbolicGraph graph, int root, IReadOnlySet<string> taken, int maxLength)
    {
        var reachable = new bool[root + 1];
        var uses = new int[root + 1];
        reachable[root] = true;
        for (var id = root; id >= 0; id--)
        {
            if (!reachable[id]) continue;
            var symbol = graph[id];
            foreach (var child in new[] { symbol.A, symbol.B })
                if (child >= 0)
                {
                    reachable[child] = true;
                    uses[child]++;
                }
        }
        var text = new string[root + 1];
        var precedence = new int[root + 1];
        var statements = new StringBuilder();
        var bindings = 0;
        for (var id = 0; id <= root; id++)
        {
            if (!reachable[id]) continue;
            var symbol = graph[id];
            string written;
            int strength;
            switch (symbol.Kind)
            {
                case SymbolKind.Constant:
                    if (!double.IsFinite(symbol.Constant)) return (null, $"the derivative holds the number {symbol.Constant}, which the language cannot write");
                    (written, strength) = (SymbolicGraph.Number(symbol.Constant), symbol.Constant < 0 ? 3 : 5);
                    break;
                case SymbolKind.Name:
                    (written, strength) = (symbol.Text!, 5);
                    break;
                case SymbolKind.Sequence:
                    (written, strength) = (symbol.A >= 0 ? $"seq_along({text[symbol.A]})" : symbol.Text ?? "", 5);
                    if (written.Length == 0) return (null, "the derivative needs seq_along of an unnamed vector");
                    break;
                case SymbolKind.Scatter:
                    return (null, "the derivative places a slice's or a diff's adjoint back into its vector, which the language cannot write except element by element");
                default:
                    (written, strength) = Apply(symbol, text, precedence);
                    break;
            }
            // A computed node used more than once is written once, as a let statement.
            if (symbol.Kind == SymbolKind.Apply && uses[id] > 1 && id != root && !(symbol.Op == Op.Index && graph[symbol.A].Kind == SymbolKind.Name))
            {
                string name;
                do name = $"t{++bindings}"; while (taken.Contains(name));
                statements.Append(name).Append(" = ").Append(written).Append("; ");
                (written, strength) = (name, 5);
            }
            text[id] = written;
            precedence[id] = strength;
            if (statements.Length + written.Length > maxLength)
                return (null, $"the derivative's text would be longer than {maxLength:N0} characters");
        }
        return (statements.Append(text[root]).ToString(), null);
    }

    static (string, int) Apply(Symbol symbol, string[] text, int[] precedence)
    {
        string Operand(int id, int atLeast) => precedence[id] >= atLeast ? text[id] : $"({text[id]})";
        return symbol.Op switch
        {
            Op.Add => ($"{Operand(symbol.A, 1)} + {Operand(symbol.B, 2)}", 1),
            Op.Sub => ($"{Operand(symbol.A, 1)} - {Operand(symbol.B, 2)}", 1),
            Op.Mul => ($"{Operand(symbol.A, 2)} * {Operand(symbol.B, 3)}", 2),
            Op.Div => ($"{Operand(symbol.A, 2)} / {Operand(symbol.B, 3)}", 2),
            Op.Neg => ($"-{Operand(symbol.A, 4)}", 3),
            Op.Pow => ($"{Operand(symbol.A, 5)}^{Operand(symbol.B, 5)}", 4),
            Op.PowConstant => ($"{Operand(symbol.A, 5)}^{(symbol.Constant < 0 ? $"({SymbolicGraph.Number(symbol.Constant)})" : SymbolicGraph.Number(symbol.Constant))}", 4),
            Op.Index => ($"{Operand(symbol.A, 5)}[{symbol.Index + 1}]", 5),
            Op.Slice => ($"{Operand(symbol.A, 5)}[{symbol.Index + 1}:{symbol.Index + (int)symbol.Constant}]", 5),
            // Value-wise the halves of clamp are max(x, lo) and min(x, hi).
            Op.ClampLow => ($"max({text[symbol.A]}, {text[symbol.B]})", 5),
            Op.ClampHigh => ($"min({text[symbol.A]}, {text[symbol.B]})", 5),
            _ => ($"{OpRegistry.Of(symbol.Op).Names[0]}({text[symbol.A]}{(symbol.B >= 0 ? $", {text[symbol.B]}" : "")})", 5),
        };
    }
}
