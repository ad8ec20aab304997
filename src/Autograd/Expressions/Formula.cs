using System.Text;

namespace Autograd.Expressions;

/// <summary>A parsed formula: its text and its syntax in postfix order. Immutable, so it can be cached and shared.</summary>
public sealed class Formula
{
    Formula(string text, List<SyntaxNode> nodes)
    {
        Text = text;
        Nodes = nodes;
    }

    public string Text { get; }
    public IReadOnlyList<SyntaxNode> Nodes { get; }

    /// <summary>The distinct names the formula refers to (not function names).</summary>
    public IReadOnlySet<string> Names => _names ??= Nodes.Where(n => n.Kind == SyntaxKind.Name).Select(n => n.Text).ToHashSet(StringComparer.Ordinal);
    IReadOnlySet<string>? _names;

    /// <exception cref="FormulaException">The text is not a formula, or exceeds <paramref name="limits"/>.</exception>
    public static Formula Parse(string text, FormulaLimits? limits = null) =>
        new(text, Parser.Parse(text, limits ?? FormulaLimits.Default));

    /// <summary>
    /// The formula with every operation in parentheses, e.g. <c>-x^2</c> as <c>(-(x ^ 2))</c>; let statements
    /// come first, each as <c>name = expression;</c>.
    /// </summary>
    public string ToParenthesized()
    {
        var stack = new Stack<string>();
        var statements = new StringBuilder();
        foreach (var node in Nodes)
        {
            switch (node.Kind)
            {
                case SyntaxKind.Number or SyntaxKind.Name:
                    stack.Push(node.Text);
                    break;
                case SyntaxKind.Negate:
                    stack.Push($"(-{stack.Pop()})");
                    break;
                case SyntaxKind.Binary:
                    var right = stack.Pop();
                    stack.Push($"({stack.Pop()} {node.Text} {right})");
                    break;
                case SyntaxKind.Index:
                    stack.Push(node.ColumnIndex > 0 ? $"{stack.Pop()}[{node.Index}, {node.ColumnIndex}]" : $"{stack.Pop()}[{node.Index}]");
                    break;
                case SyntaxKind.Call:
                    var arguments = new string[node.Operands];
                    for (var i = node.Operands - 1; i >= 0; i--) arguments[i] = stack.Pop();
                    stack.Push($"{node.Text}({string.Join(", ", arguments)})");
                    break;
                case SyntaxKind.Slice:
                    stack.Push($"{stack.Pop()}[{node.Slice.From}:{node.Slice.To}]");
                    break;
                case SyntaxKind.Let:
                    statements.Append(node.Text).Append(" = ").Append(stack.Pop()).Append("; ");
                    break;
            }
        }
        return statements.Append(stack.Pop()).ToString();
    }

    public override string ToString() => Text;
}
