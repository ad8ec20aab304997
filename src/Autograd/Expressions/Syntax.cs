namespace Autograd.Expressions;

public enum SyntaxKind
{
    Number, Name, Negate, Binary, Call, Index,
    /// <summary>A let statement: binds <see cref="SyntaxNode.Text"/> to the operand before it, which leaves the stack.</summary>
    Let,
    /// <summary>A slice <c>v[a:b]</c>, 1-based and inclusive; its bounds are in <see cref="SyntaxNode.Slice"/>.</summary>
    Slice,
}

/// <summary>One bound of a slice: a 1-based position, or an offset from <c>end</c> (the length) when FromEnd.</summary>
public readonly record struct SliceBound(int Value, bool FromEnd)
{
    public int Resolve(int length) => FromEnd ? length + Value : Value;
    public override string ToString() => !FromEnd ? Value.ToString() : Value == 0 ? "end" : Value > 0 ? $"end+{Value}" : $"end-{-Value}";
}

/// <summary>
/// One node of a parsed formula. A formula is stored flat, in postfix order: every node follows its
/// operands, so each consumer walks it with a loop and a stack, never by recursion.
/// </summary>
/// <param name="Text">The number's text, the name, the operator (+ - * / ^) or the function name.</param>
/// <param name="Operands">How many nodes before this one it consumes from the stack.</param>
/// <param name="Index">For <see cref="SyntaxKind.Index"/>, the 1-based index as written.</param>
/// <param name="Span">The whole subexpression.</param>
/// <param name="TokenSpan">The operator, name or number token itself.</param>
/// <param name="ColumnIndex">For a matrix element <c>W[i, j]</c>, the 1-based j; 0 for a single index.</param>
public readonly record struct SyntaxNode(SyntaxKind Kind, string Text, double Number, int Operands, int Index,
    SourceSpan Span, SourceSpan TokenSpan, (SliceBound From, SliceBound To) Slice = default, int ColumnIndex = 0);
